#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The mbedTLS arena one TLS mail session needs with a realistic certificate
# chain, measured on the host with the firmware's mbedTLS configuration:
#
#   - a chain like a public CA's: a root CA (RSA 4096, the trust anchor,
#     given to the client as a CA blob), an intermediate CA (RSA 2048) and a
#     leaf for localhost (RSA 2048); the server sends leaf + intermediate;
#   - a small SMTP server of the suite's own on 127.0.0.1 presenting it
#     (tests/bench/chain_smtp_server.py), SMTPS or STARTTLS;
#   - mbedTLS 3.6 with config/mbedtls_config_firmware.h, built for the host
#     (boards/build-mbedtls.sh --firmware), Postie built against it in
#     build-fwtls/, and tests/bench/tls_arena_bench.c running one session
#     (TLS, EHLO, AUTH, one message, QUIT) from a static arena.
#
# Prints the bench's lines, among them "tls-arena-high-water: N", and
# writes them to OUTDIR/tls_arena.log for tests/bench/footprint.sh --uart.
#
# qemu: the same chain and server for the example firmware instead, in QEMU:
# boards/mps2-an386/build.sh builds it into OUTDIR/mps2 trusting the root
# (its registry's session uses STARTTLS, so the server does), QEMU's
# mps2-an386 boots it with user networking (the guest's 10.0.2.2 is the
# host's 127.0.0.1), and its UART goes to OUTDIR/uart.log, which ends with
# "tls-arena-high-water: N" and "postie: done status=ok". The run is bounded
# (QEMU 180 s, the server 1200 s) and fails unless the firmware says ok.
#
# Usage: tests/bench/tls_arena.sh [smtps|starttls|qemu] [OUTDIR]
#        (default smtps, OUTDIR build-footprint/)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-smtps}
out=${2:-$root/build-footprint}
case "$mode" in smtps | starttls | qemu) ;; *)
    echo "tls_arena.sh: mode is smtps, starttls or qemu, not $mode" >&2
    exit 2
    ;;
esac
mkdir -p "$out/chain"
chain=$out/chain

# ---- the chain (made once)
if [ ! -f "$chain/fullchain.pem" ]; then
    (
        cd "$chain"
        cat > ext.cnf << 'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:10.0.2.2
CNF
        q() { "$@" > /dev/null 2>&1 || { echo "tls_arena.sh: failed: $*" >&2; exit 1; }; }
        q openssl req -x509 -newkey rsa:4096 -nodes -keyout root.key -out root.pem -days 3650 \
            -subj "/O=Postie Bench/CN=Postie Bench Root CA" -config ext.cnf -extensions root
        q openssl req -new -newkey rsa:2048 -nodes -keyout intermediate.key -out intermediate.csr \
            -subj "/O=Postie Bench/CN=Postie Bench Intermediate CA R1" -config ext.cnf
        q openssl x509 -req -in intermediate.csr -CA root.pem -CAkey root.key -CAcreateserial \
            -days 1825 -sha256 -extfile ext.cnf -extensions intermediate -out intermediate.pem
        q openssl req -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=localhost" \
            -config ext.cnf
        q openssl x509 -req -in leaf.csr -CA intermediate.pem -CAkey intermediate.key \
            -CAcreateserial -days 365 -sha256 -extfile ext.cnf -extensions leaf -out leaf.pem
        q openssl verify -CAfile root.pem -untrusted intermediate.pem leaf.pem
        cat leaf.pem intermediate.pem > fullchain.pem
    )
fi

describe_chain() {
    echo "chain: $(openssl x509 -in "$chain/leaf.pem" -noout -subject | sed 's/^subject=//') <- $(
        openssl x509 -in "$chain/intermediate.pem" -noout -subject | sed 's/^subject=//') <- $(
        openssl x509 -in "$chain/root.pem" -noout -subject | sed 's/^subject=//') (root RSA 4096," \
        "others RSA 2048; the server sends $(grep -c 'BEGIN CERT' "$chain/fullchain.pem") certificates)"
}
server=""
trap '[ -z "$server" ] || kill "$server" 2> /dev/null || true' EXIT
start_server() { # MODE LIFETIME
    rm -f "$chain/port"
    /usr/bin/python3 "$root/tests/bench/chain_smtp_server.py" --chain "$chain/fullchain.pem" \
        --key "$chain/leaf.key" --mode "$1" --port-file "$chain/port" --lifetime "$2" &
    server=$!
    for _ in $(seq 100); do
        [ -s "$chain/port" ] && return 0
        sleep 0.1
    done
    echo "tls_arena.sh: the server did not start" >&2
    exit 1
}

if [ "$mode" = qemu ]; then
    command -v qemu-system-arm > /dev/null || {
        echo "tls_arena.sh: qemu-system-arm is not installed" >&2
        exit 1
    }
    start_server starttls 1200
    port=$(cat "$chain/port")
    "$root/boards/mps2-an386/build.sh" --ca "$chain/root.pem" --smtp-port "$port" "$out/mps2" \
        > "$out/mps2-build.log" 2>&1 || {
        tail -n 30 "$out/mps2-build.log" >&2
        exit 1
    }
    elf=$out/mps2/postie-mps2-an386.elf
    timeout 180 qemu-system-arm -M mps2-an386 -nographic -kernel "$elf" \
        -nic user,model=lan9118 > "$out/uart.log" 2>&1 < /dev/null &
    qemu=$!
    for _ in $(seq 1800); do
        grep -q '^postie: done' "$out/uart.log" && break
        kill -0 "$qemu" 2> /dev/null || break
        sleep 0.1
    done
    kill "$qemu" 2> /dev/null || true
    wait "$qemu" 2> /dev/null || true
    grep -a -E '^\[ *[0-9.]+\] (tls: TLS|tls-arena)|^postie: done' "$out/uart.log" || true
    grep -q '^postie: done status=ok' "$out/uart.log" || {
        echo "tls_arena.sh: the firmware did not finish ok (see $out/uart.log)" >&2
        exit 1
    }
    describe_chain | tee -a "$out/uart.log"
    exit 0
fi

# ---- mbedTLS with the firmware configuration, and Postie against it
"$root/boards/build-mbedtls.sh" --firmware > /dev/null
cmake -S "$root" -B "$root/build-fwtls" -DCMAKE_BUILD_TYPE=Release \
    -DPOSTIE_MBEDTLS_ROOT="$root/build-mbedtls/firmware/install" > /dev/null
cmake --build "$root/build-fwtls" -j 2 --target tls_arena_bench > /dev/null

# ---- the server, then one session
start_server "$mode" 60
"$root/build-fwtls/tests/bench/tls_arena_bench" "$(cat "$chain/port")" "$chain/root.pem" "$mode" |
    tee "$out/tls_arena.log"
describe_chain | tee -a "$out/tls_arena.log"
