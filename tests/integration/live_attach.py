#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A live log as an attachment: a file another process keeps appending to
while Postie composes it, sent with `send --queue` and with plain `send`
(which composes twice: once to count for SIZE=, once to send). Both must
exit 0, and what arrives in the Maildir (parsed with Python's email
package) must be exactly a prefix of the final file: the octets the file
had when Postie opened it. Plain send must also declare the size it sends
(SIZE= equals the octets of its BDAT chunks).

Run through with_mailserver.sh. Usage: live_attach.py PATH/TO/postie
"""
import email
import email.policy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from testlib import check, failures

postie = sys.argv[1]
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-live-")
env["POSTIE_SPOOL"] = os.path.join(work, "spool")
maildir = os.path.join(env["POSTIE_TEST_MAILDIR_ROOT"], "bob", "new")


registry = os.path.join(work, "registry.json")
with open(registry, "w") as f:
    json.dump({"sessions": {"mail/Notify": {
        "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
        "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
        "password": {"env": "POSTIE_TEST_PASSWORD"}, "from": "alice@example.test",
        "timeout": 20}}}, f)
os.chmod(registry, 0o600)
body = os.path.join(work, "body.txt")
with open(body, "w") as f:
    f.write("smart.log attached.\n")
log = os.path.join(work, "smart.log")

# ---- the writer: appends lines, bounded in time and size ---------------------------
PREFILL = 1 << 20
LIMIT = 4 << 20  # the message stays well under Postfix's 10 MB limit
stop = threading.Event()


def writer():
    n = 0
    deadline = time.monotonic() + 30
    with open(log, "ab", buffering=0) as f:
        while not stop.is_set() and time.monotonic() < deadline and f.tell() < LIMIT:
            f.write(b"".join(b"%08d SMART attribute 5 raw value %08d\n" % (n + i, n + i)
                             for i in range(12)))
            n += 12
            time.sleep(0.0005)


with open(log, "wb") as f:
    line = 0
    while f.tell() < PREFILL:
        f.write(b"%08d boot-time line of the log\n" % line)
        line += 1
thread = threading.Thread(target=writer, daemon=True)
thread.start()


def run(args):
    r = subprocess.run([postie, "--registry", registry] + args, capture_output=True, timeout=120,
                       env=env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def delivered(subject, wait=15.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        for path in glob.glob(os.path.join(maildir, "*")):
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            if msg["Subject"] == subject:
                return msg
        time.sleep(0.1)
    return None


def attachment(msg):
    for part in msg.iter_attachments():
        if part.get_filename() == "smart.log":
            return part.get_payload(decode=True)
    return None


results = []
try:
    tok = "live-%d" % os.getpid()
    cases = (
        ("send --queue", tok + "-queue",
         ["send", "--queue", "--session", "mail/Notify", "--to", "bob@example.test",
          "--subject", tok + "-queue", "--body-file", body, "--attach", log]),
        ("send", tok + "-send",
         ["send", "--verbose", "--host", "localhost", "--port", env["POSTIE_TEST_SMTP_PORT"],
          "--ca-file", env["POSTIE_TEST_CA"], "--user", env["POSTIE_TEST_USER"],
          "--password-env", "POSTIE_TEST_PASSWORD", "--from", "alice@example.test",
          "--to", "bob@example.test", "--subject", tok + "-send", "--body-file", body,
          "--attach", log]),
    )
    for what, subject, args in cases:
        while os.path.getsize(log) < PREFILL + 65536 and thread.is_alive():
            time.sleep(0.01)
        before = os.path.getsize(log)
        rc, out, err = run(args)
        after = os.path.getsize(log)
        check(after > before and thread.is_alive(),
              "%s: the log grew while postie ran (%d -> %d)" % (what, before, after))
        check(rc == 0, "%s with a growing attachment: exit 0" % what, "rc=%d %s" % (rc, out + err))
        results.append((what, subject, err))
    stop.set()
    thread.join(timeout=10)
    with open(log, "rb") as f:
        final = f.read()
    for what, subject, err in results:
        msg = delivered(subject)
        data = attachment(msg) if msg is not None else None
        check(data is not None, "%s: the message and its attachment arrived" % what)
        if data is None:
            continue
        check(PREFILL <= len(data) < len(final) and final[:len(data)] == data,
              "%s: the attachment is exactly a prefix of the final file (%d of %d octets)"
              % (what, len(data), len(final)))
        if what == "send":
            size = re.search(r"^C: MAIL FROM:<[^>]*> .*SIZE=(\d+)", err, re.M)
            chunks = [int(n) for n in re.findall(r"^C: BDAT (\d+)", err, re.M)]
            check(size is not None and chunks and sum(chunks) == int(size.group(1)),
                  "send: SIZE= declares exactly the octets sent",
                  "SIZE=%s, BDAT chunks total %d" % (size.group(1) if size else None,
                                                     sum(chunks)))
finally:
    stop.set()
    thread.join(timeout=10)
    subprocess.run(["rm", "-rf", work])

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
