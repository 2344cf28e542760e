#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`postie sendmail` the way the daemons of a NAS run sendmail, against the
private Postfix (run through with_mailserver.sh):

  - Vixie cron / cronie: sendmail -FCronDaemon -odi -oem -oi -t, headers
    From: root (Cron Daemon), To: root, X-Cron-Env: ...
  - Debian's cron: sendmail -FCronDaemon -i -B8BITMIME -oem root
  - mdadm --monitor: sendmail -t, "From: mdadm monitoring <root>", LF ends
  - smartd through mail(1) (bsd-mailx): sendmail -i -- root
  - the binary run as `sendmail` (a symbolic link), -f, Bcc removed, the
    dot line without -i, sysexits for bad use, the default session rule,
    a relay outage (queued, exit 0, delivered by a later queue flush),
    queue list --json, and the syslog lines (through $POSTIE_LOG_FILE),
    which never hold the password.

Usage: sendmail_cli.py PATH/TO/postie
"""
import email
import email.policy
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from testlib import check, failures

postie = sys.argv[1]
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-sendmail-")
spool = os.path.join(work, "spool")
os.mkdir(spool, 0o700)
log_file = os.path.join(work, "mail.log")
aliases = os.path.join(work, "aliases")
with open(aliases, "w") as f:
    f.write("# local names of the appliance\nroot: bob@example.test\npostmaster: root@example.test\n")

base = {
    "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
    "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
    "password": {"env": "POSTIE_TEST_PASSWORD"}, "from": "alice@example.test", "timeout": 20,
}
registry = {"sessions": {
    "mail/Default": dict(base, from_name="${fullname} on nas01", subject_prefix="[nas01]"),
    "mail/Other": dict(base),
    "mail/Outage": {"host": "127.0.0.1", "port": 1, "tls": "none", "from": "alice@example.test",
                    "connect_timeout": 3},
}}
reg_path = os.path.join(work, "registry.json")


def write_registry(reg):
    with open(reg_path, "w") as f:
        json.dump(reg, f)
    os.chmod(reg_path, 0o600)


write_registry(registry)
env.update(POSTIE_REGISTRY=reg_path, POSTIE_SPOOL=spool, POSTIE_ALIASES=aliases,
           POSTIE_LOG_FILE=log_file)
link_dir = os.path.join(work, "bin")
os.mkdir(link_dir)
sendmail = os.path.join(link_dir, "sendmail")
os.symlink(postie, sendmail)
counter = [0]


def token(what):
    counter[0] += 1
    return "sendmail-%d-%d-%s" % (os.getpid(), counter[0], what)


def run(argv, message, extra=None, timeout=120):
    e = dict(env)
    if extra:
        e.update(extra)
    r = subprocess.run(argv, input=message.encode(), capture_output=True, timeout=timeout, env=e)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def received(user, tok, want=1, wait=15.0):
    """The messages in user's Maildir whose subject holds tok."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for path in glob.glob(os.path.join(env["POSTIE_TEST_MAILDIR_ROOT"], user, "new", "*")):
            with open(path, "rb") as f:
                raw = f.read()
            if tok.encode() in raw:
                found.append(email.message_from_bytes(raw, policy=email.policy.default))
        if len(found) >= want or time.monotonic() > deadline:
            return found


def log_lines():
    try:
        with open(log_file) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


# ---- cron (Vixie cron and cronie): -t, recipients from the header -------------------
tok = token("cron")
msg = ("From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@nas01> /usr/local/bin/%s\n"
       "Content-Type: text/plain; charset=UTF-8\nAuto-Submitted: auto-generated\n"
       "X-Cron-Env: <SHELL=/bin/sh>\nX-Cron-Env: <HOME=/root>\n\nbackup done: 3 files\n") % tok
rc, out, err = run([postie, "sendmail", "-FCronDaemon", "-odi", "-oem", "-oi", "-t"], msg)
check(rc == 0, "cron (-FCronDaemon -odi -oem -oi -t): exit 0", (rc, out, err))
got = received("bob", tok)
check(len(got) == 1, "cron: root (through the aliases file) got the mail", got)
if got:
    m = got[0]
    check(m["From"].addresses[0].addr_spec == "alice@example.test",
          "cron: From 'root (Cron Daemon)' became the session's From", m["From"])
    check(m["From"].addresses[0].display_name == "CronDaemon",
          "cron: -F gave the From display name", m["From"])
    check(m["X-Cron-Env"] is not None and m["Date"] is not None and m["Message-ID"] is not None,
          "cron: its own fields kept, Date and Message-ID added", str(m)[:500])
    check("backup done: 3 files" in m.get_content(), "cron: the body arrived", m.get_content())

# ---- Debian's cron: the recipient as an argument, no -t ------------------------------
tok = token("debian-cron")
msg = ("From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@nas01> %s\n"
       "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
       "Content-Transfer-Encoding: 8bit\n\nr\u00e9sum\u00e9 of the night: ok\n") % tok
rc, out, err = run([postie, "sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"], msg)
check(rc == 0, "Debian cron (-FCronDaemon -i -B8BITMIME -oem root): exit 0", (rc, out, err))
got = received("bob", tok)
check(len(got) == 1 and "r\u00e9sum\u00e9" in got[0].get_content(),
      "Debian cron: delivered with its 8-bit body", got and got[0].get_content())

# ---- mdadm --monitor: sendmail -t, Bcc to a second address ---------------------------
tok = token("mdadm")
msg = ("From: mdadm monitoring <root>\nTo: root\nBcc: carol@example.test\n"
       "Subject: Fail event on /dev/md0:nas01 %s\n\n"
       "This is an automatically generated mail message from mdadm\nrunning on nas01\n\n"
       "A Fail event had been detected on md device /dev/md0.\n") % tok
rc, out, err = run([sendmail, "-t"], msg)
check(rc == 0, "mdadm (sendmail -t, run as `sendmail` through a link): exit 0", (rc, out, err))
bob = received("bob", tok)
carol = received("carol", tok)
check(len(bob) == 1 and len(carol) == 1, "mdadm: To (root -> bob) and Bcc (carol) both got it",
      (len(bob), len(carol)))
for who, got in (("bob", bob), ("carol", carol)):
    if got:
        check(got[0]["Bcc"] is None, "mdadm: no Bcc field in %s's copy" % who, str(got[0])[:400])
        if who == "bob":
            check("carol@example.test" not in str(got[0]),
                  "mdadm: bob's copy does not name the Bcc recipient", str(got[0])[:600])
        check(got[0]["From"].addresses[0].display_name == "mdadm monitoring",
              "mdadm: the display name of 'mdadm monitoring <root>' kept", got[0]["From"])

# ---- smartd through mail(1): sendmail -i -- root --------------------------------------
tok = token("smartd")
msg = ("To: root\nSubject: SMART error (FailedReadSmartData) detected on host: nas01 %s\n\n"
       "This message was generated by the smartd daemon running on:\n\n"
       "   host name:  nas01\n\n.\nThe line above is a single dot.\n") % tok
rc, out, err = run([postie, "sendmail", "-i", "--", "root"], msg)
check(rc == 0, "smartd via mail(1) (sendmail -i -- root): exit 0", (rc, out, err))
got = received("bob", tok)
check(len(got) == 1 and "The line above is a single dot." in got[0].get_content(),
      "smartd: with -i a lone dot is text, the rest arrives", got and got[0].get_content())

# ---- without -i a lone dot ends the message; -f sets the envelope sender ----------------
tok = token("dot")
msg = "Subject: %s\n\nbefore the dot\n.\nafter the dot\n" % tok
rc, out, err = run([postie, "sendmail", "-f", "carol@example.test", "bob@example.test"], msg)
check(rc == 0, "plain sendmail ADDR with -f: exit 0", (rc, out, err))
got = received("bob", tok)
if got:
    body = got[0].get_content()
    check("before the dot" in body and "after the dot" not in body,
          "without -i the lone dot ends the message", body)
    check(got[0]["Return-Path"] == "<carol@example.test>", "-f is the envelope sender",
          got[0]["Return-Path"])
else:
    check(False, "plain sendmail ADDR with -f: delivered")

# ---- the session: --session, $POSTIE_SENDMAIL_SESSION, mail/Default ----------------------
tok = token("session")
rc, out, err = run([postie, "sendmail", "-t", "--session", "mail/Other", "-v"],
                   "To: bob@example.test\nSubject: %s\n\nx\n" % tok)
check(rc == 0 and len(received("bob", tok)) == 1 and
      any(tok and "session=mail/Other" in l for l in log_lines()[-2:]),
      "--session names the session", (rc, err, log_lines()[-2:]))
reg2 = {"sessions": {"mail/A": base, "mail/B": base}}
two = os.path.join(work, "two.json")
with open(two, "w") as f:
    json.dump(reg2, f)
os.chmod(two, 0o600)
rc, out, err = run([postie, "sendmail", "bob@example.test"], "Subject: x\n\nx\n",
                   extra={"POSTIE_REGISTRY": two})
check(rc == 78 and "mail/Default" in err, "two sessions, none mail/Default, none named: exit 78",
      (rc, err))
tok = token("env-session")
rc, out, err = run([postie, "sendmail", "bob@example.test"], "Subject: %s\n\nx\n" % tok,
                   extra={"POSTIE_REGISTRY": two, "POSTIE_SENDMAIL_SESSION": "mail/B"})
check(rc == 0 and len(received("bob", tok)) == 1, "$POSTIE_SENDMAIL_SESSION chooses one",
      (rc, err))

# ---- sysexits --------------------------------------------------------------------------
rc, out, err = run([postie, "sendmail", "-t"], "Subject: nobody\n\nx\n")
check(rc == 64 and "no recipients" in err, "no recipient: exit 64 (EX_USAGE)", (rc, err))
rc, out, err = run([postie, "sendmail", "--frobnicate", "bob@example.test"], "x\n")
check(rc == 64, "an unknown long option: exit 64", (rc, err))
rc, out, err = run([postie, "sendmail", "nosuchuser"], "Subject: x\n\nx\n")
check(rc == 67 and "nosuchuser" in err, "a local name without alias: exit 67 (EX_NOUSER)",
      (rc, err))
rc, out, err = run([postie, "sendmail", "bob@example.test"], "")
check(rc == 65, "an empty message: exit 65 (EX_DATAERR)", (rc, err))
rc, out, err = run([postie, "sendmail", "bob@example.test"], "Subject: x\n\nx\n",
                   extra={"POSTIE_REGISTRY": os.path.join(work, "missing.json")})
check(rc == 78, "no registry: exit 78 (EX_CONFIG)", (rc, err))
rc, out, err = run([postie, "sendmail", "-bs"], "")
check(rc == 64 and "not supported" in err, "-bs (SMTP on stdin): exit 64, named", (rc, err))

# ---- a relay outage: queued, exit 0, delivered by a later flush ---------------------------
tok = token("outage")
rc, out, err = run([postie, "sendmail", "--session", "mail/Outage", "-t"],
                   "To: root\nSubject: %s\n\nthe relay is down\n" % tok)
check(rc == 0 and "deferred" in err, "relay down: exit 0, the message stays queued", (rc, err))
rc, out, err = run([postie, "queue", "list", "--json"], "")
entries = []
try:
    entries = json.loads(out)
except ValueError:
    pass
mine = [e for e in entries if e.get("session") == "mail/Outage"]
check(rc == 0 and len(mine) == 1 and mine[0]["state"] == "queued" and
      mine[0]["recipients"] == [{"address": "bob@example.test", "state": "pending"}] and
      mine[0]["attempts"] == 1 and mine[0]["last_error"] != "",
      "queue list --json: the deferred message, its recipient and its error", (rc, out, err))
check(len(received("bob", tok, wait=1)) == 0, "relay down: nothing delivered yet")
registry["sessions"]["mail/Outage"] = dict(base)
write_registry(registry)
rc, out, err = run([postie, "queue", "flush", "--syslog"], "")
check(rc == 0 and len(received("bob", tok)) == 1, "relay back: the queued message is delivered",
      (rc, out, err))
rc, out, err = run([postie, "queue", "list", "--json"], "")
check(rc == 0 and json.loads(out) == [], "queue list --json: empty array once delivered", out)

# ---- queue run --every logs by default ----------------------------------------------------
tok = token("every")
registry["sessions"]["mail/Outage"] = {"host": "127.0.0.1", "port": 1, "tls": "none",
                                       "from": "alice@example.test", "connect_timeout": 3}
write_registry(registry)
rc, out, err = run([postie, "sendmail", "--session", "mail/Outage", "--queue-only", "root"],
                   "Subject: %s\n\nlater\n" % tok)
check(rc == 0, "--queue-only: exit 0", (rc, err))
registry["sessions"]["mail/Outage"] = dict(base)
write_registry(registry)
before = len(log_lines())
daemon = subprocess.Popen([postie, "queue", "run", "--every", "1"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
got = received("bob", tok, wait=20)
daemon.send_signal(signal.SIGTERM)
try:
    daemon.wait(timeout=15)
except subprocess.TimeoutExpired:
    daemon.kill()
    daemon.wait()
check(len(got) == 1, "queue run --every delivered the queued message")
new = log_lines()[before:]
check(any(line.startswith("postie[info]: delivered id=") and "session=mail/Outage" in line and
          "rcpt=bob@example.test" in line and "reply=250" in line for line in new),
      "queue run --every logs 'delivered' with id, session, recipient and reply code", new)

# ---- postie send --syslog: sent now, and queued then delivered ----------------------------
tok = token("send-syslog")
before = len(log_lines())
rc, out, err = run([postie, "send", "--session", "mail/Default", "--to", "bob@example.test",
                    "--subject", tok, "--syslog"], "")
rc2, out2, err2 = run([postie, "send", "--session", "mail/Default", "--to", "bob@example.test",
                       "--subject", tok + "-q", "--queue", "--syslog"], "")
new = log_lines()[before:]
check(rc == 0 and any(l.startswith("postie[info]: sent session=mail/Default rcpt=bob@example.test"
                                   " reply=250") for l in new),
      "send --syslog logs 'sent' with session, recipient and reply", (rc, err, new))
check(rc2 == 0 and any(l.startswith("postie[info]: queued id=") for l in new) and
      any(l.startswith("postie[info]: delivered id=") and "reply=250" in l for l in new),
      "send --queue --syslog logs 'queued', then 'delivered'", (rc2, err2, new))
rc, out, err = run([postie, "send", "--session", "mail/Default", "--to", "bob@example.test",
                    "--subject", tok], "")
check(len(log_lines()) == before + len(new), "send without --syslog logs nothing")

# ---- the log: one line per message, never the password ------------------------------------
lines = log_lines()
check(any("postie-sendmail[info]: delivered id=" in l and "session=mail/Default" in l and
          "rcpt=bob@example.test" in l and "reply=250 2.0.0" in l for l in lines),
      "sendmail logs 'delivered' with id, session, recipients and reply", lines[:5])
check(any("postie-sendmail[warning]: deferred id=" in l and "session=mail/Outage" in l
          for l in lines), "sendmail logs 'deferred' for the outage", lines)
check(any("postie-sendmail[info]: queued id=" in l for l in lines),
      "sendmail logs 'queued' for --queue-only", lines)
with open(log_file, "rb") as f:
    raw = f.read()
import base64
check(env["POSTIE_TEST_PASSWORD"].encode() not in raw and
      base64.b64encode(env["POSTIE_TEST_PASSWORD"].encode()) not in raw,
      "the log never holds the password (nor its base64)")

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
