#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`postie fetch` against the private Dovecot (run through
with_mailserver.sh). Mailboxes are seeded by writing into Dovecot's
Maildir directly (mailbox_lib.seed), so thousands of messages cost
milliseconds.

For POP3, POP3S, POP3+STLS, IMAP+STARTTLS, IMAPS and IMAP with an
optional STARTTLS (starttls-optional), through the CLI with the server on
the command line:
  - --list prints one "ID SIZE" line per message, and changes nothing;
  - --message N --out FILE writes a message byte for byte as it was put on
    the server, and changes nothing;
  - --maildir DIR archives every message byte for byte, deletes them on
    the server; a second run archives nothing;
  - --keep archives and leaves the server's copies; a second --keep run
    archives nothing twice; a run without --keep then only deletes.
Never in clear: through a proxy that connects from 127.0.0.2 (Dovecot then
does not treat the client as local and secure), --tls none without
--allow-plaintext-auth sends no credential (POP3 and IMAP); with the
server's STLS/STARTTLS stripped by the proxy and TLS required, no
credential either; with STARTTLS through the same proxy the fetch works
and nothing readable of the login crosses before the handshake.
Volume: 1,000 small messages over POP3 and over IMAP, each exactly once.
Size: one 25 MiB message over IMAPS and over POP3+STLS, byte for byte, with
the fetching process's peak RSS (/usr/bin/time %M) printed and
bounded (POSTIE_FETCH_RSS_MAX_KIB, default 8192).

Usage: fetch_cli.py PATH/TO/postie
"""
import base64
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailbox_lib as ml  # noqa: E402
from testlib import check, failures  # noqa: E402

postie = sys.argv[1]
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-fetch-")
USER = env["POSTIE_TEST_USER"]
PASSWORD = env["POSTIE_TEST_PASSWORD"]
CA = env["POSTIE_TEST_CA"]
BOX = USER.split("@")[0]  # the Maildir Dovecot serves for USER
RSS_MAX_KIB = int(env.get("POSTIE_FETCH_RSS_MAX_KIB", "8192"))
# Under AddressSanitizer (tests/run.sh --asan) the shadow memory and
# quarantine alone pass that bound: the RSS is printed, not bounded.
ASAN = b"libasan" in subprocess.run(["ldd", postie], capture_output=True).stdout
_n = [0]


def run(args, timeout=120, env_extra=None):
    e = dict(env)
    if env_extra:
        e.update(env_extra)
    p = subprocess.run([postie] + args, capture_output=True, timeout=timeout, env=e)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def run_rss(args, timeout=300):
    """Run postie; return (rc, out, err, peak RSS of that process in KiB).
    The peak comes from /usr/bin/time (%M): postie is then forked from that
    small process. (getrusage of a child forked from this Python would
    count this Python's own RSS at the fork: Linux keeps the larger of the
    two across exec.) Without /usr/bin/time, VmHWM in /proc is polled."""
    if os.access("/usr/bin/time", os.X_OK):
        rss_file = os.path.join(work, "rss")
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, postie] + args,
                           capture_output=True, timeout=timeout, env=env)
        with open(rss_file) as f:
            rss = int(f.read().split()[-1])
        return (p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"), rss)
    p = subprocess.Popen([postie] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    rss = 0
    deadline = time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < deadline:
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for ln in f:
                    if ln.startswith("VmHWM:"):
                        rss = max(rss, int(ln.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
    out, err = p.communicate(timeout=30)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), rss


SERVERS = [
    # label, protocol, port variable, --tls
    ("POP3 (plain + STLS, optional)", "pop3", "POSTIE_TEST_POP3_PORT", "starttls-optional"),
    ("POP3+STLS", "pop3", "POSTIE_TEST_POP3_PORT", "starttls"),
    ("POP3S", "pop3", "POSTIE_TEST_POP3S_PORT", "implicit"),
    ("IMAP (plain + STARTTLS, optional)", "imap", "POSTIE_TEST_IMAP_PORT", "starttls-optional"),
    ("IMAP+STARTTLS", "imap", "POSTIE_TEST_IMAP_PORT", "starttls"),
    ("IMAPS", "imap", "POSTIE_TEST_IMAPS_PORT", "implicit"),
]


def server_args(proto, port, tls, host="localhost", connect_to=None):
    a = ["fetch", "--protocol", proto, "--host", host, "--port", str(port), "--tls", tls,
         "--ca-file", CA, "--user", USER, "--password-env", "POSTIE_TEST_PASSWORD",
         "--timeout", "30"]
    if connect_to:
        a += ["--connect-to", connect_to]
    return a


def new_dir(tag):
    _n[0] += 1
    return os.path.join(work, "%s-%d" % (tag, _n[0]))


def messages(count, size, tag):
    out = []
    for i in range(count):
        m = ml.make_message(i, size, tag)
        if i % 3 == 0:
            # a line that starts with a dot (POP3 dot-stuffing) and 8-bit text
            m = m.replace(b"\r\n\r\n", b"\r\n\r\n.leading dot\r\n..two dots\r\n"
                          + "caf\u00e9 \u00fcber\r\n".encode(), 1)
        out.append(m)
    return out


def same_multiset(a, b):
    return sorted(hashlib.sha256(x).hexdigest() for x in a) == \
        sorted(hashlib.sha256(x).hexdigest() for x in b)


# ---- every protocol and TLS mode -------------------------------------------------------

for label, proto, port_var, tls in SERVERS:
    port = env[port_var]
    ml.clear(BOX)
    seeded = messages(5, 700, "proto-%s" % proto)
    ml.seed(BOX, seeded)

    rc, out, err = run(server_args(proto, port, tls) + ["--list"])
    lines = [ln.split() for ln in out.splitlines() if ln.strip()]
    check(rc == 0 and len(lines) == 5, "%s: --list shows 5 messages" % label, (rc, out, err))
    sizes = sorted(int(x[1]) for x in lines if len(x) == 2)
    check(sizes == sorted(len(m) for m in seeded), "%s: --list sizes are the octets stored"
          % label, (sizes, sorted(len(m) for m in seeded)))
    ids = [int(x[0]) for x in lines if len(x) == 2]
    check(ids == sorted(ids) and len(set(ids)) == len(ids), "%s: ids ascending" % label, ids)

    out_file = os.path.join(work, "one-%s-%s.eml" % (proto, tls))
    if ids:
        rc, out2, err2 = run(server_args(proto, port, tls) + ["--message", str(ids[-1]),
                                                               "--out", out_file])
        got = open(out_file, "rb").read() if os.path.exists(out_file) else b""
        check(rc == 0 and got in seeded, "%s: --message %d writes the message byte for byte"
              % (label, ids[-1]), (rc, out2, err2, got[:200]))
        check(not os.path.exists(out_file + ".tmp"), "%s: no temporary file left" % label)
        rc, out3, _ = run(server_args(proto, port, tls) + ["--message", str(ids[0]), "--out", "-"])
        check(rc == 0 and out3.encode() in seeded, "%s: --out - writes to stdout" % label)
    check(same_multiset(ml.server_messages(BOX), seeded),
          "%s: --list and --message changed nothing on the server" % label)

    md = new_dir("archive-" + proto)
    rc, out, err = run(server_args(proto, port, tls) + ["--maildir", md])
    check(rc == 0, "%s: --maildir exits 0" % label, (rc, out, err))
    check(same_multiset(ml.maildir_messages(md), seeded),
          "%s: the Maildir holds each message byte for byte, once" % label,
          (len(ml.maildir_messages(md)), out, err))
    check(ml.server_messages(BOX) == [], "%s: the server's copies are gone" % label,
          len(ml.server_messages(BOX)))
    rc, out, err = run(server_args(proto, port, tls) + ["--maildir", md])
    check(rc == 0 and len(ml.maildir_messages(md)) == 5, "%s: a second run archives nothing"
          % label, (rc, out, err))

# ---- keep mode and the state ------------------------------------------------------------

for proto, port_var, tls in (("pop3", "POSTIE_TEST_POP3_PORT", "starttls"),
                             ("imap", "POSTIE_TEST_IMAPS_PORT", "implicit")):
    ml.clear(BOX)
    seeded = messages(4, 900, "keep-" + proto)
    ml.seed(BOX, seeded)
    md = new_dir("keep-" + proto)
    base = server_args(proto, env[port_var], tls) + ["--maildir", md]
    rc, out, err = run(base + ["--keep"])
    check(rc == 0 and same_multiset(ml.maildir_messages(md), seeded),
          "%s --keep: archived every message" % proto, (rc, out, err))
    check(same_multiset(ml.server_messages(BOX), seeded),
          "%s --keep: the server keeps its copies" % proto)
    rc, out, err = run(base + ["--keep"])
    check(rc == 0 and len(ml.maildir_messages(md)) == 4,
          "%s --keep again: nothing archived twice" % proto, (rc, out, err))
    ml.seed(BOX, messages(1, 500, "keep-late-" + proto))
    rc, out, err = run(base + ["--keep"])
    check(rc == 0 and len(ml.maildir_messages(md)) == 5,
          "%s --keep: a new message is archived, the old ones not" % proto, (rc, out, err))
    rc, out, err = run(base)
    check(rc == 0 and len(ml.maildir_messages(md)) == 5 and ml.server_messages(BOX) == [],
          "%s: without --keep the archived ones are deleted, none archived again" % proto,
          (rc, out, err, len(ml.server_messages(BOX))))

# ---- never in clear ----------------------------------------------------------------------

plain_b64 = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())


def leaked(sent):
    return (PASSWORD.encode() in sent or plain_b64 in sent or b"PASS " in sent.upper()
            or b"LOGIN " in sent.upper() or b"AUTH" in sent.upper())


for proto, port_var in (("pop3", "POSTIE_TEST_POP3_PORT"), ("imap", "POSTIE_TEST_IMAP_PORT")):
    ml.clear(BOX)
    ml.seed(BOX, messages(2, 500, "clear-" + proto))
    proxy = ml.SourceProxy(env[port_var])
    md = new_dir("clear-" + proto)
    rc, out, err = run(server_args(proto, proxy.port, "none") + ["--maildir", md])
    sent = proxy.sent()
    check(rc == 3, "%s from 127.0.0.2, --tls none, no --allow-plaintext-auth: refused (exit 3)"
          % proto, (rc, out, err))
    check(not leaked(sent) and USER.encode() not in sent,
          "%s --tls none: no credential left the client" % proto, sent)
    check(len(ml.server_messages(BOX)) == 2, "%s --tls none: nothing changed" % proto)

    proxy.reset()
    proxy.strip = True
    rc, out, err = run(server_args(proto, proxy.port, "starttls") + ["--maildir", md])
    sent = proxy.sent()
    check(rc == 3 and ("STARTTLS" in err or "STLS" in err or "TLS" in err),
          "%s: STLS/STARTTLS stripped, TLS required: refused (exit 3)" % proto, (rc, out, err))
    check(not leaked(sent) and USER.encode() not in sent,
          "%s stripped: no credential left the client" % proto, sent)
    proxy.strip = False

    proxy.reset()
    rc, out, err = run(server_args(proto, proxy.port, "starttls") + ["--maildir", md])
    sent = proxy.sent()
    head = sent.split(b"STLS\r\n")[0] if proto == "pop3" else sent.split(b"STARTTLS\r\n")[0]
    check(rc == 0 and len(ml.maildir_messages(md)) == 2,
          "%s from 127.0.0.2 with STARTTLS: archived" % proto, (rc, out, err))
    check(not leaked(head) and PASSWORD.encode() not in sent,
          "%s with STARTTLS: nothing of the login in clear" % proto, sent[:300])
    proxy.close()

# ---- 1,000 small messages ---------------------------------------------------------------

for proto, port_var, tls in (("pop3", "POSTIE_TEST_POP3_PORT", "starttls"),
                             ("imap", "POSTIE_TEST_IMAP_PORT", "starttls")):
    ml.clear(BOX)
    seeded = [ml.make_message(i, 1200, "thousand-" + proto) for i in range(1000)]
    ml.seed(BOX, seeded)
    md = new_dir("thousand-" + proto)
    t0 = time.monotonic()
    rc, out, err = run(server_args(proto, env[port_var], tls) + ["--maildir", md], timeout=300)
    dt = time.monotonic() - t0
    print("# %s: 1000 messages in %.2f s (%.0f messages/s)" % (proto, dt, 1000 / dt))
    check(rc == 0 and same_multiset(ml.maildir_messages(md), seeded),
          "%s: 1,000 messages archived, each exactly once" % proto,
          (rc, out, err, len(ml.maildir_messages(md))))
    check(ml.server_messages(BOX) == [], "%s: 1,000 deleted on the server" % proto)

# ---- one 25 MiB message in bounded memory ------------------------------------------------

big = bytearray()
line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ 25 MiB message line\r\n"
big += b"From: alice@example.test\r\nTo: alice@example.test\r\nSubject: big\r\n\r\n"
while len(big) < 25 * 1024 * 1024:
    big += line
big = bytes(big)
for proto, port_var, tls in (("imap", "POSTIE_TEST_IMAPS_PORT", "implicit"),
                             ("pop3", "POSTIE_TEST_POP3_PORT", "starttls")):
    ml.clear(BOX)
    ml.seed(BOX, [big])
    md = new_dir("big-" + proto)
    rc, out, err, rss = run_rss(server_args(proto, env[port_var], tls, ) + ["--maildir", md])
    got = ml.maildir_messages(md)
    print("# %s: 25 MiB message, peak RSS of postie fetch: %d KiB" % (proto, rss))
    check(rc == 0 and len(got) == 1 and got[0] == big,
          "%s: the 25 MiB message archived byte for byte" % proto, (rc, out, err))
    if ASAN:
        print("# (an AddressSanitizer build: the RSS bound is checked in the normal build)")
    else:
        check(rss < RSS_MAX_KIB, "%s: peak RSS %d KiB < %d KiB (bounded memory)"
              % (proto, rss, RSS_MAX_KIB))

print("# self RSS %d KiB" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
if failures:
    print("%d FAILED: %s" % (len(failures), "; ".join(failures)))
    sys.exit(1)
print("all passed")
