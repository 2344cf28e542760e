# SPDX-License-Identifier: Apache-2.0
"""What the integration scripts share: a TAP-like check that records
failures, a check that no OAuth 2.0 secret leaked into an output, and looks
into the test server's Maildirs and queue output."""
import glob
import json
import os
import time

failures = []


def check(cond, what, detail=""):
    """Print ok/FAIL for one assertion; a failure is kept in failures (the
    script exits non-zero when any is there)."""
    print(("ok - " if cond else "FAIL - ") + what + ("" if cond else " :: " + str(detail)[:3000]))
    if not cond:
        failures.append(what)


def check_no_secrets(outputs, issued, what, extra=()):
    """Check that no token oauth_server.py issued (access and refresh tokens,
    device codes: its issued.jsonl at path issued) and none of the strings in
    extra (client secrets, seed refresh tokens) occurs in any of outputs
    (strings: a command's stdout and stderr). A leak is reported by its first
    6 characters only."""
    secrets = list(extra)
    with open(issued) as f:
        for line in f:
            secrets.append(json.loads(line)["token"])
    leaked = [s[:6] for s in secrets for o in outputs if s in o]
    check(not leaked, "%s (%d outputs, %d secrets)" % (what, len(outputs), len(secrets)), leaked)


def bob_maildir():
    """Where the test server delivers mail for bob@example.test."""
    return os.path.join(os.environ["POSTIE_TEST_MAILDIR_ROOT"], "bob", "new")


def arrivals(tok, want=1, wait=10.0, maildir=None):
    """How many messages with subject tok a Maildir folder (default bob's)
    holds, waiting up to wait seconds for want of them (Postfix delivers
    asynchronously)."""
    maildir = maildir or bob_maildir()
    deadline = time.monotonic() + wait
    while True:
        n = 0
        for path in glob.glob(os.path.join(maildir, "*")):
            try:
                with open(path, "rb") as f:
                    if ("Subject: " + tok + "\n").encode() in f.read(8192).replace(b"\r\n", b"\n"):
                        n += 1
            except FileNotFoundError:
                pass
        if n >= want or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


def queued_id(out):
    """The queue id from `postie send --queue` output ("queued ID ...")."""
    for line in out.splitlines():
        if line.startswith("queued "):
            return line.split()[1]
    return None
