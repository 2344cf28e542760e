#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The postie CLI against the private Postfix (run through with_mailserver.sh):
# exit codes, what it prints, and how it treats passwords.
#
# Usage: with_mailserver.sh cli_send.sh PATH/TO/postie
set -euo pipefail

postie=${1:?usage: cli_send.sh PATH/TO/postie}
: "${POSTIE_TEST_SMTP_PORT:?run through with_mailserver.sh}"
work=$(mktemp -d "${TMPDIR:-/tmp}/postie-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT

failures=0
check() { # check DESCRIPTION: report the last assertion
    echo "ok - $1"
}
fail() {
    echo "FAIL - $1" >&2
    [ -f "$work/err" ] && sed 's/^/    stderr: /' "$work/err" >&2
    failures=$((failures + 1))
}
# expect_exit WANT DESCRIPTION -- ARGS...: run postie, compare its exit code
expect_exit() {
    local want=$1 what=$2 rc=0
    shift 3
    "$postie" "$@" > "$work/out" 2> "$work/err" < "$work/msg" || rc=$?
    if [ "$rc" -eq "$want" ]; then check "$what (exit $rc)"; else fail "$what: exit $rc, want $want"; fi
}
expect_err() { # expect_err TEXT DESCRIPTION
    if grep -qF -- "$1" "$work/err"; then check "$2"; else fail "$2: stderr lacks '$1'"; fi
}
wait_for_token() { # wait_for_token USER TOKEN
    local i
    for ((i = 0; i < 100; i++)); do
        if grep -rqF -- "$2" "$POSTIE_TEST_MAILDIR_ROOT/$1/new" 2> /dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

token="cli-$$-$RANDOM"
printf 'From: alice@example.test\nTo: bob@example.test\nSubject: %s\n\nhello from the CLI\n.dot line\n' \
    "$token" > "$work/msg"
printf '%s\n' "$POSTIE_TEST_PASSWORD" > "$work/pw"
chmod 600 "$work/pw"
export POSTIE_PW="$POSTIE_TEST_PASSWORD"

common=(send --host localhost --connect-to 127.0.0.1 --port "$POSTIE_TEST_SMTP_PORT"
    --ca-file "$POSTIE_TEST_CA" --timeout 20 --from alice@example.test)

# 1. STARTTLS + AUTH, one good and one unknown recipient: exit 1, per-recipient line
expect_exit 1 "one of two recipients refused" -- "${common[@]}" --user "$POSTIE_TEST_USER" \
    --password-env POSTIE_PW --to bob@example.test --to nosuch@example.test --message -
expect_err "recipient nosuch@example.test refused: 550 5.1.1" "refusal names the recipient and reply"
if wait_for_token bob "$token"; then check "bob got the message"; else fail "bob got nothing"; fi
if grep -rqF -- "..dot line" "$POSTIE_TEST_MAILDIR_ROOT/bob/new"; then
    fail "dot-stuffing leaked into the delivered message"
else check "no dot-stuffing left in the delivered message"; fi

# 2. all accepted, password from a file, verbose log without the password: exit 0
expect_exit 0 "all recipients accepted" -- "${common[@]}" --user "$POSTIE_TEST_USER" \
    --password-file "$work/pw" --verbose --to carol@example.test --message "$work/msg"
if grep -q "^250" "$work/out"; then check "final reply printed"; else fail "no final reply on stdout"; fi
expect_err "C: STARTTLS" "verbose log shows the dialogue"
# POSTIE_EXPECT_TLS (tests/integration/CMakeLists.txt): TLSv1.3 with mbedTLS 3.6
expect_err "* TLS ${POSTIE_EXPECT_TLS:-TLSv1.}" "verbose log shows the TLS version"
if grep -qF -- "$POSTIE_TEST_PASSWORD" "$work/err" ||
    grep -qF -- "$(printf '\0%s\0%s' "$POSTIE_TEST_USER" "$POSTIE_TEST_PASSWORD" | base64 -w0)" "$work/err"; then
    fail "the password appears in the verbose log"
else check "the password never appears in the log"; fi

# 3. a password on the command line is refused: exit 2
expect_exit 2 "--password refused" -- "${common[@]}" --user "$POSTIE_TEST_USER" \
    --password secret --to bob@example.test
# 4. wrong password: session failure, exit 3, server reply shown
POSTIE_PW=wrong expect_exit 3 "wrong password" -- "${common[@]}" --user "$POSTIE_TEST_USER" \
    --password-env POSTIE_PW --to bob@example.test
expect_err "535 5.7.8" "AUTH failure shows the server reply"
# 5. self-signed certificate: exit 3 with a precise reason
expect_exit 3 "self-signed certificate" -- send --host localhost --connect-to 127.0.0.1 \
    --port "$POSTIE_TEST_SELFSIGNED_PORT" --tls implicit --ca-file "$POSTIE_TEST_CA" \
    --from alice@example.test --to bob@example.test
expect_err "POSTIE_E_TLS_CERT_UNTRUSTED" "untrusted certificate named"
# 6. CR/LF in an address: usage error before connecting
expect_exit 2 "CR/LF in an address" -- "${common[@]}" --to $'bob@example.test\r\nRSET'
expect_err '--to "bob@example.test??RSET"' "the bad address and its option are named"
# one --to is one mailbox: a list is a usage error naming --to, nothing is sent
expect_exit 2 "two addresses in one --to" -- "${common[@]}" --to 'bob@example.test, carol@example.test'
expect_err '--to "bob@example.test, carol@example.test": address is not one mailbox' \
    "the list is refused naming --to"
# 7. nothing listening: transient failure, exit 4
expect_exit 4 "nothing listening" -- send --host localhost --connect-to 127.0.0.1 --port 1 \
    --ca-file "$POSTIE_TEST_CA" --from alice@example.test --to bob@example.test
# 8. implicit TLS (SMTPS) delivery
token2="cli-smtps-$$-$RANDOM"
sed "s/^Subject: .*/Subject: $token2/" "$work/msg" > "$work/msg2" && mv "$work/msg2" "$work/msg"
expect_exit 0 "SMTPS delivery" -- send --host localhost --connect-to 127.0.0.1 \
    --port "$POSTIE_TEST_SMTPS_PORT" --tls implicit --ca-file "$POSTIE_TEST_CA" \
    --user "$POSTIE_TEST_USER" --password-env POSTIE_PW --from alice@example.test \
    --to bob@example.test
if wait_for_token bob "$token2"; then check "SMTPS message delivered"; else fail "SMTPS message missing"; fi

# 9. POSTIE_TLS_ARENA: mbedTLS from a static arena, the high-water mark in the
# --verbose log (POSTIE_EXPECT_ARENA=1 from CMakeLists.txt when mbedTLS has
# the buffer allocator: the 3.6 build); refused with a reason otherwise
smtps=(send --host localhost --connect-to 127.0.0.1 --port "$POSTIE_TEST_SMTPS_PORT" --tls implicit
    --ca-file "$POSTIE_TEST_CA" --user "$POSTIE_TEST_USER" --password-env POSTIE_PW
    --from alice@example.test --to bob@example.test --verbose)
if [ "${POSTIE_EXPECT_ARENA:-0}" = 1 ]; then
    POSTIE_TLS_ARENA=262144 expect_exit 0 "SMTPS from a 256 KiB arena" -- "${smtps[@]}"
    expect_err "* TLS arena: high-water " "--verbose reports the arena's high-water mark"
    sed -n 's/^\* TLS arena: /    /p' "$work/err"
    POSTIE_TLS_ARENA=4096 expect_exit 2 "an arena under 16 KiB is refused" -- "${smtps[@]}"
    expect_err "POSTIE_TLS_ARENA: \"4096\" is not a size" "the refusal names the value"
else
    POSTIE_TLS_ARENA=262144 expect_exit 2 "no arena without MBEDTLS_MEMORY_BUFFER_ALLOC_C" -- "${smtps[@]}"
    expect_err "has no static arena" "the refusal says why"
fi

if [ "$failures" -ne 0 ]; then
    echo "cli_send.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "cli_send.sh: all checks passed"
