#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmarks, with peers measured in the same run on the same machine:
#   - the footprint on a Cortex-M4 (tests/bench/footprint.sh);
#   - composing a message with a 25 MiB attachment (Postie's writer vs
#     Python's email package), with the writer's RAM and heap use;
#   - sending small messages over STARTTLS + AUTH to a private Postfix
#     (postie vs curl vs msmtp);
#   - the outgoing queue: enqueue cost and a flush over one connection
#     with a durable record per message (postie vs curl reusing a connection).
# Usage: tests/bench/run.sh   (root: the Postfix master needs it)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/.ci/install-deps.sh"
cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$root/build-bench" -j "$(nproc)" --target compose_bench postie > /dev/null

# Footprint on a Cortex-M4: code per module, sizeof() of every public
# object, the budgets of issue #14 and how far each is (README "Footprint").
# The TLS arena for one session with a leaf + intermediate chain, on the
# host with the firmware's mbedTLS configuration, then in the example
# firmware under QEMU, whose image and UART the table reads.
"$root/tests/bench/tls_arena.sh" smtps "$root/build-footprint"
"$root/tests/bench/tls_arena.sh" qemu "$root/build-footprint"
"$root/tests/bench/footprint.sh" --image "$root/build-footprint/mps2/postie-mps2-an386.elf" \
    --uart "$root/build-footprint/uart.log" "$root/build-footprint"
"$root/build-bench/tests/bench/compose_bench" 25
/usr/bin/python3 "$root/tests/bench/compose_peer.py" 25
# Large messages at wire speed (issue #16): the body path in MB/s, then
# sending against the benchmark's own sink, Postie beside libcurl, curl,
# msmtp and smtplib, with callgrind counts and the targets.
cmake --build "$root/build-bench" -j "$(nproc)" \
    --target body_bench smtp_sink postie_send_bench curl_send_bench > /dev/null
"$root/build-bench/tests/bench/body_bench"
/usr/bin/python3 "$root/tests/bench/smtp_bench.py" "$root/build-bench"
"$root/tests/integration/with_mailserver.sh" \
    bash "$root/tests/bench/send_peers.sh" "$root/build-bench/postie" 30
"$root/tests/integration/with_mailserver.sh" \
    bash "$root/tests/bench/queue_peers.sh" "$root/build-bench/postie" 200
"$root/tests/bench/fetch.sh" "$root/build-bench/postie" 1000
