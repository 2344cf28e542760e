#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The outgoing queue: N small messages queued (one `postie send --queue-only`
# each: compose, write, fdatasync, link, directory fsync), then one
# `postie queue flush` sending them all over one STARTTLS + AUTH connection
# with a durable record after each. The peer is curl sending the same N
# messages over one connection in one process (--next reuses it), which
# records nothing. Prints ms per message and the ratio.
# Run through tests/integration/with_mailserver.sh (tests/bench/run.sh does).
#
# Usage: queue_peers.sh PATH/TO/postie [N]
set -euo pipefail

postie=${1:?usage: queue_peers.sh PATH/TO/postie [N]}
n=${2:-200}
: "${POSTIE_TEST_SMTP_PORT:?run through with_mailserver.sh}"
work=$(mktemp -d "${TMPDIR:-/tmp}/postie-qbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export BENCH_PW="$POSTIE_TEST_PASSWORD"
export POSTIE_SPOOL="$work/spool"
cat > "$work/registry.json" << JSON
{"sessions": {"mail/Bench": {"host": "localhost", "port": $POSTIE_TEST_SMTP_PORT,
  "ca_file": "$POSTIE_TEST_CA", "username": "$POSTIE_TEST_USER",
  "password": {"env": "BENCH_PW"}, "from": "alice@example.test"}}}
JSON
chmod 600 "$work/registry.json"
printf 'hello\n' > "$work/body"
printf 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bench\r\n\r\nhello\r\n' > "$work/msg"

now_ns() { date +%s%N; }

t0=$(now_ns)
for ((i = 0; i < n; i++)); do
    "$postie" --registry "$work/registry.json" send --queue-only --session mail/Bench \
        --to bob@example.test --subject "bench $i" --body-file "$work/body" > /dev/null
done
t1=$(now_ns)
"$postie" --registry "$work/registry.json" queue flush > "$work/flush.out"
t2=$(now_ns)
grep -q "$n delivered" "$work/flush.out" || { cat "$work/flush.out"; exit 1; }

args=()
for ((i = 0; i < n; i++)); do
    [ "$i" -gt 0 ] && args+=(--next)
    args+=(--url "smtp://localhost:$POSTIE_TEST_SMTP_PORT" --ssl-reqd --cacert "$POSTIE_TEST_CA"
        --user "$POSTIE_TEST_USER:$BENCH_PW" --mail-from alice@example.test
        --mail-rcpt bob@example.test --upload-file "$work/msg")
done
t3=$(now_ns)
curl -sS "${args[@]}" > /dev/null
t4=$(now_ns)

awk -v n="$n" -v enq="$((t1 - t0))" -v fl="$((t2 - t1))" -v cu="$((t4 - t3))" 'BEGIN {
    printf "queue: %d messages, one STARTTLS + AUTH connection\n", n
    printf "queue: enqueue %.2f ms/msg (a process each, durable); flush %.2f ms/msg with a durable record each;", enq / n / 1e6, fl / n / 1e6
    printf " curl, one process, no record: %.2f ms/msg (%.2fx postie flush)\n", cu / n / 1e6, cu / fl
}'
