#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The lwIP port against real and hostile servers, run by lwip_netns.sh
inside the network namespace it made (tap device TAP, the namespace's side
192.168.77.1/24, lwIP at 192.168.77.2; Postfix and Dovecot listen on
192.168.77.1, see POSTIE_TEST_* in the environment).

Usage: lwip_port.py NOSYS_PROGRAM RTOS_PROGRAM NOSYS_ASAN_PROGRAM TAP

Both configurations (boards/host-lwip: bare metal NO_SYS=1 from lwIP's
callbacks, and NO_SYS=0 over lwIP's sockets) send through Postfix over
STARTTLS and SMTPS, with the server's name resolved by lwIP's DNS (a small
DNS server of this script's own answers for mail.example.test); fetch the
message back from Dovecot over IMAPS and POP3+STLS; refuse the
bad certificates; and meet a scripted server of this script's own (on
192.168.77.1) that drops the connection mid-DATA (FIN and RST), stops
reading (the send window fills), trickles its greeting, stays silent, and
answers 4xx/5xx at each step. The bare-metal program also closes and
aborts its own connection at each point (inside lwIP's recv callback,
while connecting, while the name resolves) and meets a refused
connection, on a build of the stack that allocates every pcb and pbuf
with malloc() under AddressSanitizer (a pcb used after lwIP freed it
fails the run). Every run must end with lwIP's pools, pbufs and heap as they
were before it started ("leaks: none", from LWIP_STATS).
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import arrivals, check, failures  # noqa: E402

HOST = "192.168.77.1"
LWIP_IP = "192.168.77.2"
NAME = "mail.example.test"  # what the DNS server below resolves to HOST
TIMEOUT_MS = 2000           # reply and send deadlines of the hostile cases


# ---- a DNS server for one name ----------------------------------------------

class Dns(threading.Thread):
    """Answers A queries for NAME with HOST (others: NXDOMAIN); a query for
    slow.example.test is answered after 1.5 s."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 53))
        self.sock.settimeout(0.2)
        self.stop = False
        self.queries = []

    def run(self):
        while not self.stop:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            if len(q) < 12:
                continue
            i, labels = 12, []
            while i < len(q) and q[i] != 0:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            name = ".".join(labels).lower()
            question = q[12:i + 5]
            self.queries.append(name)
            if name == "slow.example.test":
                time.sleep(1.5)
            found = name in (NAME, "slow.example.test")
            flags = 0x8180 if found else 0x8183
            head = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if found else 0, 0, 0)
            answer = b""
            if found:
                answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(HOST)
            self.sock.sendto(head + question + answer, peer)


# ---- a scripted SMTP server ----------------------------------------------------

class Scripted(threading.Thread):
    """One connection at a time on HOST:port, behaving as `mode` says:
      reply:STEP:CODE  a plain ESMTP dialog (no PIPELINING, no CHUNKING)
                       where STEP (greeting ehlo mail rcpt data dot) gets
                       CODE; 421 closes the connection after it
      drop-in-data     close (FIN) after 3000 octets of message data
      rst-in-data      the same with an RST (SO_LINGER 0)
      stop-reading     after 354, read nothing more (for 4 s)
      trickle          the greeting one octet every 300 ms
      silent           no greeting at all
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, 0))
        self.lsock.listen(4)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.mode = "reply:none:0"
        self.stop = False
        self.log = []

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            conn.settimeout(25)
            try:
                self.serve(conn, self.mode)
            except OSError as e:
                self.log.append("error %s" % e)
            finally:
                conn.close()

    @staticmethod
    def lines(conn):
        buf = b""
        while True:
            while b"\r\n" not in buf:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
            line, buf = buf.split(b"\r\n", 1)
            yield line.decode("ascii", "replace")

    def serve(self, conn, mode):
        if mode == "silent":
            time.sleep(TIMEOUT_MS / 1000 + 3)
            return
        if mode == "trickle":
            end = time.monotonic() + TIMEOUT_MS / 1000 + 3
            for c in b"220 " + b"x" * 200:
                if time.monotonic() > end:
                    return
                conn.sendall(bytes([c]))
                time.sleep(0.3)
            return
        step, code = "none", 0
        if mode.startswith("reply:"):
            _, step, code = mode.split(":")
            code = int(code)

        def answer(this, ok):
            if step == this:
                conn.sendall(b"%d %s refused by the test\r\n" % (code, this.encode()))
                return code != 421
            conn.sendall(ok)
            return True

        if not answer("greeting", b"220 lwip-test ESMTP\r\n"):
            return
        lines = self.lines(conn)
        for line in lines:
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                ok = b"250-lwip-test\r\n250 8BITMIME\r\n" if verb == "EHLO" else b"250 lwip-test\r\n"
                if not answer("ehlo", ok):
                    return
            elif verb == "MAIL":
                if not answer("mail", b"250 2.1.0 Ok\r\n"):
                    return
            elif verb == "RCPT":
                if not answer("rcpt", b"250 2.1.5 Ok\r\n"):
                    return
            elif verb == "DATA":
                if not answer("data", b"354 go ahead\r\n"):
                    return
                if step == "data":
                    continue
                if mode == "stop-reading":
                    time.sleep(TIMEOUT_MS / 1000 + 2)
                    return
                if mode in ("drop-in-data", "rst-in-data"):
                    got = 0
                    while got < 3000:
                        chunk = conn.recv(3000 - got)
                        if not chunk:
                            break
                        got += len(chunk)
                    if mode == "rst-in-data":
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    return
                tail = b""
                for chunk in iter(lambda: conn.recv(65536), b""):
                    tail = (tail + chunk)[-5:]
                    if tail == b"\r\n.\r\n":
                        break
                if not answer("dot", b"250 2.0.0 Ok: queued\r\n"):
                    return
            elif verb == "RSET":
                conn.sendall(b"250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.2 Error: command not recognized\r\n")


# ---- running the programs ------------------------------------------------------

def run(prog, *args, limit=60):
    """Run one lwIP program; returns (exit status, result fields, output)."""
    cmd = [prog, "--tap", TAP, "--ip", LWIP_IP, "--dns", HOST,
           "--from", "alice@example.test", "--to", "bob@example.test"] + list(args)
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = "timed out: %s" % (e.stdout,), -1
    elapsed = time.monotonic() - start
    fields = {"elapsed": elapsed}
    for line in out.splitlines():
        if line.startswith("result: "):
            rest, _, fields["phase"] = line[8:].partition(" phase=")
            parts = rest.split(" ")
            fields["status"] = parts[0]
            for kv in parts[1:]:
                if "=" in kv:
                    k, v = kv.split("=", 1)
                    fields[k] = v
        if line.startswith("leaks:"):
            fields["leaks"] = line[6:].strip()
    return rc, fields, out


def wanted(label):
    only = os.environ.get("POSTIE_LWIP_ONLY")  # a developer's filter: A|B, labels containing one
    return not only or any(part in label for part in only.split("|"))


def case(label, prog, args, want_status, want_rc=None, tls=None, timing=None, arrived=None):
    if not wanted(label):
        return {}
    rc, f, out = run(prog, *args)
    detail = "rc=%s %s\n%s" % (rc, f, out)
    print("# %s: %.1f s (result after %s ms)" % (label, f["elapsed"], f.get("ms", "?")))
    check(f.get("status") in want_status, "%s: %s" % (label, "/".join(want_status)), detail)
    check(f.get("leaks") == "none", "%s: no pcb, pbuf or heap left over" % label, detail)
    if want_rc is not None:
        check(rc == want_rc, "%s: exit status %d" % (label, want_rc), detail)
    if tls is not None:
        check(f.get("tls") == tls, "%s: %s" % (label, tls), detail)
    if timing is not None:
        lo, hi = timing
        took = int(f.get("ms", "-1")) / 1000
        check(lo <= took <= hi, "%s: gave up after %.1f s (%.1f..%.1f)" % (label, took, lo, hi),
              detail)
    if arrived is not None:
        check(arrivals("postie over lwIP " + arrived) == 1, "%s: delivered once" % label, detail)
    return f


def main():
    global TAP
    nosys, rtos, nosys_asan, TAP = sys.argv[1:5]
    env = os.environ
    ca = env["POSTIE_TEST_CA"]
    smtp, smtps = env["POSTIE_TEST_SMTP_PORT"], env["POSTIE_TEST_SMTPS_PORT"]
    dns = Dns()
    dns.start()
    srv = Scripted()
    srv.start()
    progs = [("bare metal", nosys), ("RTOS", rtos)]
    try:
        for cfg, prog in progs:
            tag = "nosys" if prog == nosys else "rtos"
            # real Postfix, the name through lwIP's DNS
            for mode, port in (("starttls", smtp), ("smtps", smtps)):
                tok = "%s-%s-%d" % (tag, mode, os.getpid())
                case("%s %s via DNS" % (cfg, mode), prog,
                     ["--server", NAME, "--port", port, "--mode", mode, "--ca", ca,
                      "--tag", tok], ["POSTIE_OK"], want_rc=0, tls=os.environ.get("POSTIE_EXPECT_TLS", "TLSv1.2"), arrived=tok)
            # and back from Dovecot through lwIP: IMAPS and POP3+STLS
            tok = "%s-%s-%d" % (tag, "starttls", os.getpid())
            for proto, port_var, mode in (("imap", "POSTIE_TEST_IMAPS_PORT", "smtps"),
                                          ("pop3", "POSTIE_TEST_POP3_PORT", "starttls")):
                label = "%s fetch over %s" % (cfg, "IMAPS" if proto == "imap" else "POP3+STLS")
                rc, f, out = (None, {}, "") if not wanted(label) else run(
                    prog, "--server", NAME, "--port", env[port_var], "--mode", mode,
                    "--ca", ca, "--fetch", proto, "--user", "bob@example.test",
                    "--password", env["POSTIE_TEST_PASSWORD"], "--tag", tok)
                if f:
                    detail = "rc=%s %s\n%s" % (rc, f, out)
                    check(rc == 0 and "fetched: found" in out, "%s: the message is there"
                          % label, detail)
                    check(f.get("tls") == os.environ.get("POSTIE_EXPECT_TLS", "TLSv1.2"),
                          "%s: over TLS" % label, detail)
                    check(f.get("leaks") == "none", "%s: no pcb, pbuf or heap left over"
                          % label, detail)
            case("%s 1 MB over STARTTLS" % cfg, prog,
                 ["--server", HOST, "--port", smtp, "--mode", "starttls", "--ca", ca,
                  "--size", "1000000", "--tag", "%s-big-%d" % (tag, os.getpid())],
                 ["POSTIE_OK"], want_rc=0, arrived="%s-big-%d" % (tag, os.getpid()))
            # bad certificates
            for port_var, want in (("POSTIE_TEST_SELFSIGNED_PORT", "POSTIE_E_TLS_CERT_UNTRUSTED"),
                                   ("POSTIE_TEST_WRONGHOST_PORT", "POSTIE_E_TLS_CERT_NAME_MISMATCH"),
                                   ("POSTIE_TEST_EXPIRED_PORT", "POSTIE_E_TLS_CERT_EXPIRED")):
                case("%s %s" % (cfg, port_var[12:-5].lower()), prog,
                     ["--server", HOST, "--port", env[port_var], "--mode", "smtps", "--ca", ca],
                     [want], want_rc=1)
            # no such name
            case("%s unknown name" % cfg, prog,
                 ["--server", "nowhere.example.test", "--port", smtp, "--mode", "plain"],
                 ["POSTIE_E_DNS"], want_rc=1)
            # the scripted server
            hostile = ["--server", HOST, "--port", str(srv.port), "--mode", "plain",
                       "--timeout-ms", str(TIMEOUT_MS)]
            for mode, want in (("drop-in-data", ["POSTIE_E_CONNECTION_CLOSED",
                                                 "POSTIE_E_CONNECTION_RESET"]),
                               ("rst-in-data", ["POSTIE_E_CONNECTION_RESET"])):
                srv.mode = mode
                case("%s %s" % (cfg, mode), prog, hostile + ["--size", "200000"], want,
                     want_rc=1)
            srv.mode = "stop-reading"
            case("%s peer stops reading (send window full)" % cfg, prog,
                 hostile + ["--size", "4000000"], ["POSTIE_E_TIMEOUT"], want_rc=1,
                 timing=(1.5, 6.0))
            for mode in ("trickle", "silent"):
                srv.mode = mode
                case("%s %s greeting" % (cfg, mode), prog, hostile, ["POSTIE_E_TIMEOUT"],
                     want_rc=1, timing=(1.5, 4.5))
            for step in ("greeting", "ehlo", "mail", "rcpt", "data", "dot"):
                for code in (421, 451, 554):
                    srv.mode = "reply:%s:%d" % (step, code)
                    want = {421: ["POSTIE_E_SERVER_SHUTDOWN"],
                            451: ["POSTIE_E_REPLY_TRANSIENT"],
                            554: ["POSTIE_E_REPLY_PERMANENT"]}[code]
                    if step == "rcpt" and code != 421:
                        want = ["POSTIE_E_RECIPIENTS_REJECTED"]
                    f = case("%s %d at %s" % (cfg, code, step), prog, hostile, want, want_rc=1)
                    if f:
                        check(f.get("code") == str(code), "%s %d at %s: the reply's code kept"
                              % (cfg, code, step), f)
        # the bare-metal transport's own close and abort paths
        for scenario, args in (
                ("abort-in-callback", ["--server", HOST, "--port", smtp, "--mode", "starttls"]),
                ("close-early", ["--server", HOST, "--port", smtp, "--mode", "starttls"]),
                ("close-connecting", ["--server", HOST, "--port", smtp, "--mode", "starttls"]),
                ("close-resolving", ["--server", "slow.example.test", "--port", smtp,
                                     "--mode", "starttls"])):
            case("bare metal %s" % scenario, nosys_asan, args + ["--scenario", scenario],
                 ["POSTIE_OK"], want_rc=0)
        # refused: the port is closed (an RST answers the SYN: lwIP's err callback)
        closed = socket.socket()
        closed.bind((HOST, 0))
        port = closed.getsockname()[1]
        closed.close()
        for cfg, prog in progs:
            case("%s connection refused" % cfg, prog,
                 ["--server", HOST, "--port", str(port), "--mode", "plain"],
                 ["POSTIE_E_CONNECT_FAILED"], want_rc=1)
    finally:
        srv.stop = True
        dns.stop = True
    check("slow.example.test" in dns.queries or os.environ.get("POSTIE_LWIP_ONLY"), "the name was asked of the DNS server", dns.queries)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
