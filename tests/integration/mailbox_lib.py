# SPDX-License-Identifier: Apache-2.0
"""What the fetch tests and the fetch benchmark share, against the private
Dovecot of with_mailserver.sh:

  seed(user, messages)       put messages straight into the user's Maildir
                             (new/), owned by the mail user: thousands per
                             second, no SMTP
  server_messages(user)      what the user's Maildir holds (new/ and cur/)
  maildir_messages(path)     what an archive Maildir holds (new/ and cur/)
  make_message(i, size)      a small RFC 5322 message with CRLF line ends
  SourceProxy                a TCP forwarder on 127.0.0.1 that connects to
                             Dovecot FROM 127.0.0.2 (so Dovecot does not
                             treat the client as local and secure) and keeps
                             every byte the client sent
"""
import os
import socket
import threading
import time

_seq = [0]


def maildir_of(user):
    return os.path.join(os.environ["POSTIE_TEST_MAILDIR_ROOT"], user)


def make_message(i, size=600, tag="seed"):
    """Message i: headers and a body of printable lines, CRLF, about size
    octets; distinct per i and tag."""
    head = ("From: alice@example.test\r\nTo: alice@example.test\r\n"
            "Subject: %s %d\r\nMessage-ID: <%s.%d.%d@example.test>\r\n\r\n"
            % (tag, i, tag, i, os.getpid())).encode()
    line = ("%s %d: the quick brown fox jumps over the lazy dog 0123456789\r\n"
            % (tag, i)).encode()
    body = bytearray()
    while len(head) + len(body) + len(line) <= size:
        body += line
    rest = size - len(head) - len(body)
    if rest >= 2:
        body += b"x" * (rest - 2) + b"\r\n"  # exactly size octets, ending in CRLF
    return head + bytes(body)


def seed(user, messages):
    """Write each message (bytes) into the user's Maildir new/ as Dovecot
    would (a unique name, the mail user's owner and group): Dovecot sees
    them at its next scan. Returns the file names."""
    root = maildir_of(user)
    st = os.stat(root)
    names = []
    host = socket.gethostname()
    for m in messages:
        _seq[0] += 1
        name = "%d.M%dP%dQ%d.%s,S=%d" % (int(time.time()), _seq[0], os.getpid(), _seq[0],
                                          host, len(m))
        tmp = os.path.join(root, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(m)
        os.chown(tmp, st.st_uid, st.st_gid)
        os.rename(tmp, os.path.join(root, "new", name))
        names.append(name)
    return names


def _names(path):
    found = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            found += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    return found


def _read_dir(path):
    """The messages in new/ and cur/, read as one consistent snapshot.

    A Dovecot session can outlive its client (a test kills the client) and
    still move a file from new/ to cur/, rename it for a flag or expunge it
    while we read; then the listing is taken again, a bounded number of
    times, until it stays the same while every file is read."""
    for _ in range(100):
        names = _names(path)
        out = []
        try:
            for name in names:
                with open(name, "rb") as f:
                    out.append(f.read())
        except FileNotFoundError:
            time.sleep(0.02)
            continue
        if _names(path) == names:
            return out
        time.sleep(0.02)
    raise RuntimeError("%s kept changing while it was read" % path)


def server_messages(user):
    """The messages the user's Maildir holds now (new/ and cur/)."""
    return _read_dir(maildir_of(user))


def maildir_messages(path):
    """The messages an archive Maildir holds (new/ and cur/)."""
    return _read_dir(path)


def clear(user):
    """Empty the user's mailbox (new/ and cur/) and Dovecot's index of it."""
    root = maildir_of(user)
    for sub in ("new", "cur", "tmp"):
        d = os.path.join(root, sub)
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
    for name in os.listdir(root):
        if name.startswith("dovecot"):
            p = os.path.join(root, name)
            if os.path.isfile(p):
                os.unlink(p)


class SourceProxy:
    """Listen on 127.0.0.1:<free port>; for each client connect to
    127.0.0.1:target_port from source address 127.0.0.2 and copy both ways.
    client_bytes holds everything clients sent (all connections). With
    strip set, the server's STLS / STARTTLS capability is removed on the way
    (a downgrading attacker)."""

    def __init__(self, target_port, source="127.0.0.2"):
        self.target = ("127.0.0.1", int(target_port))
        self.source = source
        self.client_bytes = bytearray()
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.strip = False  # True: remove STLS / STARTTLS from what the server says
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _pump(self, src, dst, record):
        src.settimeout(60)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record:
                    with self.lock:
                        self.client_bytes += data
                elif self.strip:
                    data = data.replace(b"STLS\r\n", b"").replace(b" STARTTLS", b"")
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        deadline = time.monotonic() + 3600
        while not self.stopping and time.monotonic() < deadline:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((self.source, 0))
            s.settimeout(10)
            try:
                s.connect(self.target)
            except OSError:
                c.close()
                s.close()
                continue
            threading.Thread(target=self._pump, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, False), daemon=True).start()

    def sent(self):
        with self.lock:
            return bytes(self.client_bytes)

    def reset(self):
        with self.lock:
            self.client_bytes = bytearray()

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(2)
