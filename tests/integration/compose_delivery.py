#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A composed message through the real SMTP server, checked in the Maildir.

Run through with_mailserver.sh. Sends with `postie send` and compose options
(Japanese subject and display name, UTF-8 body, a binary attachment with a
Japanese file name, Cc and Bcc) over STARTTLS + AUTH, then parses what Postfix
delivered with Python's email package and checks every field decodes to what
was given, for the To, the Cc and the Bcc recipient; the Bcc address must
appear in no delivered header.

Usage: compose_delivery.py PATH/TO/postie
"""
import email
import email.policy
import glob
import os
import random
import subprocess
import sys
import tempfile
import time
from testlib import check, failures

postie = sys.argv[1]
env = os.environ
work = tempfile.mkdtemp(prefix="postie-compose-")


token = "compose-%d-%d" % (os.getpid(), int(time.time()))
subject = "【警告】ディスク 3 の SMART 値 " + token
body = "山田様\n\nディスク 3 で再割り当てセクタが見つかりました。\n.dot line stays\n"
blob = bytes(random.Random(3).getrandbits(8) for _ in range(300000))
name = "診断ログ 2026-11.bin"
os.mkdir(os.path.join(work, "a"))
att = os.path.join(work, "a", name)
with open(att, "wb") as f:
    f.write(blob)
with open(os.path.join(work, "body.txt"), "w", encoding="utf-8") as f:
    f.write(body)

run = subprocess.run(
    [postie, "send", "--host", "localhost", "--connect-to", "127.0.0.1",
     "--port", env["POSTIE_TEST_SMTP_PORT"], "--ca-file", env["POSTIE_TEST_CA"],
     "--user", env["POSTIE_TEST_USER"], "--password-env", "POSTIE_TEST_PASSWORD",
     "--from", "alice@example.test", "--from-name", "山田 太郎 (NAS)",
     "--to", "bob@example.test", "--cc", "carol@example.test", "--bcc", "alice@example.test",
     "--subject", subject, "--body-file", os.path.join(work, "body.txt"), "--attach", att,
     "--header", "X-Appliance: NAS-01"],
    capture_output=True, timeout=120)
check(run.returncode == 0, "postie send exits 0 (%s)" % run.stderr.decode(errors="replace").strip())


def delivered(user):
    for _ in range(150):
        for path in glob.glob(os.path.join(env["POSTIE_TEST_MAILDIR_ROOT"], user, "new", "*")):
            with open(path, "rb") as f:
                raw = f.read()
            if token.encode() in raw or b"X-Appliance: NAS-01" in raw:
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                if str(msg["subject"]) == subject:
                    return raw, msg
        time.sleep(0.1)
    return None, None


for user in ["bob", "carol", "alice"]:
    raw, msg = delivered(user)
    check(msg is not None, "%s received the message" % user)
    if msg is None:
        continue
    check(str(msg["subject"]) == subject, "%s: Japanese subject intact" % user)
    check(msg["from"].addresses[0].display_name == "山田 太郎 (NAS)", "%s: From name intact" % user)
    check(msg["bcc"] is None and b"Bcc" not in raw.split(b"\n\n")[0], "%s: no Bcc header" % user)
    text = msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    check(text == body, "%s: body intact (%r)" % (user, text[:80]))
    atts = list(msg.iter_attachments())
    check(len(atts) == 1 and atts[0].get_filename() == name, "%s: attachment name intact" % user)
    check(len(atts) == 1 and atts[0].get_payload(decode=True) == blob,
          "%s: 300 kB attachment intact byte for byte" % user)

# An attachment past the server's SIZE limit (10240000) is refused before
# any of it is sent: the counted size goes into MAIL FROM's SIZE=.
big = os.path.join(work, "big.bin")
with open(big, "wb") as f:
    f.write(b"\0" * (8 << 20))  # 8 MiB, about 11 MB once base64-encoded
run = subprocess.run(
    [postie, "send", "--host", "localhost", "--connect-to", "127.0.0.1",
     "--port", env["POSTIE_TEST_SMTP_PORT"], "--ca-file", env["POSTIE_TEST_CA"],
     "--user", env["POSTIE_TEST_USER"], "--password-env", "POSTIE_TEST_PASSWORD",
     "--from", "alice@example.test", "--to", "bob@example.test", "--subject", "too big",
     "--attach", big, "--verbose"],
    capture_output=True, timeout=120)
err = run.stderr.decode(errors="replace")
check(run.returncode == 1, "oversized message: exit 1 (got %d)" % run.returncode)
check("SIZE limit" in err and "BDAT" not in err and "DATA" not in err.replace("MAIL", ""),
      "oversized message refused before any body was sent: %r" % err.strip().splitlines()[-1])

if failures:
    sys.exit("%d check(s) failed" % len(failures))
print("all checks passed")
