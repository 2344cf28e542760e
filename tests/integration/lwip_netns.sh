#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The lwIP port's integration test: makes a network namespace with a tap
# device, starts a private Postfix + Dovecot inside it on the tap's address
# (192.168.77.1; mailserver.sh with POSTIE_TEST_LISTEN), runs lwip_port.py
# there with the two host-lwip programs (lwIP attaches to the tap as
# 192.168.77.2), then stops the servers and deletes the namespace. No
# packet leaves the namespace.
#
# Usage: lwip_netns.sh NOSYS_PROGRAM RTOS_PROGRAM NOSYS_ASAN_PROGRAM
# Exits 77 (skipped, with the reason) when not root or when the programs
# were not built (lwIP's sources not fetched: boards/fetch-sources.sh lwip).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 3 ] || { echo "usage: lwip_netns.sh NOSYS_PROGRAM RTOS_PROGRAM NOSYS_ASAN_PROGRAM" >&2; exit 2; }
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: the lwIP test needs root (a network namespace and a tap device)"
    exit 77
fi
for p in "$1" "$2" "$3"; do
    if [ ! -x "$p" ]; then
        echo "SKIPPED: $p not built (fetch lwIP first: boards/fetch-sources.sh lwip, then cmake again)"
        exit 77
    fi
done
[ -e /dev/net/tun ] || { echo "lwip_netns.sh: /dev/net/tun is missing" >&2; exit 1; }

ns=postie-lwip-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/postie-lwip.XXXXXX")
chmod 755 "$work"
cleanup() {
    ip netns exec "$ns" "$here/mailserver.sh" stop "$work" > /dev/null 2>&1 || true
    ip netns del "$ns" 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev tap0 mode tap
ip netns exec "$ns" ip addr add 192.168.77.1/24 dev tap0
ip netns exec "$ns" ip link set tap0 up

if ! ip netns exec "$ns" env POSTIE_TEST_LISTEN=192.168.77.1 "$here/mailserver.sh" start "$work"; then
    echo "lwip_netns.sh: the mail servers did not start in the namespace" >&2
    exit 1
fi
# shellcheck disable=SC1091
. "$work/env"
export POSTIE_TEST_DIR="$work"

rc=0
ip netns exec "$ns" timeout 600 /usr/bin/python3 "$here/lwip_port.py" "$1" "$2" "$3" tap0 || rc=$?
if [ "$rc" -ne 0 ] && [ -f "$work/maillog" ]; then
    echo "---- last lines of the Postfix log" >&2
    tail -n 30 "$work/maillog" >&2
fi
exit "$rc"
