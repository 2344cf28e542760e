#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The mps2-an386 firmware end to end: build the image for this run (the
# private Postfix's submission port and test CA baked into flash), boot it
# in qemu-system-arm with user networking, and check what it did.
#
#   mps2_an386.sh OUTDIR     (OUTDIR: the image's build folder, kept)
#
# The guest's gateway 10.0.2.2 is QEMU's alias for the host's 127.0.0.1,
# where the private Postfix of with_mailserver.sh listens (STARTTLS
# mandatory on the submission port; the certificate for localhost, signed
# by the test CA). Postfix is configured with a policy service of this
# test's own (defer_once_policy.py) that answers the first message's end of
# data with 451, so the firmware must keep the message in its RAM queue and
# deliver it on the retry; the real Postfix delivers it into bob's Maildir.
# mps2_an386_check.py then checks the console transcript and the message
# byte for byte.
#
# Exit 77 (skipped) when qemu-system-arm or the Arm cross toolchain
# (arm-none-eabi-gcc with newlib) is missing; every wait is bounded: the
# build (with_mailserver.sh's POSTIE_TEST_TIMEOUT), the boot (QEMU under
# timeout, POSTIE_MPS2_BOOT_TIMEOUT seconds, default 150).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3

if [ "${1:-}" != --inner ]; then
    out=${1:?usage: mps2_an386.sh OUTDIR}
    missing=""
    command -v qemu-system-arm > /dev/null || missing="$missing qemu-system-arm"
    command -v arm-none-eabi-gcc > /dev/null || missing="$missing arm-none-eabi-gcc"
    if command -v arm-none-eabi-gcc > /dev/null &&
        [ ! -f "$(arm-none-eabi-gcc -mthumb -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
            -print-file-name=libc_nano.a)" ]; then
        missing="$missing libnewlib-arm-none-eabi"
    fi
    if [ -n "$missing" ]; then
        echo "SKIP: not installed:$missing (Debian: qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi)"
        exit 77
    fi
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    # Before any server starts: the sources and mbedTLS (built once per OUTDIR).
    "$root/boards/fetch-sources.sh" cjson lwip mbedtls
    "$root/boards/build-mbedtls.sh" --firmware --toolchain "$root/boards/cortex-m4/toolchain.cmake" \
        "$out/mbedtls"

    work=$(mktemp -d "${TMPDIR:-/tmp}/postie-mps2.XXXXXX")
    policy_pid=""
    cleanup() {
        if [ -n "$policy_pid" ]; then
            kill "$policy_pid" 2> /dev/null || true
            wait "$policy_pid" 2> /dev/null || true
        fi
        rm -rf "$work"
    }
    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    "$PY" "$here/defer_once_policy.py" --port-file "$work/policy.port" --log "$work/policy.log" \
        --max-seconds 900 &
    policy_pid=$!
    for ((i = 0; i < 100; i++)); do
        [ -s "$work/policy.port" ] && break
        sleep 0.1
    done
    [ -s "$work/policy.port" ] || {
        echo "mps2_an386.sh: the policy service did not start" >&2
        exit 1
    }
    export POSTIE_TEST_POSTFIX_MAIN_CF="smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:$(cat "$work/policy.port")"
    export POSTIE_MPS2_WORK="$work"
    export POSTIE_TEST_TIMEOUT=${POSTIE_TEST_TIMEOUT:-600}
    rc=0
    bash "$here/with_mailserver.sh" bash "$0" --inner "$out" || rc=$?
    exit "$rc"
fi

# ---- inside with_mailserver.sh: Postfix and Dovecot are up
out=$2
work=$POSTIE_MPS2_WORK
start=$(date +%s.%N)
"$root/boards/mps2-an386/build.sh" --ca "$POSTIE_TEST_CA" --smtp-port "$POSTIE_TEST_SUBMISSION_PORT" \
    "$out" > "$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log" >&2
    echo "mps2_an386.sh: the firmware build failed" >&2
    exit 1
}
tail -n 3 "$work/build.log"
built=$(date +%s.%N)

uart=$work/uart.log
: > "$uart"
timeout "${POSTIE_MPS2_BOOT_TIMEOUT:-150}" qemu-system-arm -M mps2-an386 -display none -monitor none \
    -no-reboot -serial "file:$uart" -nic user,model=lan9118 -kernel "$out/postie-mps2-an386.elf" &
qemu=$!
# The firmware ends with "postie: done status=..." and then idles.
while kill -0 "$qemu" 2> /dev/null && ! grep -q '^postie: done status=' "$uart"; do
    sleep 0.2
done
kill "$qemu" 2> /dev/null || true
wait "$qemu" 2> /dev/null || true
done_at=$(date +%s.%N)
echo "---- UART (QEMU mps2-an386)"
tr -d '\r' < "$uart"
echo "---- end of UART"
echo "---- policy service"
cat "$work/policy.log" 2> /dev/null || true
awk -v a="$start" -v b="$built" -v c="$done_at" \
    'BEGIN {printf "mps2_an386.sh: build %.1f s, boot to done %.1f s\n", b - a, c - b}'
"$PY" "$here/mps2_an386_check.py" --uart "$uart" --maildir "$POSTIE_TEST_MAILDIR_ROOT/bob" \
    --policy-log "$work/policy.log" --maillog "$POSTIE_TEST_DIR/maillog"
