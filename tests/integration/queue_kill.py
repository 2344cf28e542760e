#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Exactly once, as far as SMTP allows: SIGKILL the flushing process at
random points while it delivers to the private Postfix, start it again,
and check what arrived.

Run through with_mailserver.sh. Messages are queued in batches with
`postie send --queue-only`; each batch is flushed by `postie queue flush`
processes killed after a random delay (0..KILL_MAX_MS) until the batch is
gone, then a last flush runs unharmed. The flusher writes trace points
(POSTIE_QUEUE_TRACE): "sending ID", "data-end ID" (the end of the message
went to the server), "recorded ID" (the outcome is durable).

Checks:
  - every message arrived at least once, and nothing is left queued;
  - a message that arrived twice was, in some killed run, past "data-end"
    without "recorded": the window between the server's acceptance and
    the record, which no client can close. Any other duplicate fails;
  - at least KILLS runs were killed (default 200).
Reports the kills, where they landed, and the duplicates.

Usage: queue_kill.py PATH/TO/postie [KILLS]
"""
import glob
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

postie = sys.argv[1]
kills_wanted = int(sys.argv[2]) if len(sys.argv) > 2 else 200
KILL_MAX_MS = 120
BATCH = 25
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-kill-")
spool = os.path.join(work, "spool")
trace = os.path.join(work, "trace")
env["POSTIE_SPOOL"] = spool
env["POSTIE_QUEUE_TRACE"] = trace
rng = random.Random(int(os.environ.get("POSTIE_KILL_SEED", str(int(time.time())))))

registry = {"sessions": {"mail/Notify": {
    "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
    "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
    "password": {"env": "POSTIE_TEST_PASSWORD"}, "from": "alice@example.test",
    "timeout": 20}}}
reg_path = os.path.join(work, "registry.json")
with open(reg_path, "w") as f:
    json.dump(registry, f)
os.chmod(reg_path, 0o600)
body_path = os.path.join(work, "body.txt")
with open(body_path, "w") as f:
    f.write("A notification that must arrive once.\n" * 40)


def run(*args, timeout=60):
    r = subprocess.run([postie, "--registry", reg_path] + list(args), env=env,
                       capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def queued_ids():
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(spool, "q", "*")))


token_of = {}  # queue id -> token in the subject
window = set()  # ids killed between data-end and recorded
landed = {"before-send": 0, "sending": 0, "window": 0, "after-record": 0}
kills = 0
runs = 0
serial = 0
started = time.monotonic()

while kills < kills_wanted:
    if time.monotonic() - started > 600:
        sys.exit("FAIL - the kill loop did not finish in 10 minutes")
    for _ in range(BATCH):
        serial += 1
        token = "kill-%05d-%08x" % (serial, rng.getrandbits(32))
        rc, out, err = run("send", "--queue-only", "--session", "mail/Notify",
                           "--to", "bob@example.test", "--subject", token,
                           "--body-file", body_path)
        if rc != 0 or not out.startswith("queued "):
            sys.exit("FAIL - enqueue: rc %d %s %s" % (rc, out, err))
        token_of[out.split()[1]] = token
    # flush with kills until the batch is gone (bounded)
    for _ in range(200):
        if not queued_ids() or kills >= kills_wanted:
            break
        if os.path.exists(trace):
            os.unlink(trace)
        p = subprocess.Popen([postie, "--registry", reg_path, "queue", "flush"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs += 1
        time.sleep(rng.uniform(0, KILL_MAX_MS) / 1000.0)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait(timeout=30)
        # where did it land? the last event per id in this run
        state = {}
        if os.path.exists(trace):
            with open(trace) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 2:
                        state[parts[1]] = parts[0]
        if p.returncode == -signal.SIGKILL:
            last = [i for i, s in state.items() if s != "recorded"]
            if not state:
                landed["before-send"] += 1
            elif any(state[i] == "data-end" for i in last):
                landed["window"] += 1
            elif last:
                landed["sending"] += 1
            else:
                landed["after-record"] += 1
            for i, s in state.items():
                if s == "data-end":
                    window.add(i)
    # whatever is left of the batch: a flush nobody kills
    if os.path.exists(trace):
        os.unlink(trace)

if os.path.exists(trace):
    os.unlink(trace)
rc, out, err = run("queue", "flush", timeout=120)
left = queued_ids()
if left:
    print("last flush: rc %d\n%s%s" % (rc, out, err))
    print(run("queue", "list")[1])
rc_err, errors_out, _ = run("queue", "errors")

# count arrivals per token once Postfix has delivered everything
maildir = os.path.join(env["POSTIE_TEST_MAILDIR_ROOT"], "bob", "new")
counts = {}
deadline = time.monotonic() + 60
stable_since = None
last_total = -1
while time.monotonic() < deadline:
    counts = {}
    for path in glob.glob(os.path.join(maildir, "*")):
        try:
            with open(path, "rb") as f:
                head = f.read(8192).decode(errors="replace")
        except FileNotFoundError:
            continue
        for line in head.splitlines():
            if line.startswith("Subject: kill-"):
                t = line.split()[1]
                counts[t] = counts.get(t, 0) + 1
    total = sum(counts.values())
    if total == last_total and all(t in counts for t in token_of.values()):
        if stable_since is None:
            stable_since = time.monotonic()
        elif time.monotonic() - stable_since > 1.5:
            break
    else:
        stable_since = None
    last_total = total
    time.sleep(0.2)

failures = []
missing = [i for i, t in token_of.items() if counts.get(t, 0) == 0]
dups = {i: counts[t] for i, t in token_of.items() if counts.get(t, 0) > 1}
unexplained = [i for i in dups if i not in window]
if left:
    failures.append("messages still queued after the last flush: %s" % left)
if "error queue is empty" not in errors_out:
    failures.append("messages in the error queue:\n" + errors_out)
if missing:
    failures.append("never delivered: %s" % missing)
if unexplained:
    failures.append("delivered twice outside the window: %s" % unexplained)
if kills < kills_wanted:
    failures.append("only %d kills" % kills)

print("messages %d, flush runs %d, killed %d (before sending %d, while sending %d, "
      "in the window %d, after a record %d)" % (
          len(token_of), runs, kills, landed["before-send"], landed["sending"],
          landed["window"], landed["after-record"]))
print("duplicates %d (all inside the window between the end of data and the record: %s)"
      % (len(dups), "yes" if not unexplained else "NO"))
for f in failures:
    print("FAIL - " + f)
if not failures:
    print("ok - every message delivered, none resent after its record")
subprocess.run(["rm", "-rf", work])
sys.exit(1 if failures else 0)
