#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run the transport test program against real TLS servers on 127.0.0.1.
#
# Makes the test certificates with certs.sh, starts one `openssl s_server -rev`
# per certificate (good, selfsigned, wronghost, expired), plus one offering only
# TLS 1.1 with the good certificate (optional: skipped where OpenSSL lacks it),
# each on a port the kernel
# picks (-accept 127.0.0.1:0; the port is read from s_server's "ACCEPT" line,
# so there is no window in which another process could take it), runs the
# program with the ports in its environment, and stops the servers by PID.
# Each server also runs under timeout(1), so none outlives a killed script.
#
# Usage: tls_verify.sh PATH/TO/tls_verify_test
set -euo pipefail

test_bin=${1:?usage: tls_verify.sh PATH/TO/tls_verify_test}
here=$(cd "$(dirname "$0")" && pwd)
command -v openssl > /dev/null || { echo "tls_verify.sh: openssl not found" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/postie-tls-verify.XXXXXX")
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2> /dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2> /dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$here/certs.sh" "$work/certs"

# start_server VAR CERT [s_server options...]: serve CERT.pem, export the
# port as VAR. Returns 1 when the server did not start.
start_server() {
    local var=$1 name=$2 log="$work/$1.log" pid port="" i
    shift 2
    # The log exists before the server starts, so the first look at it
    # cannot fail under load (with set -e a failed sed would end the script).
    : > "$log"
    timeout 110 openssl s_server -accept 127.0.0.1:0 -rev "$@" \
        -cert "$work/certs/$name.pem" -key "$work/certs/$name.key" \
        < /dev/null > "$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for ((i = 0; i < 100; i++)); do # at most ~10 s
        port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]\{1,5\}\)$/\1/p' "$log" || true)
        [ -n "$port" ] && break
        if ! kill -0 "$pid" 2> /dev/null; then
            break
        fi
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "tls_verify.sh: s_server $* for $name.pem did not start:" >&2
        cat "$log" >&2
        return 1
    fi
    export "$var=$port"
    echo "s_server${*:+ $*} $name.pem on 127.0.0.1:$port (pid $pid)"
}

start_server POSTIE_PORT_GOOD good
start_server POSTIE_PORT_SELFSIGNED selfsigned
start_server POSTIE_PORT_WRONGHOST wronghost
start_server POSTIE_PORT_EXPIRED expired
start_server POSTIE_PORT_TLS11 good -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' ||
    echo "no TLS 1.1 server; its test will be skipped"
# One server per protocol version, to see what the client negotiates:
# TLSv1.3 with an mbedTLS that has it (3.6), TLSv1.2 otherwise.
start_server POSTIE_PORT_TLS13 good -tls1_3
start_server POSTIE_PORT_TLS12 good -tls1_2
export POSTIE_CERTS="$work/certs"

rc=0
timeout 100 "$test_bin" || rc=$?
if [ "$rc" -ne 0 ]; then
    for log in "$work"/*.log; do
        echo "---- $(basename "$log")" >&2
        tail -n 40 "$log" >&2
    done
fi
exit "$rc"
