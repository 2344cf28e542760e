#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An SMTP proxy in front of the test Postfix that fails on purpose.

For the outgoing-queue integration tests: the client talks to this proxy,
which relays to the real server and injects the failures a test plans.

Usage:
  fault_proxy.py --upstream-port PORT [--upstream-host 127.0.0.1]
                 --plan PLAN.json --port-file FILE --log FILE [--pid-file FILE]

Listens on 127.0.0.1 on a free port, writes it to --port-file (temp file +
rename; likewise --pid-file), serves connections (a thread each) until
SIGTERM/SIGINT, then exits 0. Every socket operation times out after 30 s.

Commands are handled one at a time: read one client line, answer it locally
or forward it and relay the whole upstream reply. The EHLO reply loses
CHUNKING and STARTTLS (kept well formed; PIPELINING stays); STARTTLS and BDAT
get a local refusal should a client send them anyway.

PLAN.json, re-read at each new connection (missing/invalid file = {}):
  {"connections": [RULE, ...], "every": RULE}
The Nth connection since start (1-based, counted across plan rewrites) uses
connections[N-1]; later ones use "every" if present, else "pass". A RULE is
"pass" or an object with any of:
  "greeting": "421 ..."       send this as the greeting, then close both sides
  "mail": "451 ..."           answer every MAIL locally; then RCPT and DATA get
                              local 503s, other commands are forwarded
  "rcpt": {"addr": "450 ..."} answer RCPT for addr (case-insensitive) locally
  "data_end": "451 ..."       withhold the final dot, hang up on upstream (it
                              discards the message), reconnect and replay the
                              client's EHLO, answer the dot with this; the
                              client's session goes on
  "drop_in_data": N           close both sides after forwarding N octets of
                              message content (upstream never sees the dot)
  "drop_after_dot": true      forward the dot, read upstream's reply, close the
                              client without relaying it (mail IS delivered)
  "messages": M               data_end/drop_in_data/drop_after_dot apply to
                              the first M messages of the connection only

Log lines (appended, flushed), stable words for tests to grep:
  conn N rule RULE | conn N local-reply VERB ARG REPLY
  conn N dot-forwarded upstream-reply REPLY   (reply relayed to the client)
  conn N dropped-in-data after K octets
  conn N dropped-after-dot upstream-reply REPLY
  conn N closed: REASON | conn N error: ... | conn N end
"""
import argparse
import json
import os
import re
import select
import signal
import socket
import threading

TIMEOUT = 30.0
DOT = b".\r\n"
REFUSED_VERBS = {"STARTTLS": "454 4.7.0 TLS not available",
                 "BDAT": "502 5.5.1 Error: command not implemented"}


class Closed(Exception):  # one side of the session went away
    pass


class Stop(Exception):  # raised in the main thread by SIGTERM/SIGINT
    pass


class Log:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()

    def __call__(self, text):
        with self.lock:
            self.f.write(text + "\n")
            self.f.flush()


class Lines:
    """CRLF line reader on a socket that can tell whether a line is buffered."""

    def __init__(self, sock):
        self.sock, self.buf, self.pos = sock, b"", 0  # buf[pos:] is unread

    def fill(self):
        data = self.sock.recv(65536)
        self.buf, self.pos = self.buf[self.pos:] + data, 0
        return bool(data)

    def has_line(self):
        return self.buf.find(b"\n", self.pos) >= 0

    def readline(self):  # one line with its terminator; b"" at end of stream
        while True:
            i = self.buf.find(b"\n", self.pos)
            if i >= 0:
                line, self.pos = self.buf[self.pos:i + 1], i + 1
                return line
            if not self.fill():
                return b""


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def text(reply):  # reply lines as one string for the log
    return " | ".join(l.decode("utf-8", "replace").rstrip("\r\n") for l in reply)


def line_of(s):
    return s.rstrip("\r\n").encode("utf-8") + b"\r\n"


def read_reply(lines):
    reply = []
    while True:
        line = lines.readline()
        if not line:
            raise Closed("upstream closed")
        reply.append(line)
        if line[3:4] != b"-":
            return reply


def edit_ehlo(reply):
    """Drop CHUNKING and STARTTLS from a 250 EHLO reply, keeping it well formed."""
    if not reply[0].startswith(b"250"):
        return reply
    keep = reply[:1] + [l for l in reply[1:]
                        if l[4:].upper().split()[:1] not in ([b"CHUNKING"], [b"STARTTLS"])]
    last = len(keep) - 1
    return [l[:3] + (b" " if i == last else b"-") + l[4:] for i, l in enumerate(keep)]


def load_plan(path, log):
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
        if not isinstance(plan, dict) or not isinstance(plan.get("connections", []), list):
            raise ValueError("not {\"connections\": [...]}")
        return plan
    except (OSError, ValueError) as e:
        log("plan unreadable, using {}: %s" % e)
        return {}


def pick_rule(plan, n, log):
    conns = plan.get("connections") or []
    rule = conns[n - 1] if n <= len(conns) else plan.get("every", "pass")
    if rule == "pass" or rule is None:
        return {}
    if not isinstance(rule, dict):
        log("conn %d bad plan entry %r, using pass" % (n, rule))
        return {}
    return rule


class Session:
    def __init__(self, n, rule, client, upstream, log):
        self.n, self.rule, self.client, self.log = n, rule, client, log
        self.upstream, self.hello, self.c = upstream, None, Lines(client)
        self.rcpt = {k.lower(): v for k, v in (rule.get("rcpt") or {}).items()}
        self.up = socket.create_connection(upstream, timeout=TIMEOUT)
        self.u = Lines(self.up)

    def say(self, what):
        self.log("conn %d %s" % (self.n, what))

    def local(self, reply, verb, arg):
        self.client.sendall(line_of(reply))
        self.say("local-reply %s %s %s" % (verb, arg, reply))

    def next_command(self):
        """Wait for a client line; relay anything upstream says meanwhile (a
        421 before it hangs up) and end the session then."""
        while not self.c.has_line():
            ready, _, _ = select.select([self.client, self.up], [], [], TIMEOUT)
            if not ready:
                raise socket.timeout("client idle")
            if self.up in ready:
                data = self.up.recv(65536)
                if data:
                    self.client.sendall(data)
                raise Closed("upstream spoke unprompted or closed: %r" % data[:200])
            if not self.c.fill():
                raise Closed("client closed")
        return self.c.readline()

    def run(self):
        greeting = read_reply(self.u)
        if self.rule.get("greeting"):
            self.local(self.rule["greeting"], "GREETING", "-")
            return
        self.client.sendall(b"".join(greeting))
        mail_refused, messages = False, 0
        while True:
            line = self.next_command()
            words = line.split()
            verb = words[0].decode("ascii", "replace").upper() if words else ""
            m = re.search(rb"<([^>]*)>", line)
            addr = m.group(1).decode("utf-8", "replace") if m else "-"
            if verb == "MAIL" and self.rule.get("mail"):
                mail_refused = True
                self.local(self.rule["mail"], verb, addr)
            elif verb == "RCPT" and mail_refused:
                self.local("503 5.5.1 Error: need MAIL command", verb, addr)
            elif verb == "RCPT" and addr.lower() in self.rcpt:
                self.local(self.rcpt[addr.lower()], verb, addr)
            elif verb == "DATA" and mail_refused:
                self.local("503 5.5.1 Error: need RCPT command", verb, "-")
            elif verb in REFUSED_VERBS:
                self.local(REFUSED_VERBS[verb], verb, "-")
            else:
                self.up.sendall(line)
                reply = read_reply(self.u)
                if verb == "EHLO":
                    reply = edit_ehlo(reply)
                if verb in ("EHLO", "HELO") and reply[0].startswith(b"250"):
                    self.hello = line
                self.client.sendall(b"".join(reply))
                if verb == "QUIT":
                    return
                if verb == "DATA" and reply[0].startswith(b"354"):
                    messages += 1
                    limit = self.rule.get("messages")
                    if not self.relay_body(limit is None or messages <= limit):
                        return

    def relay_body(self, faults):
        """Relay one message body after 354. False: the connection must end."""
        drop = self.rule.get("drop_in_data") if faults else None
        sent = 0
        while True:
            line = self.c.readline()
            if not line:
                raise Closed("client closed in DATA after %d octets" % sent)
            if line == DOT:
                break
            chunk = line if drop is None else line[:max(0, drop - sent)]
            self.up.sendall(chunk)
            sent += len(chunk)
            if drop is not None and sent >= drop:
                self.say("dropped-in-data after %d octets" % sent)
                return False
        if faults and self.rule.get("data_end"):
            # SMTP cannot abort DATA (an RSET now would be body text), so hang
            # up on upstream, which discards the message, and go on over a
            # fresh connection. To the client it is a refused message.
            close(self.up)
            self.up = socket.create_connection(self.upstream, timeout=TIMEOUT)
            self.u = Lines(self.up)
            read_reply(self.u)
            if self.hello:
                self.up.sendall(self.hello)
                read_reply(self.u)
            self.say("data-end upstream connection dropped and reopened")
            self.local(self.rule["data_end"], "DATA-END", "-")
            return True
        self.up.sendall(DOT)
        reply = read_reply(self.u)
        if faults and self.rule.get("drop_after_dot"):
            self.say("dropped-after-dot upstream-reply %s" % text(reply))
            return False
        self.client.sendall(b"".join(reply))
        self.say("dot-forwarded upstream-reply %s" % text(reply))
        return True


def close(sock):
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def handle(n, rule, client, upstream, log):
    session = None
    try:
        client.settimeout(TIMEOUT)
        session = Session(n, rule, client, upstream, log)
        session.run()
    except Closed as e:
        log("conn %d closed: %s" % (n, e))
    except Exception as e:  # one bad connection must not stop the proxy
        log("conn %d error: %s: %s" % (n, type(e).__name__, e))
    finally:
        close(client)
        close(session and session.up)
        log("conn %d end" % n)


def main():
    p = argparse.ArgumentParser(description="SMTP proxy that fails on purpose")
    p.add_argument("--upstream-host", default="127.0.0.1")
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--plan", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--pid-file")
    args = p.parse_args()
    log = Log(args.log)

    def stop(signum, frame):
        raise Stop()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    upstream = (args.upstream_host, args.upstream_port)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if args.pid_file:
            write_atomic(args.pid_file, "%d\n" % os.getpid())
        write_atomic(args.port_file, "%d\n" % port)
        log("listening on 127.0.0.1:%d upstream %s:%d pid %d"
            % (port, upstream[0], upstream[1], os.getpid()))
        n = 0
        while True:
            client, _ = listener.accept()
            n += 1
            rule = pick_rule(load_plan(args.plan, log), n, log)
            log("conn %d rule %s" % (n, json.dumps(rule, sort_keys=True) if rule else "pass"))
            threading.Thread(target=handle, args=(n, rule, client, upstream, log),
                             daemon=True).start()
    except Stop:
        log("stopping on signal")
    listener.close()
    os._exit(0)  # connection threads are daemons; do not wait for them


if __name__ == "__main__":
    main()
