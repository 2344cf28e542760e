#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reply and TLS handshake deadlines against a server that trickles.

A small SMTP server of the suite's own (in this process, on 127.0.0.1, a
port the kernel picks) behaves normally except in one chosen phase, where it
sends its bytes one at a time, TRICKLE_GAP apart: each byte comes well
inside the timeout, the whole reply or handshake flight would take about
TRICKLE_BYTES * TRICKLE_GAP (40 s). `postie send --timeout 2` must give up
about 2 s after it began to wait, exit 4 (temporary failure) and name the
step that timed out. Phases: the greeting, the EHLO reply, the EHLO reply
after STARTTLS (real TLS with the test CA), the TLS handshake after
STARTTLS and for implicit TLS (the server's handshake flight trickled
through a memory BIO), the 354 after DATA, the reply to the final dot, and
the reply to BDAT LAST. Then `postie queue run` against the trickled
greeting: a queue run is held up no longer than a send.

Every client run is bounded (killed by PID after DEADLINE + 2 s); server
threads stop when the client hangs up or the test ends.

Usage: reply_deadlines.py PATH/TO/postie PATH/TO/certs.sh
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from testlib import check, failures

postie = sys.argv[1]
certs_sh = sys.argv[2]
TIMEOUT_S = 2                    # postie --timeout
DEADLINE = 2 * TIMEOUT_S + 2     # the most a run may take
TRICKLE_GAP = 0.1                # seconds between trickled bytes
TRICKLE_BYTES = 400              # a trickled reply: 400 bytes, 40 s in all
SOCKET_TIMEOUT = 30.0

work = tempfile.mkdtemp(prefix="postie-deadlines-")
stop = threading.Event()


class Closed(Exception):
    pass


def padded_reply(code, last, size=TRICKLE_BYTES):
    """A multi-line reply of about size octets: CODE-... lines, CODE last."""
    lines = []
    n = 0
    while sum(len(x) for x in lines) + len(last) + 6 < size:
        lines.append("%d-trickle line %02d %s\r\n" % (code, n, "." * 40))
        n += 1
    lines.append("%d %s\r\n" % (code, last))
    return "".join(lines).encode()


class Conn:
    """One client connection: a byte stream (raw or TLS) with a line reader."""

    def __init__(self, sock, phase, server):
        self.sock = sock
        self.io = sock
        self.phase = phase
        self.server = server
        self.buf = b""
        self.tls = False

    def send(self, data, trickle=False):
        try:
            if not trickle:
                self.io.sendall(data)
                return
            for i in range(len(data)):
                if stop.is_set():
                    raise Closed()
                self.io.sendall(data[i:i + 1])
                time.sleep(TRICKLE_GAP)
        except (OSError, ssl.SSLError) as e:
            raise Closed() from e

    def recv_some(self):
        try:
            data = self.io.recv(65536)
        except (OSError, ssl.SSLError) as e:
            raise Closed() from e
        if not data:
            raise Closed()
        return data

    def line(self):
        for _ in range(10000):
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line.decode("latin-1")
            if len(self.buf) > 4096:
                raise Closed()
            self.buf += self.recv_some()
        raise Closed()

    def exactly(self, n):
        while len(self.buf) < n:
            self.buf += self.recv_some()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def handshake(self, trickle):
        ctx = self.server.ssl_ctx
        if not trickle:
            try:
                self.io = ctx.wrap_socket(self.sock, server_side=True)
            except (OSError, ssl.SSLError) as e:
                raise Closed() from e
        else:
            # Run the server side in memory and trickle its flight to the
            # client: ServerHello, Certificate, ... one byte at a time.
            incoming = ssl.MemoryBIO()
            outgoing = ssl.MemoryBIO()
            obj = ctx.wrap_bio(incoming, outgoing, server_side=True)
            for _ in range(100):
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    pass
                pending = outgoing.read()
                if pending:
                    self.send(pending, trickle=True)
                incoming.write(self.recv_some())
            raise Closed()  # the client never gets this far in time
        self.tls = True

    def serve(self):
        phase = self.phase
        if phase == "implicit-handshake":
            self.handshake(trickle=True)
        self.send(padded_reply(220, "trickle.test ESMTP") if phase == "greeting"
                  else b"220 trickle.test ESMTP\r\n", trickle=phase == "greeting")
        for _ in range(1000):
            line = self.line()
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                caps = ["trickle.test", "PIPELINING", "8BITMIME", "SIZE 1000000"]
                if phase == "bdat-last":
                    caps.append("CHUNKING")
                if not self.tls:
                    caps.append("STARTTLS")
                text = "".join("250-%s\r\n" % c for c in caps[:-1]) + "250 %s\r\n" % caps[-1]
                slow = (phase == "ehlo" and not self.tls) or (phase == "ehlo-tls" and self.tls)
                self.send(padded_reply(250, "trickle.test") if slow else text.encode(),
                          trickle=slow)
            elif verb == "STARTTLS":
                self.send(b"220 2.0.0 go ahead\r\n")
                self.handshake(trickle=phase == "starttls-handshake")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.send(b"250 2.0.0 ok\r\n")
            elif verb == "DATA":
                slow = phase == "data"
                self.send(padded_reply(354, "go on") if slow else b"354 go on\r\n", trickle=slow)
                for _ in range(100000):
                    if self.line() == ".":
                        break
                slow = phase == "dot"
                self.send(padded_reply(250, "queued") if slow else b"250 2.0.0 queued\r\n",
                          trickle=slow)
            elif verb == "BDAT":
                words = line.split(" ")
                self.exactly(int(words[1]))
                last = len(words) > 2 and words[2].upper() == "LAST"
                slow = last and phase == "bdat-last"
                self.send(padded_reply(250, "queued") if slow else b"250 2.0.0 ok\r\n",
                          trickle=slow)
            elif verb == "QUIT":
                self.send(b"221 2.0.0 bye\r\n")
                return
            else:
                self.send(b"502 5.5.1 not here\r\n")


class Server:
    """Listens on 127.0.0.1 (a free port); a thread per connection."""

    def __init__(self, phase, certs):
        self.phase = phase
        self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_ctx.load_cert_chain(os.path.join(certs, "good.pem"),
                                     os.path.join(certs, "good.key"))
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def accept_loop(self):
        while not stop.is_set():
            try:
                sock, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.handle, args=(sock,), daemon=True).start()

    def handle(self, sock):
        sock.settimeout(SOCKET_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            Conn(sock, self.phase, self).serve()
        except Closed:
            pass
        finally:
            sock.close()

    def close(self):
        self.lsock.close()


def timed(args, extra_env=None):
    """Run postie; (exit code, stderr, seconds). Killed after DEADLINE + 2 s."""
    env = dict(os.environ)
    env.update(extra_env or {})
    start = time.monotonic()
    try:
        r = subprocess.run(args, capture_output=True, timeout=DEADLINE + 2, env=env,
                           stdin=subprocess.DEVNULL)
        rc, err = r.returncode, r.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:  # subprocess.run killed it by PID
        rc, err = None, (e.stderr or b"").decode(errors="replace") + "\n(killed)"
    return rc, err, time.monotonic() - start


def main():
    certs = os.path.join(work, "certs")
    subprocess.run(["bash", certs_sh, certs], check=True, timeout=120)
    ca = os.path.join(certs, "ca.pem")
    message = os.path.join(work, "message.eml")
    with open(message, "w") as f:
        f.write("From: alice@example.test\nTo: bob@example.test\nSubject: deadline\n\n"
                "The UPS switched to battery.\n")

    # phase, --tls, what the error must name, a line the dialogue must show
    cases = [
        ("greeting", "none", "greeting:", None),
        ("ehlo", "none", "EHLO:", "C: EHLO"),
        ("ehlo-tls", "starttls", "EHLO:", "* TLS established"),
        ("starttls-handshake", "starttls", "TLS handshake after STARTTLS:",
         "S: 220 2.0.0 go ahead"),
        ("implicit-handshake", "implicit", "connect and TLS handshake:", None),
        ("data", "none", "DATA:", "S: 250 2.0.0 ok"),
        ("dot", "none", "end of data (final dot):", "S: 354 go on"),
        ("bdat-last", "none", "BDAT LAST:", "C: BDAT"),
    ]
    for phase, tls, names, shows in cases:
        server = Server(phase, certs)
        try:
            rc, err, secs = timed([postie, "send", "--host", "localhost", "--connect-to",
                                   "127.0.0.1", "--port", str(server.port), "--tls", tls,
                                   "--ca-file", ca, "--timeout", str(TIMEOUT_S), "--verbose",
                                   "--from", "alice@example.test", "--to", "bob@example.test",
                                   "--message", message])
        finally:
            server.close()
        last = err.strip().splitlines()[-1] if err.strip() else ""
        print("# %s: %s" % (phase, last))
        check(rc == 4, "%s trickled: exit 4 (temporary failure)" % phase, "rc=%s\n%s" % (rc, err))
        check(names in last and "POSTIE_E_TIMEOUT" in last and "within 2000 ms" in last,
              "%s trickled: the error names the step and the timeout" % phase, last)
        check(shows is None or shows in err, "%s trickled: reached that phase" % phase, err)
        check(TIMEOUT_S * 0.9 <= secs < DEADLINE,
              "%s trickled: gave up after %.1f s (timeout %d s, trickle %d s)"
              % (phase, secs, TIMEOUT_S, TRICKLE_BYTES * TRICKLE_GAP), err)

    # A queue run uses the same client: the trickled greeting holds it up
    # no longer than a send.
    server = Server("greeting", certs)
    try:
        registry = {"sessions": {"mail/Trickle": {
            "host": "127.0.0.1", "port": server.port, "tls": "none",
            "from": "alice@example.test", "timeout": TIMEOUT_S, "connect_timeout": TIMEOUT_S}}}
        reg = os.path.join(work, "registry.json")
        with open(reg, "w") as f:
            json.dump(registry, f)
        os.chmod(reg, 0o600)
        extra = {"POSTIE_SPOOL": os.path.join(work, "spool")}
        rc, err, secs = timed([postie, "--registry", reg, "send", "--queue-only", "--session",
                               "mail/Trickle", "--to", "bob@example.test", "--subject",
                               "deadline", "--body-file", message], extra)
        check(rc == 0 and server.connections == 0, "queue: --queue-only stores the message",
              "rc=%s\n%s" % (rc, err))
        rc, err, secs = timed([postie, "--registry", reg, "queue", "run"], extra)
        check(rc == 4 and server.connections == 1,
              "queue run against a trickled greeting: exit 4", "rc=%s\n%s" % (rc, err))
        check(TIMEOUT_S * 0.9 <= secs < DEADLINE,
              "queue run: gave up after %.1f s (timeout %d s)" % (secs, TIMEOUT_S), err)
    finally:
        server.close()


try:
    main()
finally:
    stop.set()
    shutil.rmtree(work, ignore_errors=True)
if failures:
    print("%d check(s) failed" % len(failures))
    sys.exit(1)
print("all reply deadline checks passed")
