#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The postie CLI against a scripted SMTP server of this script's own
(127.0.0.1, a thread, one connection at a time, every wait bounded), for
what a real server cannot be made to do:

- No terminal escape sequence from a server reaches the terminal. The
  server answers with text full of control characters: ESC [31m (colour),
  ESC ] 0;...BEL (window title), a BEL, a raw C1 CSI octet (0x9b) and a
  UTF-8 encoded C1 CSI (c2 9b). `postie send --verbose` and `postie
  test-connection` must show all of it escaped (\\xNN): no 0x1b, 0x07 or
  0x9b octet on stdout or stderr.
- A --message file that shrinks or grows after postie measured it (the
  server changes it when MAIL arrives) is never sent cut or padded: the
  session fails before the end of the data, so nothing is delivered.

Usage: cli_scripted.py PATH/TO/postie
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from testlib import check, failures

postie = sys.argv[1]
work = tempfile.mkdtemp(prefix="postie-escape-")


GREETING = b"220 evil.example \x1b[31mRED\x07 ESMTP \x9b2J \xc2\x9b2J\r\n"
EHLO = (b"250-evil.\x9b2J.example\x1b]0;pwned\x07 hello\r\n"
        b"250-X-\x1b[5mBLINK\r\n"
        b"250 8BITMIME\r\n")


class EvilServer:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.on_mail = None  # called when MAIL arrives
        self.data_ended = False  # the client sent the final dot
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.monotonic() + 120
        while not self.stopping and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            try:
                self.session(conn)
            except (OSError, socket.timeout):
                pass
            finally:
                conn.close()

    def session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rb")
        conn.sendall(GREETING)
        in_data = False
        for _ in range(10000):
            line = f.readline(4096)
            if not line:
                return
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.data_ended = True
                    conn.sendall(b"250 2.0.0 queued \x1b[0m\x07 as 1\r\n")
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                conn.sendall(EHLO)
            elif verb == b"MAIL" and self.on_mail is not None:
                self.on_mail()
                conn.sendall(b"250 2.1.0 ok\r\n")
            elif verb in (b"MAIL", b"RCPT"):
                conn.sendall(b"250 2.1.0 ok \x1b[32mGREEN\r\n")
            elif verb == b"DATA":
                in_data = True
                conn.sendall(b"354 go on\x07\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 2.0.0 bye\x1b[0m\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 ok\r\n")

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


server = EvilServer()
msg = os.path.join(work, "msg.eml")
with open(msg, "wb") as f:
    f.write(b"From: alice@example.test\nSubject: escapes\n\nhello\n")


def clean(what, data):
    bad = [b for b in (b"\x1b", b"\x07", b"\x9b") if b in data]
    check(not bad, what + ": no raw ESC, BEL or C1 CSI octet", data)


r = subprocess.run([postie, "send", "--host", "127.0.0.1", "--port", str(server.port),
                    "--tls", "none", "--timeout", "10", "--verbose", "--from", "alice@example.test",
                    "--to", "bob@example.test", "--message", msg], capture_output=True, timeout=30)
check(r.returncode == 0, "send through the scripted server exits 0", r.stderr)
clean("send --verbose, stderr", r.stderr)
clean("send --verbose, stdout", r.stdout)
err = r.stderr.decode("utf-8", "replace")
check("S: 220 evil.example \\x1B[31mRED\\x07 ESMTP \\x9B2J \\xC2\\x9B2J" in err,
      "the greeting is shown with its control characters escaped", err)
check("S: 250-evil.\\x9B2J.example\\x1B]0;pwned\\x07 hello" in err, "the EHLO reply is shown escaped", err)
check("C: EHLO " in err and "C: MAIL FROM:<alice@example.test>" in err,
      "the client's own lines are shown", err)

registry = {"sessions": {"mail/Evil": {"host": "127.0.0.1", "port": server.port, "tls": "none",
                                       "from": "alice@example.test", "timeout": 10}}}
reg = os.path.join(work, "registry.json")
with open(reg, "w") as f:
    json.dump(registry, f)
os.chmod(reg, 0o600)
r = subprocess.run([postie, "--registry", reg, "test-connection", "mail/Evil"], capture_output=True,
                   timeout=30)
check(r.returncode == 0 and b"SMTP   ok" in r.stdout, "test-connection of the scripted server",
      r.stdout + r.stderr)
clean("test-connection, stdout", r.stdout)
clean("test-connection, stderr", r.stderr)

# A message file that changes between the size pass and the send.
def changed_file(what, change):
    path = os.path.join(work, "changing.eml")
    with open(path, "wb") as f:
        f.write(b"From: alice@example.test\nSubject: changing\n\n" + b"the body line\n" * 2000)
    server.data_ended = False
    server.on_mail = lambda: change(path)
    r = subprocess.run([postie, "send", "--host", "127.0.0.1", "--port", str(server.port),
                        "--tls", "none", "--timeout", "10", "--from", "alice@example.test",
                        "--to", "bob@example.test", "--message", path], capture_output=True,
                       timeout=30)
    server.on_mail = None
    check(r.returncode == 3 and b"reading the message body" in r.stderr,
          what + ": the send fails (exit 3) while reading the body", r.stderr)
    check(not server.data_ended, what + ": the data was never ended (nothing delivered)")


def truncate(path):
    with open(path, "r+b") as f:
        f.truncate(0)


def grow(path):
    with open(path, "ab") as f:
        f.write(b"appended after the size pass\n")


changed_file("a message emptied after it was measured", truncate)
changed_file("a message that grew after it was measured", grow)

server.stop()
if failures:
    sys.exit("%d check(s) failed" % len(failures))
print("all checks passed")
