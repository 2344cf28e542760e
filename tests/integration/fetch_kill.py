#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Crash safety of `postie fetch --maildir`: SIGKILL at random points
during a fetch, many times, against the private Dovecot (run through
with_mailserver.sh).

Each round seeds a few new messages (written into Dovecot's Maildir
directly), starts `postie fetch --maildir DIR` and kills it with SIGKILL
after a random delay between 0 and a little more than a whole fetch takes
(measured first), so kills land everywhere: before the login, while a
message streams into tmp/, between the commit and the state save, between
the state save and the delete, during QUIT/EXPUNGE. Rounds alternate
between POP3 (user alice) and IMAP (user carol; separate mailboxes and
archives, as two accounts would be).

After every kill, for every message ever seeded for that mailbox:
  - it is in the archive at most once, and
  - it is on the server or in the archive (nothing lost).
At the end one unharmed run per mailbox, after which every message is in
the archive exactly once and the server is empty.

Usage: fetch_kill.py PATH/TO/postie [KILLS]   (default 100; the README's
larger run: POSTIE_TEST_TIMEOUT=3600 with_mailserver.sh fetch_kill.py postie 2000)
"""
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailbox_lib as ml  # noqa: E402
from testlib import check, failures  # noqa: E402

postie = sys.argv[1]
kills_wanted = int(sys.argv[2]) if len(sys.argv) > 2 else 100
PER_ROUND = 6
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-fetchkill-")
seed_value = int(env.get("POSTIE_KILL_SEED", str(int(time.time()))))
rng = random.Random(seed_value)
print("# seed %d (POSTIE_KILL_SEED to repeat)" % seed_value)

BOXES = {
    "pop3": {"user": "alice", "port": env["POSTIE_TEST_POP3_PORT"], "tls": "starttls"},
    "imap": {"user": "carol", "port": env["POSTIE_TEST_IMAP_PORT"], "tls": "starttls"},
}
for proto, b in BOXES.items():
    b["maildir"] = os.path.join(work, "archive-" + proto)
    b["seeded"] = {}  # sha256 -> message
    b["counter"] = 0
    ml.clear(b["user"])


def args(proto):
    b = BOXES[proto]
    return [postie, "fetch", "--protocol", proto, "--host", "localhost", "--port", b["port"],
            "--tls", b["tls"], "--ca-file", env["POSTIE_TEST_CA"],
            "--user", b["user"] + "@example.test", "--password-env", "POSTIE_TEST_PASSWORD",
            "--timeout", "20", "--maildir", b["maildir"]]


def seed(proto, n):
    b = BOXES[proto]
    msgs = []
    for _ in range(n):
        b["counter"] += 1
        # sizes vary so kills land inside messages of several sizes
        m = ml.make_message(b["counter"], rng.choice((300, 2000, 30000, 200000)), "kill-" + proto)
        b["seeded"][hashlib.sha256(m).hexdigest()] = m
        msgs.append(m)
    ml.seed(b["user"], msgs)


def digests(msgs):
    out = {}
    for m in msgs:
        d = hashlib.sha256(m).hexdigest()
        out[d] = out.get(d, 0) + 1
    return out


def verify(proto, final=False):
    b = BOXES[proto]
    archived = digests(ml.maildir_messages(b["maildir"]))
    on_server = digests(ml.server_messages(b["user"]))
    twice = [d for d, n in archived.items() if n > 1]
    lost = [d for d in b["seeded"] if d not in archived and d not in on_server]
    alien = [d for d in archived if d not in b["seeded"]]
    ok = not twice and not lost and not alien
    if final:
        ok = ok and not on_server and len(archived) == len(b["seeded"])
    return ok, (len(twice), len(lost), len(alien), len(archived), len(on_server))


# how long an undisturbed fetch of a round takes
timing = {}
for proto in BOXES:
    seed(proto, PER_ROUND)
    t0 = time.monotonic()
    p = subprocess.run(args(proto), capture_output=True, env=env, timeout=120)
    timing[proto] = time.monotonic() - t0
    check(p.returncode == 0, "%s: an undisturbed fetch works" % proto, p.stderr.decode())
    print("# %s: a round's fetch takes %.0f ms" % (proto, timing[proto] * 1000))

kills = 0
rounds = 0
killed_at = {"early": 0, "middle": 0, "late": 0, "after exit": 0}
bad = 0
deadline = time.monotonic() + float(env.get("POSTIE_TEST_TIMEOUT", "900")) * 0.8
while kills < kills_wanted and time.monotonic() < deadline:
    proto = "pop3" if rounds % 2 == 0 else "imap"
    rounds += 1
    seed(proto, PER_ROUND)
    span = timing[proto] * 1.2
    delay = rng.uniform(0, span)
    p = subprocess.Popen(args(proto), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env)
    time.sleep(delay)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        kills += 1
        third = delay / span
        killed_at["early" if third < 0.33 else "middle" if third < 0.66 else "late"] += 1
    else:
        killed_at["after exit"] += 1
    p.wait(timeout=30)
    ok, detail = verify(proto)
    if not ok:
        bad += 1
        check(False, "%s round %d (kill after %.1f ms): nothing lost, nothing twice"
              % (proto, rounds, delay * 1000), detail)

check(bad == 0, "after every one of %d kills: each message on the server or archived once"
      % kills)
check(kills >= kills_wanted, "at least %d fetches killed (%d)" % (kills_wanted, kills))
print("# kills by position in the fetch: %s, in %d rounds" % (killed_at, rounds))

for proto in BOXES:
    p = subprocess.run(args(proto), capture_output=True, env=env, timeout=300)
    check(p.returncode == 0, "%s: the last, unharmed run works" % proto, p.stderr.decode())
    ok, detail = verify(proto, final=True)
    check(ok, "%s: every message archived exactly once, the server empty "
          "(twice, lost, alien, archived, on server)" % proto, detail)
    print("# %s: %d messages seeded, %s" % (proto, len(BOXES[proto]["seeded"]), detail))

if failures:
    print("%d FAILED: %s" % (len(failures), "; ".join(failures)))
    sys.exit(1)
print("all passed")
