#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check what the mps2-an386 firmware did (tests/integration/mps2_an386.sh).

  mps2_an386_check.py --uart UART.log --maildir MAILDIR --policy-log FILE
                      [--maillog FILE]

The console transcript (UART.log) must show, in order: the boot, the
registry loaded from flash and java:comp/env/mail/Notify found, the
message queued in RAM, a first session whose message got the policy
service's 451 and stayed queued, a second session that delivered it from
the queue (final reply 250), "tls-arena-high-water: N" with N > 0 and
"postie: done status=ok". The policy service must have seen exactly two
end-of-data requests, the first deferred.

MAILDIR/new must hold exactly one message. Postfix prepends Return-Path,
X-Original-To, Delivered-To and Received and stores lines with LF; the
rest, with CRLF line ends restored, must be exactly the octets the
firmware queued: the length and SHA-256 it printed, and the text below
byte for byte, its Date and Message-ID (which hold the board's clock and
random octets) checked by form and against each other.
"""
import argparse
import calendar
import email.header
import email.utils
import glob
import hashlib
import re
import sys

# The message the firmware composes (boards/mps2-an386/main.c and
# registry.json.in): From name from the template "${fullname} (NAS-01)" for
# the acting user 山田 太郎 (RFC 2047, UTF-8, base64), subject with the
# session's prefix, the text in quoted-printable (7bit: the queue holds it
# before any server's 8BITMIME is known).
EXPECTED = (
    "Date: {date}\r\n"
    "From: =?UTF-8?B?5bGx55SwIOWkqumDjiAoTkFTLTAxKQ==?= <notify@example.test>\r\n"
    "To: bob@example.test\r\n"
    "Subject: [NAS-01] Disk 2 of volume1 is failing\r\n"
    "Message-ID: {message_id}\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hello,\r\n"
    "\r\n"
    "=E5=B1=B1=E7=94=B0 =E5=A4=AA=E9=83=8E asked NAS-01 to tell you: disk 2 of v=\r\n"
    "olume1 reports\r\n"
    "reallocated sectors (SMART attribute 5 over its threshold).\r\n"
    "Replace it soon.\r\n"
    "\r\n"
    "--=20\r\n"
    "NAS-01 (mps2-an386)\r\n"
).encode("ascii")

POSTFIX_HEADERS = ("Return-Path:", "X-Original-To:", "Delivered-To:", "Received:")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def uart_checks(path):
    text = open(path, "rb").read().decode("utf-8", "replace").replace("\r", "")
    lines = text.split("\n")
    steps = [
        r"\] postie .* on mps2-an386 .*: boot$",
        r"\] net: LAN9118 \(id 0x0118....\) at 0x40200000",
        r"\] registry: .* octets of JSON in flash .* loaded: 2 sessions$",
        r"\] registry: java:comp/env/mail/Notify -> localhost port \d+, tls starttls$",
        r"\] message: from \"山田 太郎 \(NAS-01\)\" <notify@example.test>, envelope <bounces@example.test>$",
        r"\] queue: [0-9a-f]{16} queued in RAM \((\d+) octets of message\)$",
        r"\] message-sha256: [0-9a-f]{64}$",
        r"\] session 1: connect to localhost port \d+ \(java:comp/env/mail/Notify, via 10\.0\.2\.2\)$",
        r"\] S: 220 ",
        r"\] C: STARTTLS$",
        r"\] tls: TLSv1\.[23] .* server certificate \"CN=localhost\" verified",
        r"\] S: 451 4\.7\.1 .*first delivery attempt deferred$",
        r"\] queue: [0-9a-f]{16} queued \(0 delivered, 0 failed, 1 pending\): .*451 4\.7\.1",
        r"\] C: QUIT$",
        r"\] queue: next attempt in \d+ s \(attempt 2",
        r"\] run 2: delivering what is due in the RAM queue$",
        r"\] session 2: connect to localhost port ",
        r"\] tls: TLSv1\.[23] .* verified",
        r"\] final-reply: 250 2\.0\.0 Ok: \d+ bytes queued as \w+$",
        r"\] queue: [0-9a-f]{16} done \(1 delivered, 0 failed, 0 pending\)$",
        r"\] queue: empty$",
        r"\] tls-arena-high-water: (\d+)$",
        r"^postie: done status=ok$",
    ]
    at = 0
    found = {}
    for pattern in steps:
        rx = re.compile(pattern)
        while at < len(lines) and not rx.search(lines[at]):
            at += 1
        if not check(at < len(lines), "UART: no line matching %r (in order)" % pattern):
            return None
        found[pattern] = rx.search(lines[at])
        at += 1
    size = int(found[steps[5]].group(1))
    digest = re.search(r"[0-9a-f]{64}$", lines[[i for i, l in enumerate(lines)
                                                if "message-sha256:" in l][0]]).group(0)
    arena = int(found[steps[21]].group(1))
    check(arena > 0, "UART: tls-arena-high-water is 0")
    check(text.count("final-reply:") == 1, "UART: more than one final reply")
    check("FAULT" not in text, "UART: a fault")
    return size, digest, arena


def message_checks(maildir, size, digest):
    files = sorted(glob.glob(maildir + "/new/*"))
    if not check(len(files) == 1, "Maildir: %d messages in %s/new, want 1" % (len(files), maildir)):
        return
    raw = open(files[0], "rb").read()
    lines = raw.split(b"\n")
    i = 0
    # Postfix's own header fields (and their continuation lines) come first
    while i < len(lines) and (lines[i].startswith(tuple(h.encode() for h in POSTFIX_HEADERS))
                              or lines[i][:1] in (b" ", b"\t")):
        i += 1
    check(i >= 4, "Maildir: Postfix's Return-Path/Delivered-To/Received not found")
    body = b"\n".join(lines[i:])
    msg = body.replace(b"\n", b"\r\n")
    check(len(msg) == size, "message: %d octets delivered, the firmware queued %d" % (len(msg), size))
    check(hashlib.sha256(msg).hexdigest() == digest,
          "message: SHA-256 differs from what the firmware queued")

    date = re.match(rb"Date: ([^\r]*)\r\n", msg)
    mid = re.search(rb"\r\nMessage-ID: (<([0-9a-f]{32})\.(\d+)@example\.test>)\r\n", msg)
    if not check(date is not None, "message: no Date first") or \
            not check(mid is not None, "message: no Message-ID of the form <32 hex.seconds@example.test>"):
        return
    parsed = email.utils.parsedate_tz(date.group(1).decode())
    if check(parsed is not None and date.group(1).endswith(b" +0000"),
             "message: Date %r is not an RFC 5322 date in UTC" % date.group(1)):
        check(calendar.timegm(parsed[:9]) == int(mid.group(3)),
              "message: the Message-ID's time is not the Date's")
    want = EXPECTED.replace(b"{date}", date.group(1)).replace(b"{message_id}", mid.group(1))
    if not check(msg == want, "message: not byte for byte the expected one"):
        for n, (a, b) in enumerate(zip(msg.split(b"\r\n"), want.split(b"\r\n"))):
            if a != b:
                print("first difference in line %d:\n  got  %r\n  want %r" % (n + 1, a, b))
                break
    # the From name, decoded as a mail reader would
    frm = re.search(rb"\r\nFrom: ([^\r]*)\r\n", msg).group(1).decode()
    name = str(email.header.make_header(email.header.decode_header(frm.split(" <")[0])))
    check(name == "山田 太郎 (NAS-01)", "message: From name decodes to %r" % name)


def policy_checks(path):
    reqs = [l for l in open(path, encoding="utf-8").read().splitlines() if "state=END-OF-MESSAGE" in l]
    check(len(reqs) == 2, "policy: %d end-of-data requests, want 2 (deferred, then passed)" % len(reqs))
    if len(reqs) == 2:
        check("action=451 4.7.1" in reqs[0] and "action=DUNNO" in reqs[1],
              "policy: want the first deferred and the second passed")
        check(all("recipient=bob@example.test" in r and "sender=bounces@example.test" in r
                  for r in reqs), "policy: unexpected envelope")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uart", required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--policy-log", required=True)
    ap.add_argument("--maillog")
    a = ap.parse_args()
    got = uart_checks(a.uart)
    if got is not None:
        size, digest, arena = got
        message_checks(a.maildir, size, digest)
        print("mps2_an386_check: message %d octets, tls-arena-high-water: %d" % (size, arena))
    policy_checks(a.policy_log)
    if a.maillog and failures:
        print("---- Postfix log (mps2 lines)")
        for l in open(a.maillog, encoding="utf-8", errors="replace").read().splitlines()[-15:]:
            print(l)
    for f in failures:
        print("FAIL: " + f)
    if failures:
        return 1
    print("mps2_an386_check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
