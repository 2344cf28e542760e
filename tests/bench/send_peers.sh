#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Send the same small message N times, one connection each, STARTTLS + AUTH
# PLAIN with the certificate verified, with postie, curl and msmtp against
# the private Postfix; print milliseconds per message and the ratios.
# Run through tests/integration/with_mailserver.sh (tests/bench/run.sh does).
#
# Usage: send_peers.sh PATH/TO/postie [N]
set -euo pipefail

postie=${1:?usage: send_peers.sh PATH/TO/postie [N]}
n=${2:-30}
: "${POSTIE_TEST_SMTP_PORT:?run through with_mailserver.sh}"
work=$(mktemp -d "${TMPDIR:-/tmp}/postie-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf 'From: alice@example.test\r\nTo: bob@example.test\r\nSubject: bench\r\n\r\nhello\r\n' > "$work/msg"
export BENCH_PW="$POSTIE_TEST_PASSWORD"
cat > "$work/msmtprc" << RC
account bench
host localhost
port $POSTIE_TEST_SMTP_PORT
tls on
tls_starttls on
tls_trust_file $POSTIE_TEST_CA
auth plain
user $POSTIE_TEST_USER
passwordeval printenv BENCH_PW
from alice@example.test
RC
chmod 600 "$work/msmtprc"

ms_per_message() { # ms_per_message COMMAND...: run it n times, print ms per run
    local t0 t1 i
    t0=$(date +%s%N)
    for ((i = 0; i < n; i++)); do "$@" > /dev/null; done
    t1=$(date +%s%N)
    echo $(((t1 - t0) / n / 1000))
}
postie_us=$(ms_per_message "$postie" send --host localhost --port "$POSTIE_TEST_SMTP_PORT" \
    --ca-file "$POSTIE_TEST_CA" --user "$POSTIE_TEST_USER" --password-env BENCH_PW \
    --from alice@example.test --to bob@example.test --message "$work/msg")
curl_us=$(ms_per_message curl -sS --url "smtp://localhost:$POSTIE_TEST_SMTP_PORT" --ssl-reqd \
    --cacert "$POSTIE_TEST_CA" --user "$POSTIE_TEST_USER:$BENCH_PW" \
    --mail-from alice@example.test --mail-rcpt bob@example.test --upload-file "$work/msg")
msmtp_us=$(ms_per_message sh -c "msmtp -C '$work/msmtprc' -a bench bob@example.test < '$work/msg'")
awk -v p="$postie_us" -v c="$curl_us" -v m="$msmtp_us" -v n="$n" 'BEGIN {
    printf "send: %d messages, one connection each, STARTTLS + AUTH PLAIN, verified certificate\n", n
    printf "send: postie %.2f ms/msg, curl %.2f ms/msg (%.2fx postie), msmtp %.2f ms/msg (%.2fx postie)\n",
        p / 1000, c / 1000, c / p, m / 1000, m / p
}'
