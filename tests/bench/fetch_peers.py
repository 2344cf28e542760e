#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Fetch benchmark: N messages of 4 KiB from the private Dovecot, over
POP3 and over IMAP (STLS / STARTTLS, certificate verified, one login),
with Postie, curl and Python's poplib/imaplib, in one run.

Every client writes its files twice over, in separate runs: on the disk
(the ext4 root file system here, under the system's temporary directory)
and on tmpfs (/dev/shm), and each is compared with Postie writing to the
same place:

  postie   postie fetch --maildir DIR --keep: each batch of messages
           written to a Maildir and made durable (one syncfs, one fsync of
           new/), the fetch state saved (fsync, rename, fsync) once per
           batch: durable, as in production. On tmpfs the syncs cost
           nothing, so what is left is the protocol and the clients' own
           work. Then delete mode (the mailbox seeded again before each
           run; the server's deletes included), for Postie only
  curl     one curl process for all N URLs (pop3://host/N or
           imap://host/INBOX;UID=N), so it reuses its connection; each
           message to a file (no fsync: nothing is made durable)
  python   /usr/bin/python3 poplib RETR / imaplib UID FETCH BODY.PEEK[] one
           message at a time; each to a file (no fsync)

On the disk, curl and Python make nothing durable, Postie makes every
batch durable as it goes. So each peer's disk run is followed by
`sync -f DIR` (one syncfs of the file system, the cheapest way to make
their files durable, and only at the end), timed on its own: the rows
"curl + sync -f" and "python + sync -f" add that time to the run's.

Each client runs REPS times per protocol and place (default 3, in turns)
after a warm-up (Dovecot indexes the mailbox on first access); the table
gives the median run's messages/s and CPU per message, and each client's
time and CPU against Postie's on the same file system (>1: Postie is
faster). Wall time and the client's CPU (user + system, getrusage of the
child) are measured. After every seeding the file system is synced
(os.sync()), so the first client that makes its files durable does not
also write out the 1,000 messages the benchmark just seeded into Dovecot's
Maildir (syncfs writes every dirty page of the file system).

Run through tests/integration/with_mailserver.sh (tests/bench/fetch.sh
does). Usage: fetch_peers.py PATH/TO/postie [N [REPS]]
"""
import imaplib
import os
import poplib
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
import mailbox_lib as ml  # noqa: E402

postie = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
env = dict(os.environ)
env["BENCH_PW"] = env["POSTIE_TEST_PASSWORD"]
work = tempfile.mkdtemp(prefix="postie-fetchbench-")
USER = env["POSTIE_TEST_USER"]
PW = env["POSTIE_TEST_PASSWORD"]
CA = env["POSTIE_TEST_CA"]
BOX = USER.split("@")[0]
PORTS = {"pop3": env["POSTIE_TEST_POP3_PORT"], "imap": env["POSTIE_TEST_IMAP_PORT"]}


def timed(argv, stdin=None):
    """Run argv; return (wall s, CPU s of the child, rc, stderr tail)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else None,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if stdin:
        p.stdin.write(stdin)
        p.stdin.close()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status), err[-400:]


def count_files(d):
    total = 0
    for sub in ("", "new", "cur"):
        p = os.path.join(d, sub)
        if os.path.isdir(p):
            total += len([f for f in os.listdir(p) if os.path.isfile(os.path.join(p, f))
                          and not f.startswith(".")])
    return total


def seed_box():
    """A mailbox of n messages, made durable before anything is timed."""
    ml.clear(BOX)
    ml.seed(BOX, [ml.make_message(i, 4096, "bench") for i in range(n)])
    os.sync()


def median_run(results):
    """The run of median wall time among (wall, cpu, ok) results."""
    runs = sorted(results, key=lambda r: r[0])
    wall, cpu, _ = runs[len(runs) // 2]
    return wall, cpu, all(r[2] for r in results)


def postie_run(proto, tag, base=None, keep=True):
    d = os.path.join(base or work, "postie-%s-%s-%d" % (proto, tag, os.getpid()))
    argv = [postie, "fetch", "--protocol", proto, "--host", "localhost", "--port", PORTS[proto],
            "--tls", "starttls", "--ca-file", CA, "--user", USER, "--password-env", "BENCH_PW",
            "--maildir", d] + (["--keep"] if keep else [])
    wall, cpu, rc, err = timed(argv)
    ok = rc == 0 and count_files(d) == n
    if base is not None:
        subprocess.run(["rm", "-rf", d])
    return wall, cpu, ok, err


def finish_peer(d, base, wall, cpu, ok, err):
    """A peer's run is over: on tmpfs remove its files; on disk make them
    durable the cheapest way there is, one syncfs of the file system at the
    end (sync -f), timed on its own: (wall, cpu, ok, err, sync wall)."""
    if base is not None:
        subprocess.run(["rm", "-rf", d])
        return wall, cpu, ok, err, 0.0
    swall, scpu, rc, _ = timed(["sync", "-f", d])
    return wall, cpu, ok and rc == 0, err, swall


def curl_run(proto, tag, ids, base=None):
    d = os.path.join(base or work, "curl-%s-%s-%d" % (proto, tag, os.getpid()))
    os.makedirs(d)
    cfg = os.path.join(work, "curl-%s-%s.cfg" % (proto, tag))
    with open(cfg, "w") as f:
        f.write('user = "%s:%s"\nssl-reqd\ncacert = "%s"\nsilent\nshow-error\n' % (USER, PW, CA))
        for i in ids:
            if proto == "pop3":
                url = "pop3://localhost:%s/%d" % (PORTS[proto], i)
            else:
                url = "imap://localhost:%s/INBOX;UID=%d" % (PORTS[proto], i)
            f.write('url = "%s"\noutput = "%s/%d"\n' % (url, d, i))
    os.chmod(cfg, 0o600)
    wall, cpu, rc, err = timed(["curl", "--config", cfg])
    ok = rc == 0 and count_files(d) == n
    return finish_peer(d, base, wall, cpu, ok, err)


PY_POP = r'''
import os, poplib, ssl, sys
d, port, user, pw, ca = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
p = poplib.POP3("localhost", int(port))
p.stls(context=ctx)
p.user(user); p.pass_(pw)
count = p.stat()[0]
for i in range(1, count + 1):
    lines = p.retr(i)[1]
    with open(os.path.join(d, str(i)), "wb") as f:
        f.write(b"\r\n".join(lines) + b"\r\n")
p.quit()
'''

PY_IMAP = r'''
import os, imaplib, ssl, sys
d, port, user, pw, ca = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
m = imaplib.IMAP4("localhost", int(port))
m.starttls(ssl_context=ctx)
m.login(user, pw)
m.select("INBOX", readonly=True)
uids = m.uid("SEARCH", None, "ALL")[1][0].split()
for u in uids:
    typ, data = m.uid("FETCH", u, "(BODY.PEEK[])")
    with open(os.path.join(d, u.decode()), "wb") as f:
        f.write(data[0][1])
m.logout()
'''


def python_run(proto, tag, base=None):
    d = os.path.join(base or work, "python-%s-%s-%d" % (proto, tag, os.getpid()))
    os.makedirs(d)
    script = PY_POP if proto == "pop3" else PY_IMAP
    wall, cpu, rc, err = timed(["/usr/bin/python3", "-c", script, d, PORTS[proto], USER, PW, CA])
    ok = rc == 0 and count_files(d) == n
    return finish_peer(d, base, wall, cpu, ok, err)


def imap_uids():
    ctx = ssl.create_default_context(cafile=CA)
    m = imaplib.IMAP4("localhost", int(PORTS["imap"]))
    m.starttls(ssl_context=ctx)
    m.login(USER, PW)
    m.select("INBOX", readonly=True)
    uids = [int(u) for u in m.uid("SEARCH", None, "ALL")[1][0].split()]
    m.logout()
    return uids


def warm_pop():
    ctx = ssl.create_default_context(cafile=CA)
    p = poplib.POP3("localhost", int(PORTS["pop3"]))
    p.stls(context=ctx)
    p.user(USER)
    p.pass_(PW)
    p.uidl()
    p.quit()


seed_box()
warm_pop()
uids = imap_uids()
assert len(uids) == n, len(uids)

rows = []
summary = []
places = [("disk", None)] + ([("tmpfs", "/dev/shm")] if os.path.isdir("/dev/shm") else [])
for proto in ("pop3", "imap"):
    ids = list(range(1, n + 1)) if proto == "pop3" else uids
    clients = []
    for place, base in places:
        clients += [
            ("postie", place, lambda t, b=base: postie_run(proto, t, b)),
            ("curl", place, lambda t, b=base: curl_run(proto, t, ids, b)),
            ("python", place, lambda t, b=base: python_run(proto, t, b)),
        ]
    runs = {(name, place): [] for name, place, _ in clients}
    for rep in range(reps):
        for name, place, fn in clients:
            r = fn("run%d" % rep)
            wall, cpu, ok, err = r[:4]
            if not ok:
                print("fetch bench: %s (%s) over %s FAILED: %s"
                      % (name, place, proto, err.decode(errors="replace")), file=sys.stderr)
            runs[(name, place)].append((wall, cpu, ok))
            if len(r) > 4 and place == "disk":
                runs.setdefault((name + " + sync -f", place), []).append((wall + r[4], cpu, ok))
    results = {key: median_run(r) for key, r in runs.items()}
    order = []
    for name, place, _ in clients:
        order.append((name, place))
        if (name + " + sync -f", place) in results:
            order.append((name + " + sync -f", place))
    for name, place in order:
        wall, cpu, ok = results[(name, place)]
        pw_, pc_, _ = results[("postie", place)]
        rows.append((proto.upper(), name, place, n / wall, cpu / n * 1000.0,
                     wall / pw_ if pw_ > 0 else 0.0, cpu / pc_ if pc_ > 0 else 0.0, ok))
    for place, _ in places:
        pw_ = results[("postie", place)][0]
        for peer in ("curl", "python"):
            line = "%s, files on %s: postie is %.2fx %s's messages/s" % (
                proto.upper(), place, results[(peer, place)][0] / pw_, peer)
            if (peer + " + sync -f", place) in results:
                line += ", %.2fx with the peer's files made durable by a sync -f at the end" % (
                    results[(peer + " + sync -f", place)][0] / pw_)
            summary.append(line)
    if len(ml.server_messages(BOX)) != n:
        print("fetch bench: the mailbox changed (keep mode expected)", file=sys.stderr)

# delete mode (Postie only: the peers have no equivalent run here)
del_rows = []
for proto in ("pop3", "imap"):
    for name, base in (("postie delete (disk)", None), ("postie delete (tmpfs)", "/dev/shm")):
        if base is not None and not os.path.isdir(base):
            continue
        seed_box()
        warm_pop()
        imap_uids()
        wall, cpu, ok, err = postie_run(proto, "del", base, keep=False)
        ok = ok and not ml.server_messages(BOX)
        if not ok:
            print("fetch bench: %s over %s FAILED: %s" % (name, proto, err.decode(errors="replace")),
                  file=sys.stderr)
        del_rows.append((proto.upper(), name, n / wall, cpu / n * 1000.0, ok))

print("fetch: %d messages x 4 KiB from Dovecot, STLS/STARTTLS, one login per client, "
      "median of %d runs" % (n, reps))
print("| protocol | client | files on | messages/s | CPU ms/message | time / postie's | "
      "CPU / postie's |")
print("|---|---|---|---:|---:|---:|---:|")
for proto, name, place, rate, cpu_ms, tr, cr, ok in rows:
    print("| %s | %s | %s | %.0f | %.3f | %.2fx | %.2fx |%s"
          % (proto, name, place, rate, cpu_ms, tr, cr, "" if ok else " (FAILED)"))
for line in summary:
    print(line)
print("delete mode (the server's deletes included):")
print("| protocol | client | messages/s | CPU ms/message |")
print("|---|---|---:|---:|")
for proto, name, rate, cpu_ms, ok in del_rows:
    print("| %s | %s | %.0f | %.3f |%s" % (proto, name, rate, cpu_ms, "" if ok else " (FAILED)"))
sys.exit(0 if all(r[7] for r in rows) and all(r[4] for r in del_rows) else 1)
