#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of mailserver.sh: start a private Postfix + Dovecot in a temp
# dir, deliver one message with STARTTLS + AUTH PLAIN (certificate verified
# against the test CA) and check it lands in bob's Maildir, check that an
# unknown recipient gets 550 5.1.1 at RCPT time, stop, and check that both
# masters are gone.
#
# Needs root (Postfix) and swaks with TLS support (Debian: swaks and
# libnet-ssleay-perl). Exits 0 on success, 77 when a prerequisite is
# missing, 1 on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
prog=mailserver_smoke.sh

fail() {
    echo "$prog: FAIL: $*" >&2
    exit 1
}
skip() {
    echo "$prog: SKIP: $*" >&2
    exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (the Postfix master runs only as root)"
command -v swaks > /dev/null || skip "swaks not installed"
perl -MNet::SSLeay -e 1 2> /dev/null || skip "swaks has no TLS: install libnet-ssleay-perl"

work=$(mktemp -d "${TMPDIR:-/tmp}/postie-ms.XXXXXX")
cleanup() {
    bash "$here/mailserver.sh" stop "$work" || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s%N)
bash "$here/mailserver.sh" start "$work" || fail "mailserver.sh start failed"
echo "$prog: servers up in $((($(date +%s%N) - t0) / 1000000)) ms"
# shellcheck disable=SC1091
. "$work/env"

# 1. STARTTLS (verified) + AUTH PLAIN as alice, mail to bob.
token="smoke-$$-$RANDOM"
out=$(swaks --server 127.0.0.1 --port "$POSTIE_TEST_SMTP_PORT" \
    --tls --tls-verify --tls-ca-path "$POSTIE_TEST_CA" \
    --auth PLAIN --auth-user "$POSTIE_TEST_USER" --auth-password "$POSTIE_TEST_PASSWORD" \
    --from "$POSTIE_TEST_USER" --to bob@example.test \
    --header "Subject: $token" --body "postie smoke test $token" 2>&1) ||
    fail "swaks STARTTLS+AUTH delivery failed:
$out"
grep -q '^<~  235 ' <<< "$out" || fail "no 235 after AUTH under TLS:
$out"
grep -q '^<~  250 2\.0\.0 Ok: queued' <<< "$out" || fail "message not queued:
$out"

found=""
for ((i = 0; i < 100; i++)); do # up to 10 s for local delivery
    found=$(grep -l -r -- "$token" "$POSTIE_TEST_MAILDIR_ROOT/bob/new" 2> /dev/null || true)
    [ -n "$found" ] && break
    sleep 0.1
done
[ -n "$found" ] || {
    tail -n 20 "$work/maillog" >&2 || true
    fail "message $token not delivered to $POSTIE_TEST_MAILDIR_ROOT/bob/new"
}
echo "$prog: delivered: $found"

# 2. Unknown local recipient: 550 5.1.1 at RCPT time.
out=$(swaks --server 127.0.0.1 --port "$POSTIE_TEST_SMTP_PORT" \
    --from "$POSTIE_TEST_USER" --to nosuch@example.test --quit-after RCPT 2>&1) &&
    fail "RCPT to nosuch@example.test was accepted:
$out"
grep -q '^<\*\* 550 5\.1\.1 ' <<< "$out" || fail "expected 550 5.1.1 for nosuch@example.test:
$out"
echo "$prog: unknown recipient rejected with 550 5.1.1"

# 3. Stop: both masters must be gone (zombies awaiting reaping count as gone).
bash "$here/mailserver.sh" stop "$work" || fail "mailserver.sh stop failed"
for pid in "$POSTIE_TEST_POSTFIX_PID" "$POSTIE_TEST_DOVECOT_PID"; do
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2> /dev/null || true)
    if [ -n "$state" ] && [ "$state" != Z ]; then
        fail "process $pid ($(cat "/proc/$pid/comm" 2> /dev/null)) still running after stop"
    fi
done
echo "$prog: PASS"
