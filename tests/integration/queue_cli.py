#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The outgoing queue through the CLI, against the private Postfix (run
through with_mailserver.sh) and, for failures on purpose, through
fault_proxy.py in front of it:

  - send --queue delivered; a 550 recipient to the error queue; errors,
    resend ID / --all, delete; ids that do not exist or do not parse
  - 4xx then success; 5xx at the end of data; dropped in the middle of
    DATA; dropped after the final dot (delivered twice: the window no
    client can close, counted); 421 greeting; MAIL refused with 451
  - one connection per session for a flush; --session filters; `queue run`
    leaves a message in backoff alone, a flush does not
  - two flushers at once deliver each message exactly once
  - damaged spool files are reported, set aside, and the rest delivered;
    a link or a FIFO in q/ is damaged and counts for no capacity; a spool
    others can write to is refused
  - capacity limits; expiry; progress only on a terminal
  - send --queue tries only its own message; a message not tried because
    its session failed earlier in a run counts no attempt

Usage: queue_cli.py PATH/TO/postie
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from testlib import arrivals, check, failures, queued_id

postie = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
env = dict(os.environ)
work = tempfile.mkdtemp(prefix="postie-queue-")
spool = os.path.join(work, "spool")
env["POSTIE_SPOOL"] = spool
maildir = os.path.join(env["POSTIE_TEST_MAILDIR_ROOT"], "bob", "new")


# ---- the fault proxy ------------------------------------------------------------
plan_path = os.path.join(work, "plan.json")
proxy_log = os.path.join(work, "proxy.log")
port_file = os.path.join(work, "proxy.port")


def set_plan(*connections, every=None):
    plan = {"connections": list(connections)}
    if every is not None:
        plan["every"] = every
    tmp = plan_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(plan, f)
    os.rename(tmp, plan_path)


set_plan()
proxy = subprocess.Popen(["/usr/bin/python3", os.path.join(here, "fault_proxy.py"),
                          "--upstream-port", env["POSTIE_TEST_SMTP_PORT"], "--plan", plan_path,
                          "--port-file", port_file, "--log", proxy_log])
for _ in range(100):
    if os.path.exists(port_file):
        break
    time.sleep(0.05)
proxy_port = int(open(port_file).read())
# Connections count across the whole run: plans index from the next one.
connections_seen = 0


def proxy_connections():
    if not os.path.exists(proxy_log):
        return 0
    with open(proxy_log) as f:
        return sum(1 for line in f if " rule " in line)


def plan_next(*rules, every=None):
    """Rules for the next connections (the proxy counts from its start)."""
    n = proxy_connections()
    set_plan(*(["pass"] * n + list(rules)), every=every)


registry = {"sessions": {
    "mail/Notify": {
        "host": "localhost", "port": int(env["POSTIE_TEST_SMTP_PORT"]),
        "ca_file": env["POSTIE_TEST_CA"], "username": env["POSTIE_TEST_USER"],
        "password": {"env": "POSTIE_TEST_PASSWORD"}, "from": "alice@example.test",
        "timeout": 20},
    "mail/Flaky": {
        "host": "127.0.0.1", "port": proxy_port, "tls": "none",
        "from": "alice@example.test", "timeout": 10},
    "mail/Down": {"host": "127.0.0.1", "port": 1, "tls": "none",
                  "from": "alice@example.test", "connect_timeout": 5},
}}
reg_path = os.path.join(work, "registry.json")
with open(reg_path, "w") as f:
    json.dump(registry, f)
os.chmod(reg_path, 0o600)
body = os.path.join(work, "body.txt")
with open(body, "w") as f:
    f.write("The UPS switched to battery.\n" * 20)


def run(*args, extra=None, timeout=120):
    e = dict(env)
    if extra:
        e.update(extra)
    r = subprocess.run([postie, "--registry", reg_path] + list(args), capture_output=True,
                       timeout=timeout, env=e)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


serial = [0]


def token():
    serial[0] += 1
    return "queue-%d-%03d" % (os.getpid(), serial[0])


def send(session, tok, *more, queue_flag="--queue", to=("bob@example.test",), extra=None):
    args = ["send", queue_flag, "--session", session, "--subject", tok, "--body-file", body]
    for t in to:
        args += ["--to", t]
    return run(*(args + list(more)), extra=extra)


def settle(tok, want):
    """arrivals, then a moment more to catch extra copies"""
    n = arrivals(tok, want)
    time.sleep(0.5)
    return max(n, arrivals(tok, want, wait=0))


def listing(which="list"):
    return run("queue", which)


try:
    # ---- delivered; error queue; resend; delete ----------------------------------
    rc, out, err = listing()
    check(rc == 0 and "the queue is empty" in out, "an empty queue says so", out + err)

    t = token()
    rc, out, err = send("mail/Notify", t)
    qid = queued_id(out)
    check(rc == 0 and qid and ("delivered " + qid) in out, "send --queue: queued, then delivered",
          out + err)
    check(arrivals(t) == 1, "bob got the queued message")
    check("the queue is empty" in listing()[1], "a delivered message leaves the queue")

    t = token()
    rc, out, err = send("mail/Notify", t, to=("nobody@example.test", "bob@example.test"))
    bad = queued_id(out)
    check(rc == 1 and "kept in the error queue" in err and "550 5.1.1" in err,
          "a 550 recipient: exit 1, the reason names the reply", out + err)
    check(arrivals(t) == 1, "the other recipient got it once")
    rc, out, err = listing("errors")
    check(rc == 0 and bad in out and "nobody@example.test" in out and "550 5.1.1" in out
          and "bob@example.test" not in out.split(bad)[1].split("\n")[0].split("/")[0],
          "queue errors: id, the failed recipient only, the last reply", out + err)
    check("the queue is empty" in listing()[1], "an error-queue message is not in the list")
    rc, out, err = run("queue", "resend", bad)
    check(rc == 0 and "due now" in out, "resend ID", out + err)
    rc, out, err = listing()
    line = [l for l in out.splitlines() if l.startswith(bad)]
    check(line and " now " in line[0] and "nobody@example.test" in line[0],
          "resent: queued, due now, the failed recipient pending again", out)
    rc, out, err = run("queue", "flush")
    check(rc == 1 and "1 failed" in out, "flushing it fails it again (550 is permanent)",
          out + err)
    check(arrivals(t, 2, wait=1) == 1, "bob, already delivered, is not sent again")
    rc, out, err = run("queue", "resend", "--all")
    check(rc == 0 and "1 messages back in the queue" in out, "resend --all", out + err)
    rc, out, err = run("queue", "delete", bad)
    check(rc == 0 and "deleted" in out, "delete ID", out + err)
    check("the queue is empty" in listing()[1] and "is empty" in listing("errors")[1],
          "deleted from both queues")
    rc, out, err = run("queue", "delete", bad)
    check(rc == 1 and "no such message" in err, "deleting it again: exit 1, no such message", err)
    rc, out, err = run("queue", "resend", "xyz")
    check(rc == 2 and "16 hex digits" in err, "a malformed id: exit 2", err)

    # ---- failures on purpose ----------------------------------------------------------
    # 4xx then success
    plan_next({"rcpt": {"bob@example.test": "450 4.2.1 Mailbox busy"}})
    t = token()
    rc, out, err = send("mail/Flaky", t)
    busy = queued_id(out)
    check(rc == 4 and "stays queued for a retry" in err and "450 4.2.1 Mailbox busy" in err,
          "450: exit 4, queued for a retry with the reply", out + err)
    rc, out, err = listing()
    line = [l for l in out.splitlines() if l.startswith(busy)]
    check(line and " 1 " in line[0] and "450 4.2.1" in line[0] and " now " not in line[0],
          "list: one attempt, next attempt in the future, last error", out)
    before = proxy_connections()
    rc, out, err = run("queue", "run")
    check(rc == 0 and proxy_connections() == before,
          "queue run leaves a message in backoff alone", out + err)
    rc, out, err = run("queue", "flush")
    check(rc == 0 and "1 delivered" in out, "a flush ignores backoff: delivered", out + err)
    check(settle(t, 1) == 1, "4xx then success: delivered exactly once")

    # 5xx at the end of data
    plan_next({"data_end": "554 5.7.1 Rejected by policy"})
    t = token()
    rc, out, err = send("mail/Flaky", t)
    check(rc == 1 and "554 5.7.1 Rejected by policy" in err,
          "554 at the end of data: exit 1, error queue", out + err)
    check("554 5.7.1" in listing("errors")[1], "queue errors shows the 554")
    check(arrivals(t, wait=1) == 0, "a refused message is not delivered")
    run("queue", "delete", queued_id(out))

    # dropped in the middle of DATA, then delivered by a flush
    plan_next({"drop_in_data": 200})
    t = token()
    rc, out, err = send("mail/Flaky", t)
    check(rc == 4 and "stays queued" in err, "dropped mid-DATA: exit 4, stays queued", out + err)
    check("dropped-in-data" in open(proxy_log).read(), "the proxy did drop it mid-DATA")
    rc, out, err = run("queue", "flush")
    check(rc == 0 and settle(t, 1) == 1, "dropped mid-DATA, then flushed: delivered exactly once",
          out + err)

    # dropped after the final dot: the server has it, the client cannot know
    plan_next({"drop_after_dot": True})
    t = token()
    rc, out, err = send("mail/Flaky", t)
    check(rc == 4, "dropped after the dot: the client must retry", out + err)
    rc, out, err = run("queue", "flush")
    copies = settle(t, 2)
    check(rc == 0 and copies == 2,
          "dropped after the dot: delivered twice (the window; counted, expected)",
          "copies=%d %s" % (copies, out + err))
    print("# duplicates from a connection lost after the final dot: %d extra copy" % (copies - 1))

    # 421 greeting, MAIL 451
    for rule, reply in (({"greeting": "421 4.3.2 Busy, try later"}, "421"),
                        ({"mail": "451 4.3.0 Try again later"}, "451 4.3.0")):
        plan_next(rule)
        t = token()
        rc, out, err = send("mail/Flaky", t)
        check(rc == 4 and reply in err, "%s: exit 4, queued for a retry" % reply, out + err)
        rc, out, err = run("queue", "flush")
        check(rc == 0 and settle(t, 1) == 1, "%s, then flushed: delivered once" % reply,
              out + err)

    # a connection lost in a flush: the run opens a new one for the next message
    # (which of the two goes first is up to their ids: same second, random bits)
    plan_next({"drop_in_data": 200})
    pair = (token(), token())
    for t in pair:
        send("mail/Flaky", t, queue_flag="--queue-only")
    before = proxy_connections()
    rc, out, err = run("queue", "flush")
    check(rc == 4 and "1 delivered, 1 to retry" in out and proxy_connections() - before == 2,
          "lost mid-DATA in a flush: a new connection delivers the next message",
          "connections %d: %s" % (proxy_connections() - before, out + err))
    deadline = time.monotonic() + 10
    while sum(arrivals(t, wait=0) for t in pair) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    check(sorted(arrivals(t, wait=0) for t in pair) == [0, 1], "one of the two arrived")
    run("queue", "flush")
    check(all(settle(t, 1) == 1 for t in pair), "the lost one goes with the next flush, once each")

    # ---- grouping and --session ----------------------------------------------------------
    set_plan(every="pass")
    toks = [token() for _ in range(5)]
    for t in toks:
        rc, out, err = send("mail/Flaky", t, queue_flag="--queue-only")
        check(rc == 0 and queued_id(out), "--queue-only queues without sending", out + err)
    t_other = token()
    send("mail/Notify", t_other, queue_flag="--queue-only")
    before = proxy_connections()
    with open(proxy_log) as f:
        dots_before = f.read().count("dot-forwarded")
    rc, out, err = run("queue", "flush", "--session", "mail/Flaky")
    with open(proxy_log) as f:
        dots = f.read().count("dot-forwarded") - dots_before
    check(rc == 0 and "5 delivered" in out, "flush --session: that session's 5", out + err)
    check(proxy_connections() - before == 1 and dots == 5,
          "five messages, one connection", "connections %d, dots %d"
          % (proxy_connections() - before, dots))
    check(all(settle(t, 1) == 1 for t in toks), "each of the five delivered once")
    check(arrivals(t_other, wait=0.5) == 0 and "mail/Notify" in listing()[1],
          "the other session's message waits")
    run("queue", "flush")
    check(arrivals(t_other) == 1, "and goes with the next flush")

    # ---- two flushers at once ------------------------------------------------------------
    toks = [token() for _ in range(40)]
    for t in toks:
        send("mail/Notify", t, queue_flag="--queue-only")
    procs = [subprocess.Popen([postie, "--registry", reg_path, "queue", "flush"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    delivered = 0
    for o, e in outs:
        text = o.decode()
        for word in text.split(","):
            if word.strip().endswith("delivered"):
                delivered += int(word.split(":")[-1].split()[0])
    counts = [settle(t, 1) for t in toks]
    check(all(c == 1 for c in counts), "two flushers: each of 40 messages delivered exactly once",
          str(counts) + str(outs))
    check(delivered == 40, "the two flushers' summaries add up to 40 delivered",
          str(delivered) + str(outs))
    print("# two flushers: %s" % " | ".join(o.decode().strip() for o, _ in outs))

    # ---- damaged spool files ---------------------------------------------------------------
    toks = [token() for _ in range(3)]
    ids = []
    for t in toks:
        rc, out, err = send("mail/Notify", t, queue_flag="--queue-only")
        ids.append(queued_id(out))
    os.truncate(os.path.join(spool, "q", ids[0]), 100)
    with open(os.path.join(spool, "q", ids[1]), "r+b") as f:
        f.write(b"XXXX")
    rc, out, err = listing()
    check(rc == 1 and ids[0] in err and "damaged" in err and ids[2] in out,
          "list reports damaged entries and still lists the rest", out + err)
    rc, out, err = run("queue", "flush")
    check(rc == 1 and "2 damaged (set aside)" in out and "1 delivered" in out
          and "set aside" in err, "flush sets damaged entries aside and delivers the rest",
          out + err)
    check(sorted(os.listdir(os.path.join(spool, "corrupt"))) == sorted(ids[:2])
          and not os.listdir(os.path.join(spool, "q")),
          "damaged entries kept in corrupt/, nothing left in q/")
    check(arrivals(toks[2]) == 1, "the good message arrived")

    # ---- capacity, expiry ---------------------------------------------------------------------
    lim = {"POSTIE_QUEUE_MAX_MESSAGES": "2"}
    a = send("mail/Down", token(), queue_flag="--queue-only", extra=lim)
    b = send("mail/Down", token(), queue_flag="--queue-only", extra=lim)
    c = send("mail/Down", token(), queue_flag="--queue-only", extra=lim)
    check(a[0] == 0 and b[0] == 0 and c[0] == 4
          and "the outgoing queue is full (message count limit reached)" in c[2],
          "a full queue (count) refuses with exit 4 and says why", c[1] + c[2])
    c = send("mail/Down", token(), queue_flag="--queue-only",
             extra={"POSTIE_QUEUE_MAX_BYTES": "4096"})
    check(c[0] == 4 and "size limit reached" in c[2], "a full queue (octets) refuses", c[2])
    for var, bad in (("POSTIE_QUEUE_MAX_MESSAGES", "lots"), ("POSTIE_QUEUE_MAX_BYTES", "0"),
                     ("POSTIE_QUEUE_MAX_AGE", "-5")):
        rc, out, err = run("queue", "list", extra={var: bad})
        check(rc == 2 and var + " must be a number" in err,
              "a bad %s is refused with exit 2, naming it" % var, err)
    rc, out, err = run("queue", "run", "--every", "0")
    check(rc == 2 and "--every takes 1..86400 seconds" in err, "a bad --every is refused", err)
    time.sleep(1.1)
    rc, out, err = run("queue", "flush", extra={"POSTIE_QUEUE_MAX_AGE": "1"})
    check(rc == 1 and "2 failed" in out and "expired in the queue" in err,
          "expired messages go to the error queue with the last error", out + err)
    rc, out, err = listing("errors")
    check(out.count("expired in the queue; last: ") == 2 and "could not connect" in out,
          "queue errors shows why they expired", out)
    run("queue", "delete", a[1].split()[1])
    run("queue", "delete", b[1].split()[1])

    # ---- queue run --every: the daemon loop sends what becomes due, stops on SIGTERM ----
    t = token()
    send("mail/Notify", t, queue_flag="--queue-only")
    daemon = subprocess.Popen([postie, "--registry", reg_path, "queue", "run", "--every", "1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got = arrivals(t, wait=15)
    t2 = token()
    send("mail/Notify", t2, queue_flag="--queue-only")  # queued while the loop sleeps
    got2 = arrivals(t2, wait=15)
    daemon.send_signal(signal.SIGTERM)
    try:
        drc = daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
        drc = None
    check(got == 1 and got2 == 1, "queue run --every sends messages as they become due")
    check(drc == 0, "queue run --every stops on SIGTERM", str(drc))

    # ---- progress only on a terminal --------------------------------------------------------
    toks = [token() for _ in range(10)]
    for t in toks:
        send("mail/Notify", t, queue_flag="--queue-only")
    cmd = "%s --registry %s queue flush" % (postie, reg_path)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120,
                       env=env)
    tty = r.stdout.decode(errors="replace")
    check(r.returncode == 0 and "10/10 messages" in tty and "/s" in tty,
          "a flush on a terminal shows done/total and the rate", tty)
    toks = [token() for _ in range(3)]
    for t in toks:
        send("mail/Notify", t, queue_flag="--queue-only")
    rc, out, err = run("queue", "flush")
    check(rc == 0 and "messages," not in err and "\r" not in out + err,
          "no progress when not on a terminal", out + err)

    # ---- send --queue tries only its own message; attempts count real attempts ----------
    def list_line(qid):
        for line in listing()[1].splitlines():
            if line.startswith(qid):
                return line
        return ""

    def attempts_and_next(line):
        f = line.split()
        return (int(f[2]), " ".join(f[3:5])) if len(f) >= 5 else (None, None)

    set_plan(every={"greeting": "421 4.3.2 Relay down"})
    toks = [token() for _ in range(3)]
    ids = []
    before = proxy_connections()
    for i, t in enumerate(toks):
        rc, out, err = send("mail/Flaky", t)
        ids.append(queued_id(out))
        check(rc == 4 and "421" in err, "relay down: send --queue #%d waits for a retry" % (i + 1),
              out + err)
        if i == 0:
            first = attempts_and_next(list_line(ids[0]))
    check(proxy_connections() - before == 3,
          "three send --queue, three connections (each for its own message)",
          str(proxy_connections() - before))
    now = [attempts_and_next(list_line(i)) for i in ids]
    check(first[0] == 1 and now[0] == first,
          "the first message: 1 attempt, its next attempt untouched by the later sends",
          "after its send %s, after three %s" % (first, now[0]))
    check(all(a == 1 for a, _ in now), "each message: exactly one attempt", str(now))
    before = proxy_connections()
    rc, out, err = run("queue", "flush")
    # a run goes in id order (arrival second, then random bits): the
    # lowest id is the one it tries
    lines = [list_line(i) for i in sorted(ids)]
    after = [attempts_and_next(line) for line in lines]
    check(rc == 4 and proxy_connections() - before == 1 and "3 to retry" in out,
          "a flush with the relay down: one connection, all three wait", out + err)
    check(after[0][0] == 2 and after[1][0] == 1 and after[2][0] == 1,
          "only the message that was tried counts an attempt", str(after))
    check(all("not tried (its session failed)" in line for line in lines[1:])
          and "not tried" not in lines[0],
          "the others say they were not tried", "\n".join(lines))
    check(after[1][1] == after[0][1] and after[2][1] == after[0][1],
          "the others wait for the session's next try", str(after))
    set_plan(every="pass")
    rc, out, err = run("queue", "flush")
    check(rc == 0 and "3 delivered" in out, "relay up: a flush delivers all three", out + err)
    check(all(settle(t, 1) == 1 for t in toks), "each of the three arrived once")

    # ---- links and special files in the spool; a spool others can write to -------------
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        f.truncate(1 << 20)
    link_id, fifo_id = "6b0d000000000001", "6b0d000000000002"
    os.symlink(big, os.path.join(spool, "q", link_id))
    os.mkfifo(os.path.join(spool, "q", fifo_id))
    rc, out, err = listing()
    check(rc == 1 and link_id + ": damaged: not a regular file" in err
          and fifo_id + ": damaged" in err, "queue list shows a link and a FIFO as damaged",
          out + err)
    t = token()
    rc, out, err = send("mail/Notify", t, queue_flag="--queue-only",
                        extra={"POSTIE_QUEUE_MAX_BYTES": "65536"})
    check(rc == 0, "a linked 1 MiB file counts for no capacity", out + err)
    rc, out, err = run("queue", "delete", link_id)
    check(rc == 0 and not os.path.lexists(os.path.join(spool, "q", link_id))
          and os.path.getsize(big) == 1 << 20, "queue delete removes the link, not its target",
          out + err)
    rc, out, err = run("queue", "flush")
    check(rc == 1 and "1 damaged (set aside)" in out and "1 delivered" in out
          and arrivals(t) == 1, "a flush sets the FIFO aside and delivers the rest", out + err)
    os.chmod(spool, 0o777)
    rc, out, err = listing()
    check(rc == 2 and "refusing the queue spool " + spool + " (mode 0777" in err
          and "others can write to it" in err, "a spool others can write to is refused", err)
    os.chmod(spool, 0o700)
    os.chmod(os.path.join(spool, "q"), 0o730)
    rc, out, err = send("mail/Notify", token(), queue_flag="--queue-only")
    check(rc == 2 and "/q (mode 0730" in err, "a q/ its group can write to is refused", err)
    os.chmod(os.path.join(spool, "q"), 0o700)
finally:
    proxy.send_signal(signal.SIGTERM)
    try:
        proxy.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proxy.kill()
    subprocess.run(["rm", "-rf", work])

print("%d failure(s)" % len(failures))
sys.exit(1 if failures else 0)
