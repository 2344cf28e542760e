#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""OAuth 2.0 token introspection (RFC 7662) for the test Dovecot.

Dovecot's oauth2 passdb (tests/integration/mailserver.sh) asks this server
whether an access token is valid: POST /introspect with token=<token>
(introspection_mode = post). The valid tokens are the lines of TOKENS, a
file re-read on every request: "<token> <user>" per line. A token listed
there answers {"active": true, "username": "<user>"}; any other
{"active": false}. A test makes a token expire by rewriting the file.

    oauth_introspect.py ADDRESS PORT TOKENS LIFETIME_S

Binds ADDRESS (127.0.0.1) only, serves one request at a time, and exits
by itself after LIFETIME_S seconds even if nobody stops it. Each request
is logged to stderr with the token shown only by its length.
"""
import json
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


def valid_tokens(path):
    tokens = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    tokens[parts[0]] = parts[1]
    except FileNotFoundError:
        pass
    return tokens


class Handler(BaseHTTPRequestHandler):
    tokens_path = ""

    def answer(self, token):
        user = valid_tokens(self.tokens_path).get(token) if token else None
        body = {"active": True, "username": user} if user else {"active": False}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        sys.stderr.write("introspect: token of %d octets -> %s\n" %
                         (len(token or ""), "active" if user else "inactive"))

    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("latin-1"))
        self.answer((form.get("token") or [""])[0])

    def do_GET(self):
        query = urllib.parse.urlparse(self.path).query
        token = (urllib.parse.parse_qs(query).get("token") or [""])[0]
        auth = self.headers.get("Authorization") or ""
        if not token and auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        self.answer(token)

    def log_message(self, fmt, *args):
        pass  # the request line carries the token in GET mode: never logged


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: oauth_introspect.py ADDRESS PORT TOKENS LIFETIME_S")
    Handler.tokens_path = sys.argv[3]
    server = HTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
    server.timeout = 1.0
    deadline = time.monotonic() + float(sys.argv[4])
    while time.monotonic() < deadline:
        server.handle_request()
    server.server_close()


if __name__ == "__main__":
    main()
