#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A minimal SMTP server on 127.0.0.1 that presents a certificate chain
(leaf + intermediate), for measuring what a TLS client needs for a session
with a realistic chain (tests/bench/tls_arena.sh, and the mps2-an386
firmware in QEMU). It accepts any AUTH, any envelope and any message, and
keeps nothing.

Usage: chain_smtp_server.py --chain FULLCHAIN.pem --key KEY.pem
           --mode smtps|starttls --port-file FILE [--port N] [--lifetime SECONDS]

It binds --port (default 0: a free one) on 127.0.0.1, writes it to --port-file, and serves
connections one at a time until --lifetime (default 120 s) has passed.
Every read has a 20 s timeout and every session at most 200 commands.
"""
import argparse
import os
import socket
import ssl
import sys
import time


def read_line(f):
    line = f.readline(4096)
    if not line:
        raise EOFError
    return line.rstrip(b"\r\n")


def session(conn, ctx, implicit):
    if implicit:
        conn = ctx.wrap_socket(conn, server_side=True)
    secure = implicit
    f = conn.makefile("rb")
    conn.sendall(b"220 chain.postie.test ESMTP\r\n")
    for _ in range(200):
        line = read_line(f)
        verb = line.split(b" ", 1)[0].upper()
        if verb == b"EHLO":
            caps = [b"chain.postie.test", b"PIPELINING", b"SIZE 10000000", b"8BITMIME"]
            if not secure:
                caps.append(b"STARTTLS")
            caps.append(b"AUTH PLAIN LOGIN")
            reply = b"".join(b"250-" + c + b"\r\n" for c in caps[:-1]) + b"250 " + caps[-1] + b"\r\n"
            conn.sendall(reply)
        elif verb == b"HELO":
            conn.sendall(b"250 chain.postie.test\r\n")
        elif verb == b"STARTTLS" and not secure:
            conn.sendall(b"220 2.0.0 go ahead\r\n")
            f.close()
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rb")
            secure = True
        elif verb == b"AUTH":
            words = line.split()
            mech = words[1].upper() if len(words) > 1 else b""
            if mech == b"PLAIN" and len(words) < 3:
                conn.sendall(b"334 \r\n")
                read_line(f)
            elif mech == b"LOGIN":
                conn.sendall(b"334 VXNlcm5hbWU6\r\n")
                read_line(f)
                conn.sendall(b"334 UGFzc3dvcmQ6\r\n")
                read_line(f)
            conn.sendall(b"235 2.7.0 accepted\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            conn.sendall(b"250 2.0.0 ok\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go on\r\n")
            while read_line(f) != b".":
                pass
            conn.sendall(b"250 2.0.0 taken\r\n")
        elif verb == b"QUIT":
            conn.sendall(b"221 2.0.0 bye\r\n")
            return
        else:
            conn.sendall(b"502 5.5.1 not here\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chain", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", choices=("smtps", "starttls"), required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.chain, args.key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(4)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as out:
        out.write("%d\n" % srv.getsockname()[1])
    os.replace(tmp, args.port_file)
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        srv.settimeout(max(0.1, end - time.monotonic()))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        conn.settimeout(20)
        try:
            session(conn, ctx, args.mode == "smtps")
        except (EOFError, OSError, ssl.SSLError) as e:
            print("chain_smtp_server: session ended: %s" % e, file=sys.stderr)
        finally:
            conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
