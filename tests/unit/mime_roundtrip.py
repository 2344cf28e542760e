#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Round trip of composed messages through a real MIME parser.

Runs `postie compose` with Japanese names and subjects, emoji, long lines,
HTML, binary and non-ASCII-named attachments, parses each result with
Python's email package (policy=default, the strict modern parser) and checks
that every field decodes to exactly what was given, that the wire form obeys
RFC 5322 line rules, and that header injection attempts are refused with an
error naming the field.

Usage: mime_roundtrip.py PATH/TO/postie
"""
import email
import email.policy
import os
import random
import subprocess
import sys
import tempfile

POSTIE = sys.argv[1]
WORK = tempfile.mkdtemp(prefix="postie-mime-")
failures = []


def check(cond, what):
    if cond:
        print("ok -", what)
    else:
        print("FAIL -", what)
        failures.append(what)


def write(name, data):
    path = os.path.join(WORK, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def compose(*args, expect_ok=True):
    run = subprocess.run([POSTIE, "compose", *args], capture_output=True, timeout=60)
    if expect_ok and run.returncode != 0:
        raise SystemExit("postie compose %s failed: %s" % (args, run.stderr.decode()))
    return run


def wire_rules(raw, what):
    lines = raw.split(b"\r\n")
    check(lines[-1] == b"", what + ": ends with CRLF")
    check(b"\n" not in raw.replace(b"\r\n", b""), what + ": no bare LF")
    check(b"\r" not in raw.replace(b"\r\n", b""), what + ": no bare CR")
    check(all(len(l) <= 998 for l in lines), what + ": no line over 998 octets")
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    long_heads = [l for l in head if len(l) > 78 and b" " in l.strip()]
    check(not long_heads, what + ": foldable header lines within 78 columns %r" % long_heads[:1])
    check(all(b < 0x80 for b in head[0]) and all(max(l, default=0) < 0x80 for l in head),
          what + ": headers are ASCII")


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def normal(text):
    """Compare texts with LF line ends (the parser keeps the wire's CRLF in
    decoded 7bit/8bit payloads). Every text given here ends with a line end,
    which must survive: the writer never loses the last line break."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- 1. Japanese names, long Japanese subject, 7bit-incompatible body -------
subject = "【警告】ディスク 3 の SMART 値が閾値を超えました。至急確認してください。" * 2
body = "山田様\n\nディスク 3 で再割り当てセクタが 8 個見つかりました。\n.dot line\nFrom here\n"
body_path = write("body1.txt", body.encode())
raw = compose("--from", "nas@example.com", "--from-name", "山田 太郎",
              "--to", "bob@example.com", "--cc", "carol@example.com", "--bcc", "hidden@example.com",
              "--subject", subject, "--body-file", body_path).stdout
wire_rules(raw, "japanese")
m = parse(raw)
check(str(m["subject"]) == subject, "japanese: subject decodes to the original")
check(m["from"].addresses[0].display_name == "山田 太郎", "japanese: From name decodes")
check(m["from"].addresses[0].addr_spec == "nas@example.com", "japanese: From address")
check(m["cc"].addresses[0].addr_spec == "carol@example.com", "japanese: Cc")
check(b"hidden@example.com" not in raw and m["bcc"] is None, "japanese: Bcc never in a header")
check(normal(m.get_content()) == normal(body), "japanese: body decodes to the original")
check(m["content-transfer-encoding"] == "quoted-printable", "japanese: QP without 8BITMIME")
check(m["message-id"].endswith("@example.com>"), "japanese: Message-ID domain from From")
check(m["date"].datetime is not None, "japanese: Date parses")

# ---- 2. the same with 8BITMIME: 8bit body ------------------------------------
raw = compose("--from", "nas@example.com", "--to", "bob@example.com", "--subject", "x",
              "--body-file", body_path, "--8bit").stdout
m = parse(raw)
check(m["content-transfer-encoding"] == "8bit", "8bit: chosen when allowed")
check(normal(m.get_content()) == normal(body), "8bit: body decodes")

# ---- 3. display names that need quoting, emoji, mixed ASCII ------------------
for name in ["Joe Bloggs (Appliance)", 'Say "hi", \\ back', "Ünïcödé (NAS)", "😀 Alerts",
             "O'Brien", "a.b", "=?UTF-8?B?notreal?="]:
    raw = compose("--from", "nas@example.com", "--from-name", name, "--to", "bob@example.com",
                  "--subject", "Emoji 😀🔥 and ASCII").stdout
    m = parse(raw)
    check(m["from"].addresses[0].display_name == name, "name %r survives" % name)
    check(str(m["subject"]) == "Emoji 😀🔥 and ASCII", "emoji subject survives (%r)" % name)
raw = compose("--from", "nas@example.com", "--from-name", "Joe Bloggs (Appliance)",
              "--to", "bob@example.com").stdout
check(b'From: "Joe Bloggs (Appliance)" <nas@example.com>' in raw,
      "parentheses kept inside a quoted phrase")

# ---- 4. long ASCII subject folds; long body lines force QP; HTML -------------
long_subject = " ".join("word%d" % i for i in range(60))
long_line = "x" * 3000 + "\n" + "short\n"
html = "<html><body><p>こんにちは</p><p>" + "y" * 1200 + "</p></body></html>\n"
raw = compose("--from", "nas@example.com", "--to", "bob@example.com", "--subject", long_subject,
              "--body-file", write("long.txt", long_line.encode()),
              "--html-file", write("page.html", html.encode()), "--8bit").stdout
wire_rules(raw, "long")
m = parse(raw)
check(str(m["subject"]) == long_subject, "long ASCII subject unfolds to the original")
check(m.get_content_type() == "multipart/alternative", "text + HTML is multipart/alternative")
parts = list(m.iter_parts())
check([p.get_content_type() for p in parts] == ["text/plain", "text/html"], "alternative order")
check(parts[0]["content-transfer-encoding"] == "quoted-printable", "3000-octet line forces QP")
check(normal(parts[0].get_content()) == normal(long_line), "long line decodes")
check(normal(parts[1].get_content()) == normal(html), "HTML decodes")

# ---- 5. attachments: binary, Japanese name, name with spaces ------------------
rnd = random.Random(7)
blob = bytes(rnd.getrandbits(8) for _ in range(150000))
bin_path = write("data.bin", blob)
jp_dir = os.path.join(WORK, "jp")
os.mkdir(jp_dir)
jp_name = "報告書 2026年11月 ディスク状態の詳細なレポート.pdf"
jp_path = os.path.join(jp_dir, jp_name)
with open(jp_path, "wb") as f:
    f.write(b"%PDF-1.4 not really\n")
sp_path = write("my report (final).csv", b"a,b\n1,2\n")
empty_path = write("empty.txt", b"")
raw = compose("--from", "nas@example.com", "--to", "bob@example.com", "--subject", "files",
              "--body-file", body_path, "--attach", bin_path, "--attach", jp_path,
              "--attach", sp_path, "--attach", empty_path,
              "--header", "X-Note: 注意 – non-ASCII header value").stdout
wire_rules(raw, "attachments")
m = parse(raw)
check(m.get_content_type() == "multipart/mixed", "attachments: multipart/mixed")
atts = list(m.iter_attachments())
check([a.get_filename() for a in atts] == ["data.bin", jp_name, "my report (final).csv", "empty.txt"],
      "attachment file names decode: %r" % [a.get_filename() for a in atts])
check(atts[0].get_payload(decode=True) == blob, "150 kB binary attachment decodes byte for byte")
check(atts[1].get_content_type() == "application/pdf", "Content-Type from extension (.pdf)")
check(atts[2].get_content_type() == "text/csv", "Content-Type from extension (.csv)")
check(atts[3].get_payload(decode=True) == b"", "empty attachment decodes empty")
check(str(m["x-note"]) == "注意 – non-ASCII header value", "non-ASCII extra header decodes")
b64_lines = [l for l in raw.split(b"\r\n") if len(l) == 76]
check(len(b64_lines) > 1000, "base64 lines are 76 columns")
body_part = next(m.iter_parts())
check(normal(body_part.get_content()) == normal(body), "text part next to attachments decodes")

# ---- 6. injection and bad input are refused, naming the field ----------------
def refused(args, field, what):
    run = compose("--from", "nas@example.com", "--to", "bob@example.com", *args, expect_ok=False)
    err = run.stderr.decode(errors="replace")
    check(run.returncode == 2 and field in err and not run.stdout,
          "%s refused naming %s (%r)" % (what, field, err.strip()))

refused(["--subject", "hi\r\nBcc: victim@example.com"], "subject", "CR/LF in the subject")
refused(["--from-name", "Eve\nBcc: victim@example.com"], "from.name", "LF in the display name")
refused(["--header", "X-A: ok\r\nBcc: victim@example.com"], "headers[0].value", "CRLF in a header")
refused(["--header", "Bcc: victim@example.com"], "headers[0].name", "a reserved header")
refused(["--header", "Bad Name: v"], "headers[0].name", "a space in a header name")
refused(["--cc", "a@b.c>\r\nX: y"], "--cc", "CR/LF in an address")
# one value is one mailbox: no lists, groups, comments or stray quotes
refused(["--to", "a@x, b@y"], "--to", "two addresses in one --to")
refused(["--to", "a@x,b@y"], "--to", "a comma list in one --to")
refused(["--cc", "a@x;b@y"], "--cc", "a semicolon list in one --cc")
refused(["--reply-to", "undisclosed:;"], "--reply-to", "a group in --reply-to")
refused(["--bcc", "\"a@x, b@y"], "--bcc", "an unbalanced quote in --bcc")
refused(["--from", "nas@example.com (NAS)"], "--from", "a comment in --from")
refused(["--body-file", write("bad.txt", b"caf\xe9\n")], "text body at octet 3", "invalid UTF-8 body")
refused(["--body-file", write("nul.txt", b"a\x00b")], "text body at octet 1", "NUL in the body")
nl_path = write("evil\nname.txt", b"x")
refused(["--attach", nl_path], "attachments[0].filename", "LF in a file name")

if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all checks passed")
