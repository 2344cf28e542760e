#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A token endpoint and a device authorization endpoint for the tests
(RFC 6749 section 6, RFC 8628), over HTTPS on 127.0.0.1 with the test CA's
certificate for localhost/127.0.0.1.

  oauth_server.py WORKDIR CERTDIR [LIFETIME_S [TOKENS USER]]

WORKDIR/port        the port it listens on (written once it listens)
WORKDIR/requests.jsonl  one line per request: path, grant_type, client_id,
                    whether a client secret came, the time (monotonic)
WORKDIR/issued.jsonl    every token and code issued (access, refresh, device
                    code), so a test can check none of them reaches Postie's
                    output or logs
WORKDIR/access_tokens   the access tokens currently valid, one per line
                    ("USER TOKEN")
TOKENS              when given: every access token it issues is added to
                    this file as "TOKEN USER" (the file the test mail
                    server's introspection server reads, mailserver.sh's
                    POSTIE_TEST_OAUTH_TOKENS), so Dovecot and Postfix take it

The scenario is the client_id (so one registry entry = one scenario):
  good       device grant: two authorization_pending, then tokens; refresh
             gives a new access token (expires_in 3600), no rotation
  rotate     like good, and every refresh rotates the refresh token (the
             old one stops working)
  slowdown   device grant: slow_down first, then authorization_pending,
             then tokens
  expired    device grant: expired_token
  denied     device grant: access_denied
  norefresh  device grant: tokens without a refresh token
  short      refresh: expires_in 61 (just over the provider's 60 s margin)
  secret     needs client_secret "s3cr3t-client-VALUE" (else invalid_client)
  badjson    200 with a body that is not JSON
  http500    500 with an HTML page
  http400    400 with a text body, no JSON
  silent     reads the request, then says nothing (up to 20 s), then closes
  trickle    sends a valid reply one byte every 0.4 s (well inside each
             read's timeout, far past the whole exchange's)
  chunked    the reply in chunked transfer coding
  stalefirst like good, but every odd-numbered access token of the
             refresh grant (the first one each new process gets) is left
             out of TOKENS: the mail server refuses it as if it had
             expired, and the client must refresh once to get a good one
A refresh token "seed-CLIENTID" is valid for every scenario until rotated;
any other unknown refresh token gets invalid_grant.
"""
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

work, certdir = sys.argv[1], sys.argv[2]
lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
tokens_file = sys.argv[4] if len(sys.argv) > 5 else None
tokens_user = sys.argv[5] if len(sys.argv) > 5 else None
issued_count = {}    # client_id -> access tokens issued
lock = threading.Lock()
refresh_valid = {}   # refresh token -> client_id
devices = {}         # device code -> {"client": id, "polls": n}
access_valid = []    # (user, token)


def log(path, obj):
    with lock:
        with open(os.path.join(work, path), "a") as f:
            f.write(json.dumps(obj) + "\n")


def issue(kind, client):
    tok = {"access": "AT-", "refresh": "RT-", "device": "DC-"}[kind] + secrets.token_urlsafe(24)
    log("issued.jsonl", {"kind": kind, "client": client, "token": tok})
    return tok


def new_access(client, user="user@example.test", refresh_grant=False):
    at = issue("access", client)
    with lock:
        if refresh_grant:
            issued_count[client] = issued_count.get(client, 0) + 1
        stale = client == "stalefirst" and refresh_grant and issued_count[client] % 2 == 1
        if tokens_file and not stale:
            with open(tokens_file, "a") as f:
                f.write("%s %s\n" % (at, tokens_user))
        access_valid.append((user, at))
        with open(os.path.join(work, "access_tokens.tmp"), "w") as f:
            for u, t in access_valid:
                f.write("%s %s\n" % (u, t))
        os.rename(os.path.join(work, "access_tokens.tmp"), os.path.join(work, "access_tokens"))
    return at


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj=None, raw=None, ctype="application/json", chunked=False):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if chunked:
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def error(self, code, err, desc=None):
        obj = {"error": err}
        if desc:
            obj["error_description"] = desc
        self.reply(code, obj)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode(), keep_blank_values=True).items()}
        client = form.get("client_id", "")
        grant = form.get("grant_type", "")
        log("requests.jsonl", {"path": self.path, "grant_type": grant, "client_id": client,
                               "secret": "client_secret" in form, "scope": form.get("scope"),
                               "t": time.monotonic(),
                               "content_type": self.headers.get("Content-Type")})
        if client == "secret" and form.get("client_secret") != "s3cr3t-client-VALUE":
            return self.error(401, "invalid_client", "bad client credentials")
        if client == "silent":
            time.sleep(20)
            self.close_connection = True
            return
        if client == "badjson":
            return self.reply(200, raw=b"{\"access_token\": \"AT-x\", oops", ctype="application/json")
        if client == "http500":
            return self.reply(500, raw=b"<html><body>Internal error</body></html>", ctype="text/html")
        if client == "http400":
            return self.reply(400, raw=b"Bad Request", ctype="text/plain")
        if self.path == "/device":
            dc = issue("device", client)
            with lock:
                devices[dc] = {"client": client, "polls": 0}
            return self.reply(200, {"device_code": dc, "user_code": "WDJB-MJHT",
                                    "verification_uri": "https://127.0.0.1/device",
                                    "expires_in": 60 if client != "expired" else 30,
                                    "interval": 1})
        if self.path != "/token":
            return self.error(404, "not_found")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            with lock:
                d = devices.get(form.get("device_code", ""))
                if d is not None:
                    d["polls"] += 1
            if d is None:
                return self.error(400, "invalid_grant", "unknown device code")
            if client == "expired":
                return self.error(400, "expired_token")
            if client == "denied":
                return self.error(400, "access_denied", "the user said no")
            if client == "slowdown" and d["polls"] == 1:
                return self.error(400, "slow_down")
            if d["polls"] < 3 and client in ("good", "rotate", "slowdown", "norefresh", "secret",
                                             "stalefirst"):
                return self.error(400, "authorization_pending")
            obj = {"access_token": new_access(client), "token_type": "Bearer", "expires_in": 3600}
            if client != "norefresh":
                rt = issue("refresh", client)
                with lock:
                    refresh_valid[rt] = client
                obj["refresh_token"] = rt
            return self.reply(200, obj)
        if grant == "refresh_token":
            rt = form.get("refresh_token", "")
            with lock:
                ok = refresh_valid.get(rt) == client or (rt == "seed-" + client and
                                                         ("used-seed-" + client) not in refresh_valid)
            if not ok:
                return self.error(400, "invalid_grant", "AADSTS70000: the refresh token is not valid")
            obj = {"access_token": new_access(client, refresh_grant=True), "token_type": "Bearer",
                   "expires_in": 61 if client == "short" else 3600, "scope": form.get("scope", "")}
            if client == "rotate":
                new = issue("refresh", client)
                with lock:
                    refresh_valid.pop(rt, None)
                    if rt.startswith("seed-"):
                        refresh_valid["used-" + rt] = client
                    refresh_valid[new] = client
                obj["refresh_token"] = new
            if client == "trickle":
                body = json.dumps(obj).encode()
                head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                        "Connection: close\r\n\r\n" % len(body)).encode()
                try:
                    for b in head + body:
                        self.wfile.write(bytes([b]))
                        self.wfile.flush()
                        time.sleep(0.4)
                except OSError:
                    pass
                self.close_connection = True
                return
            return self.reply(200, obj, chunked=(client == "chunked"))
        return self.error(400, "unsupported_grant_type")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = super().get_request()
        # the handshake happens in the handler's thread, so a client that
        # never speaks TLS cannot hold up the others
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(certdir, "good.pem"), os.path.join(certdir, "good.key"))
httpd = Server(("127.0.0.1", 0), Handler)
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
threading.Timer(lifetime, lambda: os._exit(0)).start()
with open(os.path.join(work, "port.tmp"), "w") as f:
    f.write(str(httpd.server_address[1]))
os.rename(os.path.join(work, "port.tmp"), os.path.join(work, "port"))
httpd.serve_forever()
