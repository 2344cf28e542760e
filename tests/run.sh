#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build Postie and run the whole test suite (unit + integration).
#
#   tests/run.sh              install missing Debian packages, build in
#                             build/, run every test
#   tests/run.sh --asan       the same in build-asan/ with AddressSanitizer
#                             and UndefinedBehaviorSanitizer
#   tests/run.sh --unit       unit tests only (no servers, no root needed)
#
# Tests run in parallel, POSTIE_TEST_JOBS at a time (default: the number
# of processors, at least 2): each integration test starts servers of its
# own on free ports, so they do not meet. Under --asan the two crash loops
# (queue_kill, fetch_kill: durability under SIGKILL, which the sanitizers
# do not look at), the install check, the lwIP test (which runs its own
# AddressSanitizer build of lwIP) and the mps2-an386 firmware test (a cross
# build booted in QEMU: nothing of the host build runs) are left to the
# plain run.
#
# Integration tests start a private Postfix and Dovecot on 127.0.0.1 (root
# is needed for the Postfix master) and openssl s_server instances.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
cmake_args=(-DCMAKE_BUILD_TYPE=Debug)
jobs=${POSTIE_TEST_JOBS:-$(nproc)}
[ "$jobs" -ge 2 ] 2> /dev/null || jobs=2
ctest_args=(-j "$jobs")
for arg in "$@"; do
    case "$arg" in
    --asan)
        build="$root/build-asan"
        cmake_args+=(-DPOSTIE_SANITIZE=ON)
        ctest_args+=(-E '^integration\.(queue_kill|fetch_kill|install_check|lwip|mps2_an386)$')
        ;;
    --unit) ctest_args+=(-L unit) ;;
    *)
        echo "usage: tests/run.sh [--asan] [--unit]" >&2
        exit 2
        ;;
    esac
done

"$root/.ci/install-deps.sh"
cmake -S "$root" -B "$build" "${cmake_args[@]}" > /dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure "${ctest_args[@]}"
