#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""What the postie CLI reads, against the private Postfix (run through
with_mailserver.sh):

- a message from a stream (a pipe on stdin, /dev/stdin, a FIFO, <(cmd))
  arrives byte-identical, with the exact SIZE=;
- inputs that are not regular files (a device, a directory, a FIFO
  attachment) and bad option values (--ehlo with a space, an empty --host,
  a 256-octet user or password, a NUL in the message, a long --envid) are
  refused with exit 2 before any connection, quickly and with the reason;
- password files (directory, FIFO, /dev/zero, empty, unreadable, too long)
  fail clearly and never hang; a file group or others can read is warned
  about, from the CLI and from the registry;
- --session refuses the options the session owns and honours the others;
- test-connection of a "verify": false session says the certificate was
  not verified.

"Before any connection" is checked with a tripwire: a listener of this
script's own on 127.0.0.1 that counts connections; the refused commands
point at it.

Usage: cli_inputs.py PATH/TO/postie
"""
import glob
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from testlib import check, failures

postie = sys.argv[1]
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-inputs-")
maildir = os.path.join(env["POSTIE_TEST_MAILDIR_ROOT"], "bob", "new")


class Tripwire:
    """Counts connections to 127.0.0.1:port and closes each at once."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 600  # never outlives the test
        while not self.stopping and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.count += 1
            conn.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


tripwire = Tripwire()
smtp = ["--host", "localhost", "--connect-to", "127.0.0.1", "--port", env["POSTIE_TEST_SMTP_PORT"],
        "--ca-file", env["POSTIE_TEST_CA"], "--timeout", "20"]
login = ["--user", env["POSTIE_TEST_USER"], "--password-env", "POSTIE_TEST_PASSWORD"]
trip = ["--host", "localhost", "--connect-to", "127.0.0.1", "--port", str(tripwire.port),
        "--tls", "none", "--timeout", "5"]


def run(args, stdin=None, extra=None, timeout=20, shell=False):
    """Run postie (or, with shell, a bash line where "$P" is postie); returns
    (exit code, stdout, stderr, seconds). A timeout counts as a hang: -9."""
    e = dict(env)
    e["P"] = postie
    if extra:
        e.update(extra)
    argv = ["bash", "-c", args] if shell else [postie] + list(args)
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, env=e)
    except subprocess.TimeoutExpired as x:
        return -9, "", "timed out (hang): " + str(x), time.monotonic() - t0
    return (r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"),
            time.monotonic() - t0)


def refused(what, args, needle, **kw):
    """args must exit 2 within 5 s, say needle on stderr, and not connect."""
    before = tripwire.count
    rc, out, err, secs = run(args, **kw)
    check(rc == 2 and needle in err and secs < 5, what + " (exit 2: %s)" % needle,
          "rc=%d %.1fs %s" % (rc, secs, err))
    check(tripwire.count == before, what + ": nothing connected")
    return err


def delivered(token, wait=15.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for path in glob.glob(os.path.join(maildir, "*")):
            with open(path, "rb") as f:
                raw = f.read()
            if token.encode() in raw:
                return raw
        time.sleep(0.1)
    return None


# ---- a message from a stream arrives whole -----------------------------------------
def message(token):
    body = "".join("line %05d: ünïcödé text to cross every buffer size, %s\n" % (i, token)
                   for i in range(3000))
    # Date and Message-ID present, so Postfix adds nothing but its trace
    # fields at the top: the message is then the tail of the delivered file
    return ("From: alice@example.test\nTo: bob@example.test\nSubject: %s\n"
            "Date: Mon, 30 Nov 2026 10:00:00 +0000\nMessage-ID: <%s@example.test>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n%s.a dot line\n" % (token, token, body)).encode()


serial = [0]


def stream_case(what, line, feed=False, writer=None, junk=b""):
    """line: a bash command where SEND is postie send with the server and
    envelope options and MSG the message file (with junk before it)."""
    serial[0] += 1
    token = "stream-%d-%d" % (os.getpid(), serial[0])
    msg = message(token)
    path = os.path.join(work, "msg-%d.eml" % serial[0])
    with open(path, "wb") as f:
        f.write(junk + msg)
    send = ('"$P" send ' + " ".join("'%s'" % a for a in smtp + login) +
            " --from alice@example.test --to bob@example.test --verbose")
    w = writer(path) if writer else None
    rc, out, err, _ = run(line.replace("SEND", send).replace("MSG", path),
                          stdin=msg if feed else None, shell=True, timeout=60)
    if w is not None:
        w.wait(10)
    check(rc == 0, what + ": exit 0", err[-1500:])
    check(("SIZE=%d" % len(msg)) in err, what + ": SIZE= is the exact size", err[:1500])
    raw = delivered(token)
    check(raw is not None and raw.endswith(msg), what + ": arrived byte-identical",
          "nothing" if raw is None else raw[-200:])


stream_case("cat msg | postie send --message -", "cat MSG | SEND --message -")
stream_case("cat msg | postie send --message /dev/stdin", "cat MSG | SEND --message /dev/stdin")
stream_case("a pipe on stdin, no --message", "SEND", feed=True)
stream_case("--message <(cat msg)", "SEND --message <(cat MSG)")
stream_case("a regular file on stdin read from its middle",
            "{ read -r skip; SEND --message -; } < MSG", junk=b"NOT PART OF THE MESSAGE\n")
before = tripwire.count
rc, out, err, _ = run('cat /dev/null | "$P" send ' + " ".join(trip) +
                      " --from alice@example.test --to bob@example.test --message -", shell=True)
check(rc == 2 and "the message is empty" in err and tripwire.count == before,
      "an empty stream is refused, never sent", err)

fifo = os.path.join(work, "msg.fifo")
os.mkfifo(fifo)


def late_writer(path):
    # the writer comes after postie opened the FIFO: postie must wait for it
    return subprocess.Popen(["bash", "-c", 'sleep 0.5; cat "$1" > "$2"', "w", path, fifo])


stream_case("--message FIFO (its writer comes later)", "SEND --message " + fifo,
            writer=late_writer)

# ---- inputs that are not regular files: exit 2 before connecting, quickly -----------
adir = os.path.join(work, "a-directory")
os.mkdir(adir)
afifo = os.path.join(work, "attach.fifo")
os.mkfifo(afifo)
with open(os.path.join(work, "body.txt"), "w") as f:
    f.write("body\n")
base = ["send"] + trip + ["--from", "alice@example.test", "--to", "bob@example.test"]
refused("--message /dev/zero", base + ["--message", "/dev/zero"], "character device")
refused("--message /dev/null", base + ["--message", "/dev/null"], "character device")
refused("--message a directory", base + ["--message", adir], "Is a directory")
refused("stdin from /dev/zero", '"$P" ' + " ".join(base) + " --message - < /dev/zero",
        "character device", shell=True)
refused("--attach a FIFO", base + ["--subject", "s", "--attach", afifo], "FIFO")
refused("--attach /dev/zero", base + ["--subject", "s", "--attach", "/dev/zero"], "character device")
refused("--attach a directory", base + ["--subject", "s", "--attach", adir], "Is a directory")
refused("--body-file a directory", base + ["--subject", "s", "--body-file", adir], "Is a directory")
refused("--html-file /dev/zero", base + ["--subject", "s", "--html-file", "/dev/zero"],
        "character device")
refused("compose --attach a FIFO", ["compose", "--from", "a@example.test", "--attach", afifo],
        "FIFO")
nul = os.path.join(work, "nul.eml")
with open(nul, "wb") as f:
    f.write(b"From: alice@example.test\nSubject: nul\n\nbefore\0after\n")
refused("a NUL in --message", base + ["--message", nul], "NUL octet at offset 45")
refused("a NUL in --message from a pipe", base + ["--message", "-"], "NUL octet at offset 45",
        stdin=open(nul, "rb").read())

# ---- option values: exit 2 naming the option, before connecting ---------------------
good = os.path.join(work, "good.eml")
with open(good, "wb") as f:
    f.write(message("good-%d" % os.getpid()))
base_msg = base + ["--message", good]
refused("--ehlo with a space", base_msg + ["--ehlo", "my host"], "--ehlo 'my host'")
refused("--ehlo empty", base_msg + ["--ehlo", ""], "--ehlo")
refused("--ehlo with ESC", base_msg + ["--ehlo", "a\x1b[31mb"], "--ehlo 'a?[31mb'")
refused("--host empty", ["send", "--host", "", "--port", str(tripwire.port), "--tls", "none",
                         "--from", "alice@example.test", "--to", "bob@example.test",
                         "--message", good], "--host '': must not be empty")
refused("--host with a space", ["send", "--host", "my host", "--connect-to", "127.0.0.1",
                                "--port", str(tripwire.port), "--from", "alice@example.test",
                                "--to", "bob@example.test", "--message", good], "--host 'my host'")
refused("--connect-to empty", base_msg + ["--connect-to", ""], "--connect-to")
refused("--user of 256 octets", base_msg + ["--user", "u" * 256, "--password-env", "PW"],
        "--user: longer than 255 octets", extra={"PW": "secret"})
refused("--user empty", base_msg + ["--user", "", "--password-env", "PW"], "--user",
        extra={"PW": "secret"})
refused("password of 256 octets in the environment",
        base_msg + ["--user", "u", "--password-env", "PW"], "--password-env 'PW': is longer than 255",
        extra={"PW": "p" * 256})
refused("empty password in the environment", base_msg + ["--user", "u", "--password-env", "PW"],
        "--password-env 'PW': is empty", extra={"PW": ""})
refused("--envid of 101 characters", base_msg + ["--envid", "e" * 101], "--envid")
refused("--envid of 34 '+' (102 once xtext-encoded)", base_msg + ["--envid", "+" * 34], "--envid")
refused("--envid with a control character", base_msg + ["--envid", "a\tb"], "--envid")

# ---- password files -----------------------------------------------------------------
def pwfile(name, data, mode=0o600):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


pw_fifo = os.path.join(work, "pw.fifo")
os.mkfifo(pw_fifo, 0o600)
auth = base_msg + ["--user", env["POSTIE_TEST_USER"], "--password-file"]
refused("password file: a directory", auth + [adir], "Is a directory")
refused("password file: a FIFO", auth + [pw_fifo], "FIFO")
refused("password file: /dev/zero", auth + ["/dev/zero"], "character device")
refused("password file: missing", auth + [os.path.join(work, "nosuch")], "No such file")
refused("password file: empty", auth + [pwfile("pw-empty", b"")], "is empty")
refused("password file: an empty first line", auth + [pwfile("pw-nl", b"\nsecret\n")], "is empty")
refused("password file: 256 octets", auth + [pwfile("pw-256", b"p" * 256 + b"\n")],
        "is longer than 255 octets")
refused("password file: 256 octets, no line end", auth + [pwfile("pw-256n", b"p" * 256)],
        "is longer than 255 octets")
refused("password file: a NUL", auth + [pwfile("pw-nul", b"pass\0word\n")], "NUL")
link = os.path.join(work, "pw-link-to-fifo")
os.symlink(pw_fifo, link)
refused("password file: a symbolic link to a FIFO", auth + [link], "FIFO")
if os.geteuid() == 0 and os.path.exists("/usr/bin/setpriv"):
    # root reads anything: drop to nobody to see a file it may not read
    os.chmod(work, 0o755)
    secret = pwfile("pw-root-only", b"secret\n", 0o600)
    before = tripwire.count
    r = subprocess.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        postie] + auth + [secret], capture_output=True, timeout=20)
    err = r.stderr.decode(errors="replace")
    check(r.returncode == 2 and "Permission denied" in err and tripwire.count == before,
          "password file: unreadable (Permission denied, exit 2)", err)
else:
    print("ok - password file: unreadable: skipped (needs root to switch to nobody)")

# A 255-octet password passes the checks (it reaches the server, which refuses it).
before = tripwire.count
rc, out, err, _ = run(auth + [pwfile("pw-255", b"p" * 255)])
check(rc != 2 and tripwire.count == before + 1, "password file: 255 octets is accepted",
      "rc=%d %s" % (rc, err))

# group/other-readable: the registry's warning, and it still works
token = "pwmode-%d" % os.getpid()
good_pw = env["POSTIE_TEST_PASSWORD"].encode() + b"\n"
with open(os.path.join(work, "mode.eml"), "wb") as f:
    f.write(message(token))
sendpw = ["send"] + smtp + ["--from", "alice@example.test", "--to", "bob@example.test",
                            "--message", os.path.join(work, "mode.eml"),
                            "--user", env["POSTIE_TEST_USER"], "--password-file"]
rc, out, err, _ = run(sendpw + [pwfile("pw-0640", good_pw, 0o640)], timeout=60)
check(rc == 0 and "warning: --password-file" in err and "group or others can read" in err,
      "a group-readable password file: a warning, then sent", err)
check(delivered(token) is not None, "the message with the group-readable password file arrived")
rc, out, err, _ = run(sendpw + [pwfile("pw-0600", good_pw, 0o600)], timeout=60)
check(rc == 0 and "warning" not in err, "a 0600 password file: no warning", err)
link = os.path.join(work, "pw-link")
os.symlink(os.path.join(work, "pw-0600"), link)
rc, out, err, _ = run(sendpw + [link], timeout=60)
check(rc == 0, "a symbolic link to a regular password file is accepted", err)

# the registry: {"file": ...} secrets under the same rules
registry = {"sessions": {
    "mail/Base": {
        "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
        "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
        "password": {"file": os.path.join(work, "pw-0644")}, "from": "alice@example.test",
        "timeout": 20, "ehlo": "registry.example.test"},
    "mail/Derived": {"jndi": "mail/Base", "from": "alice@example.test"},
    "mail/Fifo": {
        "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
        "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
        "password": {"file": pw_fifo}, "from": "alice@example.test", "timeout": 20},
    "mail/Dir": {
        "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
        "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
        "password": {"file": adir}, "from": "alice@example.test", "timeout": 20},
    "mail/EmptyEnv": {
        "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
        "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
        "password": {"env": "POSTIE_EMPTY_PW"}, "from": "alice@example.test", "timeout": 20},
    "mail/Insecure": {
        "protocol": "smtps", "host": "localhost",
        "port": int(env["POSTIE_TEST_SELFSIGNED_PORT"]), "verify": False,
        "from": "alice@example.test", "timeout": 20},
}}
pwfile("pw-0644", good_pw, 0o644)
reg = os.path.join(work, "registry.json")
with open(reg, "w") as f:
    json.dump(registry, f)
os.chmod(reg, 0o600)
R = ["--registry", reg]
rc, out, err, _ = run(R + ["sessions"])
check(rc == 0 and 'sessions["mail/Base"].password: password file group or others can read' in err,
      "registry load: a readable password file gets a warning", err)
check(err.count("group or others can read") == 1,
      "registry load: the warning is given once (not again for the jndi entry)", err)
rc, out, err, _ = run(R + ["session", "show", "mail/Fifo"])
check(rc == 0 and "NOT USABLE: is a FIFO" in out, "session show: a FIFO password file", out + err)
rc, out, err, _ = run(R + ["session", "show", "mail/Base"])
check(rc == 0 and "GROUP OR OTHERS CAN READ IT" in out, "session show: a readable password file",
      out)
tok = "--subject", "s", "--body-file", os.path.join(work, "body.txt"), "--to", "bob@example.test"
for name, needle in [("mail/Fifo", "is a FIFO"), ("mail/Dir", "Is a directory"),
                     ("mail/EmptyEnv", "is empty")]:
    rc, out, err, secs = run(R + ["send", "--session", name] + list(tok),
                             extra={"POSTIE_EMPTY_PW": ""})
    check(rc == 2 and needle in err and secs < 5, "send --session %s: exit 2, %s" % (name, needle),
          "rc=%d %s" % (rc, err))
    rc, out, err, secs = run(R + ["test-connection", name], extra={"POSTIE_EMPTY_PW": ""})
    check(rc == 3 and needle in out and "login  FAILED" in out and secs < 5,
          "test-connection %s: login FAILED, %s" % (name, needle), "rc=%d %s" % (rc, out + err))

# ---- --session: owned options refused, tuning options honoured ----------------------
for opt in [["--tls", "none"], ["--ca-file", env["POSTIE_TEST_CA"]], ["--allow-plaintext-auth"],
            ["--host", "localhost"], ["--port", "25"], ["--user", "x"]]:
    rc, out, err, _ = run(R + ["send", "--session", "mail/Base"] + opt + list(tok))
    check(rc == 2 and ("--session defines" in err and "drop " + opt[0]) in err,
          "--session refuses %s" % opt[0], err)
token = "ehlo-%d" % os.getpid()
rc, out, err, _ = run(R + ["send", "--session", "mail/Derived", "--ehlo", "cli.example.test",
                           "--verbose", "--connect-to", "127.0.0.1", "--timeout", "30",
                           "--subject", token, "--body-file", os.path.join(work, "body.txt"),
                           "--to", "bob@example.test"], timeout=60)
check(rc == 0 and "C: EHLO cli.example.test" in err, "--session honours --ehlo over the session's",
      err[:1500])
check(delivered(token) is not None, "the --session message with --ehlo arrived")
rc, out, err, _ = run(R + ["test-email", "mail/Base", "--to", "bob@example.test", "--tls", "none"])
check(rc == 2 and "test-email takes only --to" in err, "test-email refuses other options", err)

# ---- test-connection: "verify": false is said plainly --------------------------------
rc, out, err, _ = run(R + ["test-connection", "mail/Insecure"])
check(rc == 0 and "TLS    ok" in out and "NOT verified" in out
      and "result: the session works, but the server's certificate was NOT verified" in out,
      "test-connection of a verify:false session says the certificate was NOT verified", out + err)
rc, out, err, _ = run(R + ["test-connection", "mail/Base"])
check(rc == 0 and "NOT verified" not in out, "test-connection of a verifying session: no warning",
      out + err)

# --envid of exactly 100 characters goes out
token = "envid-%d" % os.getpid()
with open(os.path.join(work, "envid.eml"), "wb") as f:
    f.write(message(token))
rc, out, err, _ = run(["send"] + smtp + login + ["--from", "alice@example.test", "--to",
                                                 "bob@example.test", "--envid", "E" * 100,
                                                 "--message", os.path.join(work, "envid.eml")],
                      timeout=60)
check(rc == 0 and delivered(token) is not None, "--envid of 100 characters is sent", err)

tripwire.stop()
if failures:
    sys.exit("%d check(s) failed" % len(failures))
print("all checks passed")
