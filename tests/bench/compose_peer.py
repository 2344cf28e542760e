#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Peer for compose_bench: Python's email package building the same shape of
message (25 MiB random attachment, Japanese subject) into a byte string."""
import email.message
import email.policy
import random
import sys
import time

mib = int(sys.argv[1]) if len(sys.argv) > 1 else 25
data = random.Random(1).randbytes(mib << 20)
t0 = time.monotonic()
m = email.message.EmailMessage(policy=email.policy.SMTP)
m["From"] = "NAS-01 (Appliance) <nas@example.com>"
m["To"] = "Ops <ops@example.com>"
m["Subject"] = "【診断】パケットキャプチャ"
m.set_content("Capture attached.\n")
m.add_attachment(data, maintype="application", subtype="vnd.tcpdump.pcap", filename="capture.pcap")
out = m.as_bytes()
t1 = time.monotonic()
print("python email: %d MiB attachment -> %d octets in %.3f s = %.1f MiB/s of input"
      % (mib, len(out), t1 - t0, mib / (t1 - t0)))
