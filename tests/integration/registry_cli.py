#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The registry commands against the private Postfix (run through
with_mailserver.sh): sessions, session show, send --session with the
From-name template and subject prefix, test-email, test-connection (a
working session, nothing listening, a self-signed certificate), a bad
registry, and $POSTIE_REGISTRY.

Usage: registry_cli.py PATH/TO/postie
"""
import email
import email.policy
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
from testlib import check, failures

postie = sys.argv[1]
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-registry-")


registry = {
    "product": "Postie Test",
    "sessions": {
        "mail/Base": {
            "description": "STARTTLS + login",
            "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
            "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
            "password": {"env": "POSTIE_TEST_PASSWORD"}, "from": "alice@example.test",
            "timeout": 20,
        },
        "java:comp/env/mail/Notify": {
            "jndi": "java:comp/env/mail/Base", "from": "alice@example.test",
            "from_name": "${fullname} (Confluence)", "subject_prefix": "[NAS] ",
        },
        "mail/Confluence": {
            "jndi": "mail/Base", "from": "alice@example.test", "subject_prefix": "[Confluence]",
        },
        "mail/Tomcat": {
            "mail.transport.protocol": "smtps", "mail.smtps.host": "localhost",
            "mail.smtps.port": env["POSTIE_TEST_SMTPS_PORT"], "mail.smtps.auth": "true",
            "mail.smtps.user": env["POSTIE_TEST_USER"],
            "mail.smtps.password": {"env": "POSTIE_TEST_PASSWORD"},
            "mail.from": "alice@example.test", "ca_file": env["POSTIE_TEST_CA"],
            "mail.smtps.connectiontimeout": "5000",
        },
        "mail/Broken": {"host": "localhost", "port": 1, "from": "alice@example.test",
                        "connect_timeout": 5},
        "mail/Selfsigned": {"protocol": "smtps", "host": "localhost",
                            "port": int(env["POSTIE_TEST_SELFSIGNED_PORT"]),
                            "ca_file": env["POSTIE_TEST_CA"], "from": "alice@example.test"},
    },
}
reg_path = os.path.join(work, "registry.json")
with open(reg_path, "w") as f:
    json.dump(registry, f, indent=2)
os.chmod(reg_path, 0o600)


def postie_run(*args, env_extra=None, use_flag=True):
    e = dict(env)
    if env_extra:
        e.update(env_extra)
    argv = [postie] + (["--registry", reg_path] if use_flag else []) + list(args)
    r = subprocess.run(argv, capture_output=True, timeout=120, env=e)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def delivered(user, needle):
    for _ in range(150):
        for path in glob.glob(os.path.join(env["POSTIE_TEST_MAILDIR_ROOT"], user, "new", "*")):
            with open(path, "rb") as f:
                raw = f.read()
            if needle.encode() in raw:
                return email.message_from_bytes(raw, policy=email.policy.default)
        time.sleep(0.1)
    return None


# sessions
rc, out, err = postie_run("sessions")
check(rc == 0 and out.count("\nsession ") + out.startswith("session ") >= 5 and "mail/Notify" in out,
      "sessions lists every entry", out + err)

# session show: resolved values, their origin, secrets masked
rc, out, err = postie_run("session", "show", "java:/comp/env/mail/Notify")
check(rc == 0 and "(host of mail/Base)" in out, "session show names where the host came from", out)
check("********" in out and env["POSTIE_TEST_PASSWORD"] not in out + err,
      "session show masks the password", out)
check("${fullname} (Confluence)" in out and '"[NAS] "' in out, "session show: template and prefix", out)

# send --session: template over the acting user, subject prefix, transport from mail/Base
token = "reg-%d" % os.getpid()
body = os.path.join(work, "body.txt")
with open(body, "w") as f:
    f.write("Disk 3 reports reallocated sectors.\n")
rc, out, err = postie_run("send", "--session", "java:comp/env/mail/Notify", "--as-user", "Joe Bloggs",
                          "--as-email", "joe@example.com", "--to", "bob@example.test",
                          "--subject", "Disk alert " + token, "--body-file", body)
check(rc == 0 and out.startswith("250"), "send --session exits 0 with the final reply", out + err)
msg = delivered("bob", token)
check(msg is not None, "bob got the session's message")
if msg is not None:
    check(str(msg["subject"]) == "[NAS] Disk alert " + token, "subject prefix applied", str(msg["subject"]))
    addr = msg["from"].addresses[0]
    check(addr.display_name == "Joe Bloggs (Confluence)" and addr.addr_spec == "alice@example.test",
          "From is the template over the acting user", str(msg["from"]))
    check(b'From: "Joe Bloggs (Confluence)" <alice@example.test>' in msg.as_bytes(),
          "From header written exactly as documented")

# a prefix without its own trailing space gets one, as Confluence writes it
token3 = "reg3-%d" % os.getpid()
rc, out, err = postie_run("send", "--session", "mail/Confluence", "--to", "bob@example.test",
                          "--subject", "Page edited " + token3, "--body-file", body)
check(rc == 0, "send through the [Confluence] session", out + err)
msg = delivered("bob", token3)
check(msg is not None and str(msg["subject"]) == "[Confluence] Page edited " + token3,
      "subject prefix [Confluence] gets one space", str(msg["subject"]) if msg else "no message")

# a Japanese full name, and a CR/LF in a full name cannot inject a header
token2 = "reg2-%d" % os.getpid()
rc, out, err = postie_run("send", "--session", "mail/Notify", "--as-user", "山田 太郎\r\nBcc: x@example.test",
                          "--to", "bob@example.test", "--subject", token2, "--body-file", body)
check(rc == 0, "send with a Japanese name holding CR/LF", out + err)
msg = delivered("bob", token2)
if msg is not None:
    # Decode with email.header, which follows RFC 2047 6.2 (white space between
    # adjacent encoded words is dropped). policy.default's address parser keeps
    # it and folds double spaces, so it misreads any long encoded name, Python's
    # own output included; it is not used for this check.
    from email.header import decode_header, make_header
    raw = msg.as_bytes().split(b"\r\n\r\n")[0].decode().replace("\r\n", "\n")
    head = raw.replace("\n ", " ").split("\n")
    value = next(h for h in head if h.startswith("From: "))[6:]
    name = str(make_header(decode_header(value.rsplit(" <", 1)[0])))
    check(name == "山田 太郎  Bcc: x@example.test (Confluence)",
          "CR/LF in the full name became spaces", name)
    check(msg["bcc"] is None, "no Bcc header was injected")
else:
    check(False, "bob got the Japanese-name message")

# --session refuses transport options
rc, out, err = postie_run("send", "--session", "mail/Notify", "--host", "evil.example", "--to", "bob@example.test")
check(rc == 2 and "--session defines" in err, "--session with --host is a usage error", err)

# test-email over SMTPS with the JavaMail-spelled session
rc, out, err = postie_run("test-email", "mail/Tomcat", "--to", "carol@example.test")
check(rc == 0 and out.startswith("250"), "test-email prints the server's final reply", out + err)
msg = delivered("carol", "Postie test email")
check(msg is not None and "mail/Tomcat" in msg.get_body().get_content(),
      "test email arrived and names the session")
# (after the check above, which takes carol's first test email)
rc, out, err = postie_run("test-email", "mail/Confluence", "--to", "carol@example.test")
check(rc == 0, "test-email through the [Confluence] session", out + err)
msg = delivered("carol", "[Confluence] Postie test email")
check(msg is not None and str(msg["subject"]) == "[Confluence] Postie test email",
      "test-email subject carries the prefix and one space")

# test-connection: all steps ok
rc, out, err = postie_run("test-connection", "mail/Notify")
check(rc == 0, "test-connection of a working session exits 0", out + err)
# the version this build must negotiate with Postfix (set by CMakeLists.txt:
# TLSv1.3 with mbedTLS 3.6, TLSv1.2 with 2.28)
expect_tls = os.environ.get("POSTIE_EXPECT_TLS", "TLSv1.")
for line in ["DNS    ok", "TCP    ok", "TLS    ok      " + expect_tls, "SMTP   ok", "PIPELINING",
             "login  ok", "result: the session works"]:
    check(line in out, "test-connection reports '%s'" % line, out)
# nothing listening: TCP fails, later steps are reported as skipped
rc, out, err = postie_run("test-connection", "mail/Broken")
check(rc == 4 and "DNS    ok" in out and "TCP    FAILED" in out and "TLS    skipped" in out,
      "test-connection: TCP failure, later steps skipped", out + err)
# self-signed certificate: TLS fails with the precise reason
rc, out, err = postie_run("test-connection", "mail/Selfsigned")
check(rc == 3 and "TCP    ok" in out and "TLS    FAILED" in out and "UNTRUSTED" in out
      and "SMTP   skipped" in out, "test-connection: untrusted certificate", out + err)

# $POSTIE_REGISTRY is used when --registry is not given
rc, out, err = postie_run("sessions", env_extra={"POSTIE_REGISTRY": reg_path}, use_flag=False)
check(rc == 0 and "mail/Tomcat" in out, "$POSTIE_REGISTRY names the registry", out + err)

# a bad registry: every problem with its path, nothing loaded, exit 2
bad = os.path.join(work, "bad.json")
with open(bad, "w") as f:
    json.dump({"sessions": {"mail/A": {"host": "h", "from": "${email}", "port": 0,
                                       "mail.smtp.quitwait": "false"}}}, f)
r = subprocess.run([postie, "--registry", bad, "sessions"], capture_output=True, timeout=30)
err = r.stderr.decode()
check(r.returncode == 2 and 'sessions["mail/A"].from' in err and 'sessions["mail/A"].port' in err
      and "warning" in err and "was not loaded" in err, "bad registry: every problem reported", err)
with open(bad, "w") as f:
    f.write('{"sessions": {\n  "mail/A": {"host": }\n}}')
r = subprocess.run([postie, "--registry", bad, "sessions"], capture_output=True, timeout=30)
check(r.returncode == 2 and "line 2, column" in r.stderr.decode(), "syntax error gives line and column",
      r.stderr.decode())
# what the loader checks beyond the syntax: each problem names its path
for text, path, what in [
        ('{"sessions": {"mail/A": {"host": "h", "from": "a@b.c", "ehlo": "my host"}}}',
         'sessions["mail/A"].ehlo', "an EHLO name with a space"),
        ('{"sessions": {"mail/A": {"host": "", "from": "a@b.c"}}}',
         'sessions["mail/A"].host', "an empty host"),
        ('{"sessions": {"mail/A": {"host": "h", "from": "a@b.c, d@e.f"}}}',
         'sessions["mail/A"].from', "two addresses in from"),
        ('{"sessions": {"mail/A": {"host": "h", "from": "a@b.c", "username": "u",\n'
         ' "password": "secret\\u0000tail"}}}',
         'sessions["mail/A"].password', "a \\u0000 in a password"),
        ('{"sessions": {"mail/A": {"host": "h", "from": "a@b.c"}},\n "sessions": {}}',
         "sessions", "a second sessions key")]:
    with open(bad, "w") as f:
        f.write(text)
    r = subprocess.run([postie, "--registry", bad, "sessions"], capture_output=True, timeout=30)
    err = r.stderr.decode()
    check(r.returncode == 2 and ("error: %s: " % path) in err and "was not loaded" in err,
          "registry refused: %s, naming %s" % (what, path), err)

if failures:
    sys.exit("%d check(s) failed" % len(failures))
print("all checks passed")
