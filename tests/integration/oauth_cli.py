#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""OAuth 2.0 against the suite's token and device endpoints
(oauth_server.py: HTTPS on 127.0.0.1 with a test CA, scenario = client_id).

1. The built-in token provider (oauth_provider_test: cache, expiry,
   rotation, invalid_grant, malformed and error replies, timeouts).
2. `postie oauth authorize NAME`: authorization_pending until the code is
   entered, then the refresh token in the store (0600); slow_down makes the
   next poll come 5 s later (checked from the server's request times);
   expired_token, access_denied, a reply without a refresh token, a device
   endpoint answering 500: each a clear message and its exit code.
3. `postie oauth status`, `session show`, `account show`: the refresh token
   masked (first 4 characters), the store's path; an entry not authorized
   yet exits 3. A rotated refresh token that cannot be stored: one warning
   line on stderr, without --verbose, naming the store and the errno text.
4. The registry: an http:// endpoint is refused at its path; a "jndi"
   entry with its own OAuth 2.0 login keeps its own oauth2 object.
5. No token, refresh token, device code or client secret ever reaches
   stdout, stderr (with --verbose) or an error text.

Usage: oauth_cli.py PATH/TO/postie PATH/TO/oauth_provider_test PATH/TO/certs.sh
"""
import errno
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from testlib import check, check_no_secrets, failures

postie, provider_test, certs_sh = sys.argv[1], sys.argv[2], sys.argv[3]
work = tempfile.mkdtemp(prefix="postie-oauth-")
certs = os.path.join(work, "certs")
srv = os.path.join(work, "srv")
os.makedirs(srv)
subprocess.run(["bash", certs_sh, certs], check=True, timeout=120)
ca = os.path.join(certs, "ca.pem")
server = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(__file__),
                                                            "oauth_server.py"), srv, certs, "280"],
                          stderr=subprocess.DEVNULL)
outputs = []  # every stdout/stderr of postie, checked for secrets at the end


def wait_port():
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(srv, "port")) as f:
                return int(f.read())
        except (FileNotFoundError, ValueError):
            time.sleep(0.05)
    raise SystemExit("oauth_server.py did not start")


def run(*args, env=None, timeout=60, registry=None):
    e = dict(os.environ)
    e.pop("STATE_DIRECTORY", None)
    e.update(env or {})
    r = subprocess.run([postie, "--registry", registry or reg] + list(args), capture_output=True,
                       text=True, env=e, timeout=timeout)
    outputs.append(r.stdout + r.stderr)
    return r


def entry(client, kind="session", **extra):
    o = {"provider": "custom", "client_id": client,
         "token_endpoint": "https://localhost:%d/token" % port,
         "device_endpoint": "https://localhost:%d/device" % port,
         "scopes": "mail offline_access"}
    o.update(extra)
    e = {"host": "localhost", "auth": "oauth2", "username": "user@example.test", "ca_file": ca,
         "connect_timeout": 5, "oauth2": o}
    if kind == "session":
        e["from"] = "robot@example.test"
    else:
        e["protocol"] = "imaps"
    return e


def requests(client):
    out = []
    with open(os.path.join(srv, "requests.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r["client_id"] == client:
                out.append(r)
    return out


try:
    port = wait_port()
    scratch = os.path.join(work, "provider")
    os.makedirs(scratch)
    # ---- 1. the provider -------------------------------------------------------------
    r = subprocess.run([provider_test, srv, ca, scratch], capture_output=True, text=True,
                       timeout=120)
    print(r.stdout, end="")
    check(r.returncode == 0, "oauth_provider_test passes", r.stdout[-2000:] + r.stderr)

    # ---- the registry ---------------------------------------------------------------
    stores = os.path.join(work, "stores")
    reg = os.path.join(work, "registry.json")
    sessions = {}
    for c in ("good", "slowdown", "secret"):
        sessions["mail/" + c] = entry(c)
    sessions["mail/secret"]["oauth2"]["client_secret"] = {"env": "OAUTH_CLIENT_SECRET"}
    sessions["mail/stored"] = entry("rotate", token_store=os.path.join(stores, "sub", "r.json"))
    sessions["mail/base"] = {"host": "localhost", "from": "a@example.test", "username": "u",
                             "password": {"env": "P"}, "ca_file": ca}
    derived = entry("good")
    for k in ("host", "ca_file", "connect_timeout"):
        del derived[k]
    derived["jndi"] = "mail/base"
    derived["oauth2"]["client_id"] = "derived"
    sessions["mail/derived"] = derived
    accounts = {"inbox": entry("good", kind="account")}
    with open(reg, "w") as f:
        json.dump({"sessions": sessions, "accounts": accounts}, f, indent=1)
    os.chmod(reg, 0o600)
    # the failing scenarios, in a registry of their own (8 sessions at most)
    reg2 = os.path.join(work, "failing", "registry.json")
    os.makedirs(os.path.dirname(reg2))
    with open(reg2, "w") as f:
        json.dump({"sessions": {"mail/" + c: entry(c) for c in
                                ("expired", "denied", "norefresh", "http500")}}, f, indent=1)
    os.chmod(reg2, 0o600)

    # ---- 2. authorize -------------------------------------------------------------------
    t0 = time.monotonic()
    r = run("oauth", "authorize", "mail/good", "--verbose")
    store = os.path.join(work, "oauth-session-mail_good.json")
    check(r.returncode == 0, "authorize: exit 0", r.stdout + r.stderr)
    check("https://127.0.0.1/device" in r.stdout and "WDJB-MJHT" in r.stdout,
          "authorize: prints the verification URL and the user code", r.stdout)
    check(os.path.exists(store), "authorize: the default store is next to the registry", store)
    if os.path.exists(store):
        st = os.stat(store)
        check(stat.S_IMODE(st.st_mode) == 0o600, "authorize: the store is mode 0600",
              oct(st.st_mode))
        with open(store) as f:
            rt = json.load(f)["refresh_token"]
        check(rt.startswith("RT-"), "authorize: a refresh token stored", rt[:4])
        check(rt not in r.stdout + r.stderr and rt[:4] + "..." in r.stdout,
              "authorize: says the refresh token masked, never whole", r.stdout)
    polls = [q for q in requests("good") if q["grant_type"].endswith("device_code")]
    check(len(polls) == 3, "authorize: polled through two authorization_pending", len(polls))
    check(r.stderr.count("(device code grant): HTTP 400") == 2,
          "authorize --verbose: each exchange on stderr", r.stderr)
    check(time.monotonic() - t0 < 15, "authorize: polled at the server's interval (1 s)")

    r = run("oauth", "authorize", "mail/stored")
    check(r.returncode == 0 and os.path.exists(os.path.join(stores, "sub", "r.json")),
          "authorize: into the entry's own token_store", r.stdout + r.stderr)
    # a store in a directory that did not exist yet: created 0700
    check(os.path.isdir(os.path.join(stores, "sub")) and
          stat.S_IMODE(os.stat(os.path.join(stores, "sub")).st_mode) == 0o700,
          "authorize: the store's directory is created 0700")

    # slow_down: the poll after it comes at least interval + 5 s later
    r = run("oauth", "authorize", "mail/slowdown", "--verbose")
    check(r.returncode == 0, "slow_down: authorized in the end", r.stdout + r.stderr)
    polls = [q["t"] for q in requests("slowdown") if q["grant_type"].endswith("device_code")]
    check(len(polls) >= 3, "slow_down: three polls", polls)
    if len(polls) >= 3:
        first_gap, second_gap = polls[1] - polls[0], polls[2] - polls[1]
        check(first_gap >= 5.8, "slow_down: the interval grew from 1 s to 6 s (%.1f s)"
              % first_gap, polls)
        check(second_gap >= 5.8, "slow_down: and stays grown (%.1f s)" % second_gap, polls)
    check("polling every 6 s" in r.stderr, "slow_down: --verbose says so", r.stderr)

    r = run("oauth", "authorize", "mail/expired", registry=reg2)
    check(r.returncode == 3 and "expired" in r.stderr and "again" in r.stderr,
          "expired_token: exit 3, says to run it again", r.stdout + r.stderr)
    r = run("oauth", "authorize", "mail/denied", registry=reg2)
    check(r.returncode == 3 and "declined" in r.stderr, "access_denied: exit 3, declined",
          r.stdout + r.stderr)
    r = run("oauth", "authorize", "mail/norefresh", registry=reg2)
    check(r.returncode == 3 and "no refresh token" in r.stderr and "offline_access" in r.stderr,
          "no refresh token in the reply: exit 3, names offline_access", r.stdout + r.stderr)
    check(not os.path.exists(os.path.join(work, "failing", "oauth-session-mail_norefresh.json")),
          "no refresh token: nothing stored")
    r = run("oauth", "authorize", "mail/http500", registry=reg2)
    check(r.returncode == 4 and "HTTP 500" in r.stderr, "device endpoint 500: exit 4, HTTP 500",
          r.stdout + r.stderr)
    before = len(requests("secret"))
    r = run("oauth", "authorize", "mail/secret", "--verbose",
            env={"OAUTH_CLIENT_SECRET": "s3cr3t-client-VALUE"})
    check(r.returncode == 0, "client secret from the environment: authorized", r.stdout + r.stderr)
    sent = requests("secret")[before:]
    check(len(sent) >= 2 and all(q["secret"] for q in sent),
          "client secret: sent with every request", sent)
    r = run("oauth", "authorize", "mail/secret")
    check(r.returncode != 0 and "client secret (variable OAUTH_CLIENT_SECRET)" in r.stderr,
          "client secret variable unset: refused, names the variable", r.stdout + r.stderr)
    # a client secret file others can read: a warning when the registry loads
    sfile = os.path.join(work, "client-secret")
    with open(sfile, "w") as f:
        f.write("s3cr3t-client-VALUE\n")
    os.chmod(sfile, 0o644)
    wreg = os.path.join(work, "warn.json")
    e = entry("secret")
    e["oauth2"]["client_secret"] = {"file": sfile}
    with open(wreg, "w") as f:
        json.dump({"sessions": {"mail/w": e}}, f)
    os.chmod(wreg, 0o600)
    r = run("oauth", "status", "mail/w", registry=wreg)
    check('sessions["mail/w"].oauth2.client_secret: client secret file group or others can read'
          in r.stderr, "a readable client secret file: warned at its path", r.stderr)

    # ---- 3. status, session show, account show -------------------------------------------
    r = run("oauth", "status", "mail/good")
    check(r.returncode == 0 and "stored: RT-" in r.stdout and store in r.stdout,
          "status: refresh token stored, masked, the store's path", r.stdout + r.stderr)
    check("not kept on disk" in r.stdout, "status: says access tokens stay in memory", r.stdout)
    r = run("oauth", "status", "mail/denied", registry=reg2)
    check(r.returncode == 3 and "not authorized yet" in r.stdout,
          "status of an entry never authorized: exit 3", r.stdout + r.stderr)
    r = run("session", "show", "mail/good")
    check(r.returncode == 0 and "custom, xoauth2" in r.stdout and "stored: RT-" in r.stdout,
          "session show: the OAuth 2.0 state", r.stdout + r.stderr)
    r = run("account", "show", "inbox")
    check(r.returncode == 0 and "oauth-account-inbox.json" in r.stdout and
          "not authorized yet" in r.stdout, "account show: the account's own store",
          r.stdout + r.stderr)
    r = run("oauth", "status", "mail/derived")
    check(r.returncode == 3 and "derived" in r.stdout and "localhost" in r.stdout,
          "jndi with its own oauth2: its own client id over the base's transport",
          r.stdout + r.stderr)
    r = run("oauth", "status", "mail/base")
    check(r.returncode == 2 and "does not log in with OAuth 2.0" in r.stderr,
          "status of a basic-auth session: usage error", r.stdout + r.stderr)
    r = run("oauth", "status", "mail/none")
    check(r.returncode == 2 and "no session or account" in r.stderr, "unknown NAME: exit 2",
          r.stderr)

    # import: a refresh token from elsewhere (Google), then the provider uses it
    imp = os.path.join(work, "oauth-session-mail_slowdown.json")
    os.unlink(imp)
    r = subprocess.run([postie, "--registry", reg, "oauth", "import", "mail/slowdown"],
                       input="seed-slowdown\n", capture_output=True, text=True, timeout=30)
    outputs.append(r.stdout + r.stderr)
    check(r.returncode == 0 and "seed..." in r.stdout, "import: stored, masked", r.stdout + r.stderr)
    with open(imp) as f:
        check(json.load(f)["refresh_token"] == "seed-slowdown", "import: the token in the store")
    check(stat.S_IMODE(os.stat(imp).st_mode) == 0o600, "import: the store is 0600")
    r = subprocess.run([postie, "--registry", reg, "oauth", "import", "mail/slowdown"],
                       input="two words\n", capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "two words" not in r.stderr, "import: a bad token refused, not echoed",
          r.stderr)

    # ---- 3b. a rotated refresh token that cannot be stored: a warning, always ------------------
    # The "rotate" endpoint hands out a new refresh token with every refresh. Make the store's
    # temporary file impossible to create: STORE.tmp is a directory (a read-only directory would
    # not do: the tests run as root, which writes into it anyway). No --verbose: the warning must
    # show regardless. The SMTP port is closed: only the token fetch matters here.
    rstore = os.path.join(stores, "sub", "r.json")
    os.mkdir(rstore + ".tmp")
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        closed_port = sk.getsockname()[1]
    rreg = os.path.join(work, "rotate.json")
    e = entry("rotate", token_store=rstore)
    e["port"] = closed_port
    with open(rreg, "w") as f:
        json.dump({"sessions": {"mail/rot": e}}, f)
    os.chmod(rreg, 0o600)
    with open(rstore) as f:
        before_rt = json.load(f)["refresh_token"]
    grants = len([q for q in requests("rotate") if q["grant_type"] == "refresh_token"])
    r = run("test-connection", "mail/rot", registry=rreg)
    os.rmdir(rstore + ".tmp")
    grants = len([q for q in requests("rotate") if q["grant_type"] == "refresh_token"]) - grants
    check(grants == 1, "rotation not stored: the provider did refresh (one grant)", grants)
    lines = [ln for ln in r.stderr.splitlines() if "rotated refresh token was not stored" in ln]
    check(len(lines) == 1, "rotation not stored: one warning line on stderr without --verbose",
          r.stdout + r.stderr)
    check(lines and rstore in lines[0] and os.strerror(errno.EEXIST) in lines[0],
          "rotation not stored: the line names the store's path and the errno text", lines)
    check_no_secrets([r.stdout + r.stderr], os.path.join(srv, "issued.jsonl"),
                     "rotation not stored: no token in the output")
    with open(rstore) as f:
        check(json.load(f)["refresh_token"] == before_rt, "rotation not stored: the store kept "
              "its token, untouched")

    # ---- 4. the registry refuses http:// endpoints at their path --------------------------------
    bad = os.path.join(work, "bad.json")
    e = entry("good")
    e["oauth2"]["token_endpoint"] = "http://localhost:%d/token" % port
    with open(bad, "w") as f:
        json.dump({"sessions": {"mail/x": e}}, f)
    os.chmod(bad, 0o600)
    r = subprocess.run([postie, "--registry", bad, "oauth", "status", "mail/x"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and 'sessions["mail/x"].oauth2.token_endpoint: must be an https://'
          in r.stderr, "registry: an http:// token endpoint is refused at its path", r.stderr)

    # ---- 5. no secret anywhere ------------------------------------------------------------------
    check_no_secrets(outputs, os.path.join(srv, "issued.jsonl"),
                     "no token, refresh token, device code or client secret in any output",
                     extra=["s3cr3t-client-VALUE", "seed-"])
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
