#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""OAuth 2.0 end to end through the CLI against the real Postfix and
Dovecot (with_mailserver.sh: Dovecot's oauth2 passdb asks
oauth_introspect.py, which reads $POSTIE_TEST_OAUTH_TOKENS; Postfix's
OAuth-only SMTPS port authenticates through Dovecot).

The suite's token endpoint (oauth_server.py, scenario "stalefirst") writes
every access token it issues into that token file, except the first one
each process gets from the refresh grant: the mail server refuses that one
as if it had expired. So every command below must log in, be refused, ask
the provider again with refresh, get a new token and log in once more:

  postie oauth authorize   (device grant) for a session and an account
  postie send --session    (SMTPS, XOAUTH2) -> delivered to bob
  postie test-email        (SMTPS, OAUTHBEARER session via jndi) -> delivered
  postie send --queue-only, then postie queue run -> delivered
  postie account test      (IMAPS) -> login ok
  postie fetch             (IMAPS and POP3S) -> alice's mail archived
and each made exactly two refresh-grant requests. No access token, refresh
token or device code reaches any output, --verbose included.

Usage (under with_mailserver.sh): oauth_e2e.py PATH/TO/postie PATH/TO/certs.sh
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from testlib import arrivals, check, check_no_secrets, failures

postie, certs_sh = sys.argv[1], sys.argv[2]
E = os.environ
if "POSTIE_TEST_OAUTH_TOKENS" not in E:
    print("ok - skipped: the test mail server has no OAuth 2.0 (POSTIE_TEST_OAUTH_TOKENS)")
    sys.exit(0)
work = tempfile.mkdtemp(prefix="postie-oauth-e2e-")
certs = os.path.join(work, "certs")
srv = os.path.join(work, "srv")
os.makedirs(srv)
subprocess.run(["bash", certs_sh, certs], check=True, timeout=120)
alice = E["POSTIE_TEST_USER"]
ca = E["POSTIE_TEST_CA"]
server = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(__file__),
                                                            "oauth_server.py"),
                           srv, certs, "280", E["POSTIE_TEST_OAUTH_TOKENS"], alice],
                          stderr=subprocess.DEVNULL)
outputs = []


def wait_port():
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(srv, "port")) as f:
                return int(f.read())
        except (FileNotFoundError, ValueError):
            time.sleep(0.05)
    raise SystemExit("oauth_server.py did not start")


def run(*args, timeout=90):
    r = subprocess.run([postie, "--registry", reg] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=dict(E, POSTIE_SPOOL=spool),
                       input="An OAuth 2.0 test message.\n")
    outputs.append(r.stdout + r.stderr)
    return r


def refresh_grants():
    n = 0
    with open(os.path.join(srv, "requests.jsonl")) as f:
        for line in f:
            if json.loads(line)["grant_type"] == "refresh_token":
                n += 1
    return n


def oauth(mechanism="xoauth2"):
    # the token endpoint's own test CA; the mail server's CA below
    return {"provider": "custom", "client_id": "stalefirst", "mechanism": mechanism,
            "token_endpoint": "https://localhost:%d/token" % port,
            "device_endpoint": "https://localhost:%d/device" % port, "scopes": "mail offline_access"}


try:
    port = wait_port()
    spool = os.path.join(work, "spool")
    os.makedirs(spool)
    reg = os.path.join(work, "registry.json")
    archive = os.path.join(work, "archive")
    # one CA file for both: the mail server's test CA and the token endpoint's
    both = os.path.join(work, "ca-both.pem")
    with open(both, "w") as out:
        for p in (ca, os.path.join(certs, "ca.pem")):
            with open(p) as f:
                out.write(f.read())
    common = {"host": "localhost", "auth": "oauth2", "username": alice, "ca_file": both}
    registry = {
        "sessions": {
            "mail/OAuth": dict(common, protocol="smtps", port=int(E["POSTIE_TEST_OAUTH_SMTPS_PORT"]),
                               **{"from": alice, "oauth2": oauth()}),
            "mail/Bearer": {"jndi": "mail/OAuth", "from": alice, "auth": "oauth2",
                            "username": alice, "oauth2": dict(oauth("oauthbearer"),
                                                             token_store=os.path.join(
                                                                 work, "oauth-session-mail_OAuth.json"))},
        },
        "accounts": {
            "imap": dict(common, protocol="imaps", port=int(E["POSTIE_TEST_IMAPS_PORT"]),
                         maildir=os.path.join(archive, "imap"), oauth2=oauth()),
            "pop": dict(common, protocol="pop3s", port=int(E["POSTIE_TEST_POP3S_PORT"]),
                        maildir=os.path.join(archive, "pop"), keep_on_server=True,
                        oauth2=dict(oauth("oauthbearer"),
                                    token_store=os.path.join(work, "oauth-account-imap.json"))),
        },
    }
    with open(reg, "w") as f:
        json.dump(registry, f, indent=1)
    os.chmod(reg, 0o600)

    r = run("oauth", "authorize", "mail/OAuth")
    check(r.returncode == 0, "authorize the session", r.stdout + r.stderr)
    r = run("oauth", "authorize", "imap", "--account")
    check(r.returncode == 0, "authorize the account", r.stdout + r.stderr)

    # ---- sending ------------------------------------------------------------------------
    before = refresh_grants()
    r = run("send", "--session", "mail/OAuth", "--to", "bob@example.test", "--subject",
            "oauth-send-1", "--body-file", "-", "--verbose", timeout=90)
    check(r.returncode == 0, "send through an OAuth 2.0 session (XOAUTH2): exit 0",
          r.stdout + r.stderr)
    check(refresh_grants() - before == 2,
          "send: the stale token was refused, one refresh, then delivered (2 refresh grants)",
          refresh_grants() - before)
    check(arrivals("oauth-send-1") == 1, "send: delivered to bob")
    check("AUTH XOAUTH2" in r.stderr, "send --verbose: the XOAUTH2 login shown", r.stderr[-3000:])
    check(r.stderr.count("(refresh token grant): HTTP 200") == 2,
          "send --verbose: both token requests shown", r.stderr[-3000:])

    before = refresh_grants()
    r = run("test-email", "mail/Bearer", "--to", "bob@example.test")
    check(r.returncode == 0, "test-email through a jndi session with its own OAUTHBEARER login",
          r.stdout + r.stderr)
    check(refresh_grants() - before == 2, "test-email: refused once, refreshed, delivered",
          refresh_grants() - before)

    before = refresh_grants()
    r = run("send", "--queue-only", "--session", "mail/OAuth", "--to", "bob@example.test",
            "--subject", "oauth-queued-1", "--body-file", "-")
    check(r.returncode == 0, "send --queue-only: queued", r.stdout + r.stderr)
    r = run("queue", "run")
    check(r.returncode == 0, "queue run: delivered the queued message", r.stdout + r.stderr)
    check(arrivals("oauth-queued-1") == 1, "queue run: arrived at bob's")
    check(refresh_grants() - before == 2, "queue run: refused once, refreshed, delivered",
          refresh_grants() - before)

    # ---- fetching -----------------------------------------------------------------------
    r = run("send", "--session", "mail/OAuth", "--to", alice, "--subject", "oauth-for-alice",
            "--body-file", "-")
    check(r.returncode == 0, "a message for alice", r.stdout + r.stderr)
    alice_new = os.path.join(E["POSTIE_TEST_MAILDIR_ROOT"], alice.split("@")[0], "new")
    check(arrivals("oauth-for-alice", maildir=alice_new) == 1, "it arrived in alice's INBOX")
    before = refresh_grants()
    r = run("account", "test", "imap")
    check(r.returncode == 0 and "oauth2" in r.stdout, "account test (IMAPS, XOAUTH2): works",
          r.stdout + r.stderr)
    check(refresh_grants() - before == 2, "account test: refused once, refreshed, logged in",
          refresh_grants() - before)
    before = refresh_grants()
    r = run("fetch", "pop", "--verbose")
    check(r.returncode == 0, "fetch over POP3S with OAUTHBEARER: exit 0", r.stdout + r.stderr)
    check(refresh_grants() - before == 2, "fetch pop: refused once, refreshed, fetched",
          refresh_grants() - before)
    check(len(glob.glob(os.path.join(archive, "pop", "new", "*"))) >= 1,
          "fetch pop: archived alice's mail")
    before = refresh_grants()
    r = run("fetch", "imap")
    check(r.returncode == 0, "fetch over IMAPS with XOAUTH2: exit 0", r.stdout + r.stderr)
    check(refresh_grants() - before == 2, "fetch imap: refused once, refreshed, fetched",
          refresh_grants() - before)
    check(len(glob.glob(os.path.join(archive, "imap", "new", "*"))) >= 1,
          "fetch imap: archived alice's mail")

    # postie poll: every enabled account once; one provider per account
    r = run("send", "--session", "mail/OAuth", "--to", alice, "--subject", "oauth-for-poll",
            "--body-file", "-")
    check(arrivals("oauth-for-poll", maildir=alice_new) == 1, "a message for the poll")
    before = refresh_grants()
    r = run("poll", "--once", "--no-syslog", "--verbose", timeout=120)
    check(r.returncode == 0, "poll --once over both OAuth 2.0 accounts: exit 0",
          r.stdout + r.stderr)
    check(refresh_grants() - before == 4, "poll: each account refused once, refreshed (4 grants)",
          refresh_grants() - before)

    # ---- no token anywhere ------------------------------------------------------------------
    check_no_secrets(outputs, os.path.join(srv, "issued.jsonl"),
                     "no token, refresh token or device code in any output")
finally:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("kept " + work)

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
