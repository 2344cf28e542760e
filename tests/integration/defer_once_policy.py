#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A Postfix policy service (SMTPD_POLICY_README's delegation protocol)
that defers the first message once, at the end of its data, and lets
everything else through: the real Postfix then delivers the retry.

For the mps2-an386 firmware test: Postfix is configured with
  smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:PORT

Usage:
  defer_once_policy.py --port-file FILE --log FILE [--max-seconds N]

Listens on 127.0.0.1 on a free port, writes it to --port-file (temp file +
rename), answers until SIGTERM/SIGINT or --max-seconds (default 900), then
exits 0. Every socket read times out after 30 s; a request is at most 64
attribute lines.

Answers, per request (attribute lines up to an empty line):
  the first with protocol_state=END-OF-MESSAGE:
      action=451 4.7.1 Postie test: first delivery attempt deferred
  every other one: action=DUNNO
Log lines (appended, flushed): "request N state=STATE sender=S recipient=R
action=ACTION".
"""
import argparse
import os
import signal
import socket
import threading
import time

DEFER = "451 4.7.1 Postie test: first delivery attempt deferred"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-seconds", type=float, default=900.0)
    args = ap.parse_args()

    log = open(args.log, "a", encoding="utf-8")
    lock = threading.Lock()
    state = {"requests": 0, "deferred": False}

    def answer(attrs):
        with lock:
            state["requests"] += 1
            n = state["requests"]
            action = "DUNNO"
            if attrs.get("protocol_state") == "END-OF-MESSAGE" and not state["deferred"]:
                state["deferred"] = True
                action = DEFER
            log.write("request %d state=%s sender=%s recipient=%s action=%s\n" % (
                n, attrs.get("protocol_state", ""), attrs.get("sender", ""),
                attrs.get("recipient", ""), action))
            log.flush()
        return action

    def serve(conn):
        conn.settimeout(30.0)
        f = conn.makefile("rwb")
        try:
            while True:
                attrs = {}
                for _ in range(65):
                    line = f.readline(4096)
                    if not line:
                        return
                    line = line.rstrip(b"\r\n").decode("utf-8", "replace")
                    if line == "":
                        break
                    name, _, value = line.partition("=")
                    attrs[name] = value
                else:
                    return  # too many attributes
                f.write(("action=%s\n\n" % answer(attrs)).encode())
                f.flush()
        except OSError:
            return
        finally:
            try:
                f.close()
                conn.close()
            except OSError:
                pass

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.5)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as pf:
        pf.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    deadline = time.monotonic() + args.max_seconds
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        except OSError:
            break
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
    srv.close()


if __name__ == "__main__":
    main()
