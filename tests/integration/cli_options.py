#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""How the postie CLI reads its command line, against the private Postfix
(run through with_mailserver.sh):

  - --version prints "postie X.Y.Z", the CMake project version
  - postie --help lists every command; each command's --help exits 0 and
    names every one of its options
  - an unknown option is named with its command (exit 2); so are a
    missing value and an unexpected argument
  - options anywhere after the command: send with --session, --registry
    and the server options after the envelope; queue flush --spool DIR and
    queue --spool DIR flush (and list, resend) read the same spool; compose
    gives the same message whatever the order; "--" ends the options

Usage: cli_options.py PATH/TO/postie VERSION
"""
import json
import os
import subprocess
import sys
import tempfile
from testlib import arrivals, check, failures, queued_id

postie = sys.argv[1]
version = sys.argv[2]
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-options-")
# the default spool of this run: a --spool DIR elsewhere must be the one used
env["POSTIE_SPOOL"] = os.path.join(work, "default-spool")
env.pop("POSTIE_REGISTRY", None)

registry = {"sessions": {
    "mail/Notify": {
        "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
        "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
        "password": {"env": "POSTIE_TEST_PASSWORD"}, "from": "alice@example.test",
        "timeout": 20},
}}
reg = os.path.join(work, "registry.json")
with open(reg, "w") as f:
    json.dump(registry, f)
os.chmod(reg, 0o600)
body = os.path.join(work, "body.txt")
with open(body, "w") as f:
    f.write("The UPS switched to battery.\n")


def run(*args, timeout=120):
    r = subprocess.run([postie] + list(args), capture_output=True, timeout=timeout, env=env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def tok(n):
    return "options-%d-%s" % (os.getpid(), n)


# ---- --version and --help ------------------------------------------------------
rc, out, err = run("--version")
check(rc == 0 and out == "postie %s\n" % version and err == "",
      "postie --version prints 'postie %s' (the CMake project version)" % version, (rc, out, err))
rc, out, err = run("queue", "--version")
check(rc == 0 and out == "postie %s\n" % version, "--version after a command", (rc, out, err))

COMMANDS = ["send", "compose", "sessions", "session show", "test-email", "test-connection",
            "queue", "accounts", "account", "fetch", "poll"]
rc, out, err = run("--help")
check(rc == 0 and all(c in out for c in COMMANDS) and "--version" in out,
      "postie --help lists every command", out + err)
rc, out, err = run()
check(rc == 2 and out == "" and all(c in err for c in COMMANDS),
      "postie alone: the overview on stderr, exit 2", (rc, out, err))

SERVER = ["--host", "--port", "--connect-to", "--tls", "--ca-file", "--timeout", "--ehlo",
          "--user", "--password-env", "--password-file", "--allow-plaintext-auth",
          "--no-pipelining", "--no-chunking", "--dsn-notify", "--dsn-ret", "--envid",
          "--verbose", "--message"]
COMPOSE = ["--subject", "--from-name", "--body-file", "--html-file", "--attach", "--cc", "--bcc",
           "--reply-to", "--header", "--utf8-headers"]
HELP = {
    "send": SERVER + ["--from", "--to"] + COMPOSE + ["--session", "--as-user", "--as-email",
                                                     "--queue", "--queue-only", "--spool",
                                                     "--registry"],
    "compose": ["--from", "--to"] + COMPOSE + ["--8bit", "--output"],
    "sessions": ["--registry"],
    "session": ["show", "--registry"],
    "test-email": ["--to", "--registry"],
    "test-connection": ["--registry"],
    "queue": ["list", "errors", "flush", "--session", "run", "--every", "resend", "--all",
              "delete", "--spool", "--registry"],
    "accounts": ["--registry"],
    "account": ["show", "test", "add", "edit", "delete", "enable", "disable", "--registry"],
    "fetch": ["--protocol", "--host", "--connect-to", "--port", "--tls", "--ca-file", "--timeout",
              "--user", "--password-env", "--password-file", "--folder", "--apop",
              "--allow-plaintext-auth", "--verbose", "--list", "--message", "--out", "--maildir",
              "--keep", "--state-file", "--registry"],
    "poll": ["--once", "--jitter", "--verbose", "--registry"],
}
ACCOUNT_HELP = {
    "show": ["--registry"],
    "test": ["--verbose", "--registry"],
    "add": ["--protocol", "--host", "--port", "--user", "--password-env", "--password-file",
            "--password-stdin", "--tls", "--ca-file", "--verify", "--allow-plaintext-auth",
            "--apop", "--folder", "--poll-interval", "--enabled", "--delete-after-archive",
            "--keep", "--maildir", "--state-file", "--timeout", "--description", "--registry"],
    "edit": ["--unset", "--maildir", "--registry"],
    "delete": ["--registry"],
    "enable": ["--registry"],
    "disable": ["--registry"],
}
for cmd, options in HELP.items():
    for flag in ("--help", "-h"):
        rc, out, err = run(cmd, flag)
        missing = [o for o in options if o not in out]
        check(rc == 0 and out.startswith("usage: postie " + cmd) and not missing and err == "",
              "postie %s %s: exit 0, its usage, every option named" % (cmd, flag),
              (rc, missing, out, err))
for sub, options in ACCOUNT_HELP.items():
    rc, out, err = run("account", sub, "--help")
    missing = [o for o in options if o not in out]
    want = "usage: postie account " + ("enable|disable" if sub in ("enable", "disable") else sub)
    check(rc == 0 and out.startswith(want) and not missing,
          "postie account %s --help: its own usage, every option named" % sub,
          (rc, missing, out, err))
rc, out, err = run("account", "show", "X", "--host", "h")
check(rc == 2 and "postie: account show: unknown option --host" in err,
      "an edit option is unknown to account show", err)
rc, out, err = run("fetch", "X", "--list")
check(rc == 2 and "fetch NAME takes --keep and --verbose only" in err,
      "fetch NAME refuses the server options", err)
rc, out, err = run("fetch", "--protocol", "pop3", "--host", "h", "--user", "u",
                   "--password-env", "P", "--list", "--maildir", "d")
check(rc == 2 and "one of --list" in err, "fetch: two actions are refused", err)
rc, out, err = run("queue", "flush", "--help")
check(rc == 0 and out.startswith("usage: postie queue"), "queue flush --help: the queue's usage",
      (rc, out, err))
rc, out, err = run("send", "--to", "bob@example.test", "--help")
check(rc == 0 and out.startswith("usage: postie send"), "--help after other options",
      (rc, out, err))

# ---- errors name the command and the argument ----------------------------------
for cmd in HELP:
    rc, out, err = run(cmd, "--frob")
    check(rc == 2 and err.startswith("postie: %s: unknown option --frob" % cmd)
          and "Try 'postie %s --help'." % cmd in err,
          "postie %s --frob: exit 2, the option named" % cmd, (rc, err))
rc, out, err = run("send", "--to", "bob@example.test", "--frob", "--subject", "x")
check(rc == 2 and "postie: send: unknown option --frob" in err,
      "an unknown option among good ones is named", err)
rc, out, err = run("--frob", "send")
check(rc == 2 and err.startswith("postie: unknown option --frob\n"),
      "an unknown option before the command is named", err)
rc, out, err = run("frob")
check(rc == 2 and "postie: unknown command: frob" in err, "an unknown command is named", err)
rc, out, err = run("compose", "--host", "localhost")
check(rc == 2 and "postie: compose: unknown option --host" in err,
      "a send option is unknown to compose", err)
rc, out, err = run("queue", "list", "--every", "5")
check(rc == 2 and "postie: queue list: unknown option --every" in err,
      "an option of another queue command is named", err)
rc, out, err = run("send", "--from", "alice@example.test", "--to")
check(rc == 2 and "postie: send: --to needs a value" in err, "a missing value is named", err)
rc, out, err = run("send", "stray", "--to", "bob@example.test")
check(rc == 2 and "postie: send: unexpected argument 'stray'" in err,
      "an unexpected argument is named", err)
rc, out, err = run("queue", "--frob", "flush")
check(rc == 2 and "postie: queue: unknown option --frob" in err,
      "queue: an unknown option before the subcommand is named", err)

# ---- send: options in any order, --registry after the command -------------------
t = tok("session-last")
rc, out, err = run("send", "--to", "bob@example.test", "--subject", t, "--body-file", body,
                   "--session", "mail/Notify", "--registry", reg)
check(rc == 0 and arrivals(t) == 1, "send --to ... --session NAME --registry FILE delivers",
      (rc, out, err))
t = tok("registry-first")
rc, out, err = run("--registry", reg, "send", "--body-file", body, "--session", "mail/Notify",
                   "--subject", t, "--to", "bob@example.test")
check(rc == 0 and arrivals(t) == 1, "--registry before the command, options shuffled",
      (rc, out, err))
t = tok("raw")
raw = os.path.join(work, "raw.eml")
with open(raw, "w") as f:
    f.write("From: alice@example.test\nTo: bob@example.test\nSubject: %s\n\nhello\n" % t)
env["OPTIONS_PW"] = env["POSTIE_TEST_PASSWORD"]
rc, out, err = run("send", "--message", raw, "--to", "bob@example.test", "--from",
                   "alice@example.test", "--password-env", "OPTIONS_PW", "--ca-file",
                   env["POSTIE_TEST_CA"], "--user", env["POSTIE_TEST_USER"], "--port",
                   env["POSTIE_TEST_SMTP_PORT"], "--connect-to", "127.0.0.1", "--host",
                   "localhost")
check(rc == 0 and arrivals(t) == 1, "send: the server options after the envelope",
      (rc, out, err))

# ---- queue: --spool before or after the subcommand ----------------------------
spool = os.path.join(work, "spool")
t = tok("queued-1")
rc, out, err = run("send", "--queue-only", "--to", "bob@example.test", "--subject", t,
                   "--spool", spool, "--body-file", body, "--session", "mail/Notify",
                   "--registry", reg)
qid = queued_id(out)
check(rc == 0 and qid is not None, "send --queue-only with --spool last queues", (rc, out, err))
for args in (["queue", "list", "--spool", spool], ["queue", "--spool", spool, "list"],
             ["queue", "list", "--registry", reg, "--spool", spool]):
    rc, out, err = run(*args)
    check(rc == 0 and qid is not None and qid in out,
          " ".join(args) + ": lists the message in --spool DIR", (rc, out, err))
rc, out, err = run("queue", "list")
check(rc == 0 and "the queue is empty" in out, "without --spool, the default spool (empty)",
      (rc, out, err))
rc, out, err = run("queue", "flush", "--spool", spool, "--registry", reg)
check(rc == 0 and "1 delivered" in out and arrivals(t) == 1,
      "queue flush --spool DIR: flushes that spool", (rc, out, err))

t = tok("queued-2")
rc, out, err = run("--registry", reg, "send", "--spool", spool, "--session", "mail/Notify",
                   "--queue-only", "--subject", t, "--to", "bob@example.test", "--body-file", body)
check(rc == 0 and queued_id(out) is not None, "send --spool DIR first, then --queue-only",
      (rc, out, err))
rc, out, err = run("queue", "--spool", spool, "flush", "--session", "mail/Notify",
                   "--registry", reg)
check(rc == 0 and "1 delivered" in out and arrivals(t) == 1,
      "queue --spool DIR flush --session NAME: flushes that spool", (rc, out, err))
for args in (["queue", "resend", "--all", "--spool", spool],
             ["queue", "--all", "--spool", spool, "resend"]):
    rc, out, err = run(*args)
    check(rc == 0 and "0 messages back in the queue" in out,
          " ".join(args) + ": options around the subcommand", (rc, out, err))

# ---- compose: the same message whatever the order ------------------------------
def stable(text):
    """The message without the lines that differ from run to run."""
    return [l for l in text.splitlines() if not l.startswith(("Date:", "Message-ID:"))]


rc1, out1, err1 = run("compose", "--from", "alice@example.test", "--to", "bob@example.test",
                      "--subject", "Order", "--body-file", body, "--cc", "carol@example.test")
rc2, out2, err2 = run("compose", "--cc", "carol@example.test", "--body-file", body,
                      "--subject", "Order", "--to", "bob@example.test", "--from",
                      "alice@example.test")
check(rc1 == 0 and rc2 == 0 and stable(out1) == stable(out2) and "Subject: Order" in out1,
      "compose: the same message whatever the order of its options", (out1, out2, err1, err2))

# ---- "--" ends the options; "-" is an operand ----------------------------------
rc, out, err = run("session", "--registry", reg, "show", "--", "mail/Notify")
check(rc == 0 and "session mail/Notify" in out, "'--' ends the options", (rc, out, err))
rc, out, err = run("send", "--to", "bob@example.test", "--", "--frob")
check(rc == 2 and "unexpected argument '--frob'" in err, "after '--', an option is an operand",
      err)

print("%d failures" % len(failures))
sys.exit(1 if failures else 0)
