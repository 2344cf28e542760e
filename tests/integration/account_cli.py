#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Mail accounts through the CLI against the private Dovecot (run through
with_mailserver.sh):

  account add|edit|delete|enable|disable: the registry file rewritten
    atomically, its mode kept, an edit that would not load refused with the
    file unchanged byte for byte, JavaMail keys replaced, secrets never
    printed (--password-stdin's value appears in no output);
  accounts / account show: the listing, secrets masked;
  account test: a working POP3+STLS and IMAPS account (every step ok), a
    wrong password (login FAILED, the mailbox step skipped, exit 3),
    nothing listening (TCP FAILED, exit 4);
  fetch NAME: into the account's Maildir, keep mode from the registry;
  poll: two accounts on a 1 s interval; new mail is archived; SIGHUP with
    a new account added (it gets polled) and with a broken registry (kept
    as it was, polling goes on); SIGTERM while a large mailbox is being
    fetched: exit 0 within seconds, each message archived at most once and
    every message either archived or still on the server; --once.

Usage: account_cli.py PATH/TO/postie
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailbox_lib as ml  # noqa: E402
from testlib import check, failures  # noqa: E402

postie = sys.argv[1]
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-accounts-")
reg = os.path.join(work, "registry.json")
env["POSTIE_REGISTRY"] = reg
PASSWORD = env["POSTIE_TEST_PASSWORD"]
CA = env["POSTIE_TEST_CA"]


def run(args, stdin=None, timeout=120):
    p = subprocess.run([postie] + args, capture_output=True, timeout=timeout, env=env,
                       input=stdin)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def load():
    with open(reg) as f:
        return json.load(f)


def digests(msgs):
    return sorted(hashlib.sha256(m).hexdigest() for m in msgs)


for u in ("alice", "bob", "carol"):
    ml.clear(u)

# ---- add / show / list ------------------------------------------------------------------

md_pop = os.path.join(work, "pop")
rc, out, err = run(["account", "add", "Support", "--protocol", "pop3", "--host", "localhost",
                    "--port", env["POSTIE_TEST_POP3_PORT"], "--user", "alice@example.test",
                    "--password-env", "POSTIE_TEST_PASSWORD", "--ca-file", CA,
                    "--maildir", md_pop, "--poll-interval", "1"])
check(rc == 0 and "Support" in out, "account add (new file)", (rc, out, err))
check(os.stat(reg).st_mode & 0o777 == 0o600, "a new registry file is mode 600",
      oct(os.stat(reg).st_mode))
md_imap = os.path.join(work, "imap")
rc, out, err = run(["account", "add", "java:comp/env/mail/Archive", "--protocol", "imaps",
                    "--host", "localhost", "--port", env["POSTIE_TEST_IMAPS_PORT"],
                    "--user", "carol@example.test", "--password-stdin", "--ca-file", CA,
                    "--maildir", md_imap, "--keep", "--poll-interval", "1"],
                   stdin=(PASSWORD + "\n").encode())
check(rc == 0, "account add with --password-stdin", (rc, out, err))
check(PASSWORD not in out + err, "account add never prints the password")
os.chmod(reg, 0o640)
entry = load()["accounts"]["java:comp/env/mail/Archive"]
check(entry.get("password") == PASSWORD and entry.get("delete_after_archive") is False,
      "the registry holds the inline password and keep mode", entry.keys())

rc, out, err = run(["accounts"])
check(rc == 0 and "Support" in out and "mail/Archive" in out and "keep" in out,
      "accounts lists both", (rc, out, err))
rc, out, err = run(["account", "show", "mail/Archive"])
check(rc == 0 and PASSWORD not in out + err and "********" in out and "imaps" in out,
      "account show masks the secret", (rc, out, err))
check("state_file" in out and ".postie-fetch-state" in out, "account show names the state file",
      out)

before = open(reg, "rb").read()
rc, out, err = run(["account", "edit", "Support", "--tls", "none"])
check(rc == 2 and 'accounts["Support"].tls' in err, "an edit that would not load is refused, "
      "naming the JSON path", (rc, out, err))
check(open(reg, "rb").read() == before, "... and the file is unchanged byte for byte")
check(not [f for f in os.listdir(work) if ".tmp." in f], "... and no temporary file is left")
rc, out, err = run(["account", "edit", "Support", "--port", "0"])
check(rc == 2 and open(reg, "rb").read() == before, "a bad --port is refused")

# JavaMail keys are replaced by the edit
data = load()
data["accounts"]["Legacy"] = {"mail.store.protocol": "pop3", "mail.pop3.host": "nowhere.invalid",
                              "mail.pop3.port": "1", "mail.pop3.user": "x",
                              "mail.pop3.password": {"env": "NOPE"}, "enabled": False}
with open(reg, "w") as f:
    json.dump(data, f)
os.chmod(reg, 0o640)
rc, out, err = run(["account", "edit", "Legacy", "--host", "localhost", "--port", "2"])
e = load()["accounts"]["Legacy"]
check(rc == 0 and e.get("host") == "localhost" and "mail.pop3.host" not in e
      and e.get("port") == 2 and "mail.pop3.port" not in e,
      "edit replaces JavaMail keys with Postie's", (rc, err, e))
check(os.stat(reg).st_mode & 0o777 == 0o640, "edit keeps the file's mode",
      oct(os.stat(reg).st_mode))
rc, out, err = run(["account", "enable", "Legacy"])
check(rc == 0 and load()["accounts"]["Legacy"]["enabled"] is True, "enable")
rc, out, err = run(["account", "disable", "Legacy"])
check(rc == 0 and load()["accounts"]["Legacy"]["enabled"] is False, "disable")
rc, out, err = run(["account", "edit", "Legacy", "--unset", "port"])
check(rc == 0 and "port" not in load()["accounts"]["Legacy"], "edit --unset port")
rc, out, err = run(["account", "delete", "Legacy"])
check(rc == 0 and "Legacy" not in load()["accounts"], "delete")
rc, out, err = run(["account", "delete", "Legacy"])
check(rc == 2 and "no account" in err, "delete of a missing account: exit 2", (rc, err))
rc, out, err = run(["account", "add", "Support", "--protocol", "pop3", "--host", "x",
                    "--user", "u", "--password-env", "X"])
check(rc == 2 and "already exists" in err, "add of an existing name: exit 2", (rc, err))
rc, out, err = run(["account", "add", "X", "--protocol", "pop3", "--host", "x", "--user", "u",
                    "--password", "secret"])
check(rc == 2 and "command line" in err, "--password is refused", (rc, err))
rc, out, err = run(["account", "add", "--help"])
check(rc == 0 and "--maildir" in out, "account add --help", out)

# ---- account test ---------------------------------------------------------------------

ml.seed("alice", [ml.make_message(i, 800, "test") for i in range(3)])
rc, out, err = run(["account", "test", "Support"])
check(rc == 0 and "result: the account works" in out and "3 messages" in out
      and "TLSv1." in out, "account test: POP3+STLS works, every step", (rc, out, err))
rc, out, err = run(["account", "test", "mail/Archive"])
check(rc == 0 and "result: the account works" in out and "INBOX" in out,
      "account test: IMAPS works", (rc, out, err))
check(len(ml.server_messages("alice")) == 3, "account test changes nothing")
rc, out, err = run(["account", "add", "Wrong", "--protocol", "pop3s", "--host", "localhost",
                    "--port", env["POSTIE_TEST_POP3S_PORT"], "--user", "alice@example.test",
                    "--password-env", "WRONG_PW", "--ca-file", CA])
env["WRONG_PW"] = "not-the-password"
rc, out, err = run(["account", "test", "Wrong"])
lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
check(rc == 3 and "FAILED" in lines.get("login", "") and "skipped" in lines.get("mailbox", ""),
      "account test, wrong password: login FAILED, the rest skipped, exit 3", (rc, out, err))
rc, out, err = run(["account", "edit", "Wrong", "--port", "1"])
rc, out, err = run(["account", "test", "Wrong"])
lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
check(rc == 4 and "FAILED" in lines.get("TCP", "") and "skipped" in lines.get("login", ""),
      "account test, nothing listening: TCP FAILED, exit 4", (rc, out, err))
run(["account", "delete", "Wrong"])

# ---- fetch NAME -------------------------------------------------------------------------

rc, out, err = run(["fetch", "Support"])
check(rc == 0 and len(ml.maildir_messages(md_pop)) == 3 and ml.server_messages("alice") == [],
      "fetch Support: archived and deleted", (rc, out, err))
check("3 archived" in out, "fetch prints a summary", out)
ml.seed("carol", [ml.make_message(i, 800, "keep") for i in range(2)])
rc, out, err = run(["fetch", "mail/Archive"])
check(rc == 0 and len(ml.maildir_messages(md_imap)) == 2 and len(ml.server_messages("carol")) == 2,
      "fetch of a keep account: archived, kept on the server", (rc, out, err))
rc, out, err = run(["fetch", "Nope"])
check(rc == 2 and "no account" in err, "fetch of an unknown account: exit 2", (rc, err))

# ---- poll ---------------------------------------------------------------------------------

log = open(os.path.join(work, "poll.log"), "w+")
syslog_file = os.path.join(work, "poll-syslog.log")
poll = subprocess.Popen([postie, "poll", "--jitter", "0"], stdout=log, stderr=subprocess.STDOUT,
                        env=dict(env, POSTIE_LOG_FILE=syslog_file))


def wait_for(cond, secs=20):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def poll_log():
    log.flush()
    with open(log.name) as f:
        return f.read()


ml.seed("alice", [ml.make_message(i, 800, "poll") for i in range(4)])
check(wait_for(lambda: len(ml.maildir_messages(md_pop)) == 7 and not ml.server_messages("alice")),
      "poll: new mail archived within the interval", poll_log())
ml.seed("carol", [ml.make_message(9, 800, "poll")])
check(wait_for(lambda: len(ml.maildir_messages(md_imap)) == 3),
      "poll: the keep account too, nothing twice", poll_log())


def syslog_text():
    try:
        with open(syslog_file) as f:
            return f.read()
    except FileNotFoundError:
        return ""


# syslog by default (issue #17): one line per account run, counts, no secret
check(wait_for(lambda: re.search(r"postie-poll.*fetch account=\S+ messages=[1-9]\d* octets=\d+ "
                                 r"deleted=\d+ outcome=ok", syslog_text()) is not None),
      "poll: one syslog line per account run (account, messages, octets, deleted, outcome)",
      syslog_text())
check(PASSWORD not in syslog_text() and "password" not in syslog_text().lower(),
      "poll: no secret in the syslog lines", syslog_text())

md_bob = os.path.join(work, "bob")
rc, out, err = run(["account", "add", "Bob", "--protocol", "imap", "--host", "localhost",
                    "--port", env["POSTIE_TEST_IMAP_PORT"], "--user", "bob@example.test",
                    "--password-env", "POSTIE_TEST_PASSWORD", "--ca-file", CA,
                    "--maildir", md_bob, "--poll-interval", "1"])
ml.seed("bob", [ml.make_message(i, 800, "bob") for i in range(2)])
time.sleep(1.5)
check(not os.path.exists(md_bob) or not ml.maildir_messages(md_bob),
      "poll: a new account is not polled before SIGHUP")
poll.send_signal(signal.SIGHUP)
check(wait_for(lambda: os.path.exists(md_bob) and len(ml.maildir_messages(md_bob)) == 2),
      "poll: SIGHUP reloads: the new account is polled", poll_log())

good = open(reg, "rb").read()
with open(reg, "w") as f:
    f.write('{"accounts": {"Broken": {"protocol": "smtp"}}}')
poll.send_signal(signal.SIGHUP)
check(wait_for(lambda: "kept the registry as it was" in poll_log()),
      "poll: a broken registry on SIGHUP is reported and the old one kept", poll_log())
ml.seed("alice", [ml.make_message(50, 800, "after-broken")])
check(wait_for(lambda: len(ml.maildir_messages(md_pop)) == 8),
      "poll: polling goes on with the old registry", poll_log())
with open(reg, "wb") as f:
    f.write(good)

# SIGTERM in the middle of a large mailbox
# (large enough that a batch-at-a-time fetch is still running when the
# first batch lands: SIGTERM goes as soon as it does)
TERM_COUNT = 1500
big = [ml.make_message(i, 20000, "term") for i in range(TERM_COUNT)]
have = len(ml.maildir_messages(md_pop))


def archived_count(md):
    """Names in new/ and cur/: cheap to ask every 10 ms (reading every
    message each time was slow enough, with the machine loaded, for the
    whole mailbox to land before the signal went)."""
    return sum(len(os.listdir(os.path.join(md, sub))) for sub in ("new", "cur"))


ml.seed("alice", big)
end = time.monotonic() + 30
while archived_count(md_pop) <= have and time.monotonic() < end:
    time.sleep(0.01)
check(archived_count(md_pop) > have, "poll: the large mailbox is being fetched")
t0 = time.monotonic()
poll.send_signal(signal.SIGTERM)
try:
    rc = poll.wait(timeout=20)
except subprocess.TimeoutExpired:
    poll.kill()
    rc = None
dt = time.monotonic() - t0
check(rc == 0 and dt < 10, "poll: SIGTERM: exit 0 within seconds (%.2f s)" % dt, (rc, poll_log()))
archived = [m for m in ml.maildir_messages(md_pop) if b"Subject: term " in m]
on_server = ml.server_messages("alice")
check(len(archived) + len(on_server) >= TERM_COUNT and len(archived) < TERM_COUNT
      and digests(archived) == sorted(set(digests(archived))),
      "poll: SIGTERM stopped the run early, each message archived once or still on the server",
      (len(archived), len(on_server)))
check("stopped" in poll_log(), "poll says it stopped", poll_log()[-500:])

rc, out, err = run(["poll", "--once"], timeout=300)
check(rc == 0 and len([m for m in ml.maildir_messages(md_pop) if b"Subject: term " in m]) == TERM_COUNT
      and ml.server_messages("alice") == [],
      "poll --once: finishes the rest, every message exactly once", (rc, out, err))

if failures:
    print("%d FAILED: %s" % (len(failures), "; ".join(failures)))
    sys.exit(1)
print("all passed")
