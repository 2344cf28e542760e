#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build mbedTLS 3.6 LTS from Debian trixie's source package (fetched by
# boards/fetch-sources.sh into build-sources/, nothing kept in git) with
# CMake, library only (no programs, no tests), into a build folder:
#
#   boards/build-mbedtls.sh [--firmware] [--toolchain FILE] [OUTDIR]
#
#   (default)    the host build Postie's tests run against:
#                OUTDIR (default build-mbedtls/host) /install/{include,lib}
#                Configure Postie with
#                  cmake -S . -B build-mbedtls36 -DPOSTIE_MBEDTLS_ROOT=$PWD/build-mbedtls/host/install
#   --firmware   the firmware configuration, config/mbedtls_config_firmware.h
#                (TLS 1.2 + 1.3 client, X.509, static arena, small records),
#                default OUTDIR build-mbedtls/firmware; then compiles
#                port/mbedtls/tls.c against it with the same compiler and
#                -Werror, and prints the code size.
#   --toolchain FILE  a CMake toolchain file, for a cross build, e.g.
#                boards/cortex-m4/toolchain.cmake (arm-none-eabi-gcc).
#
# The host configuration is mbedTLS's default (TLS 1.2 and 1.3, every
# usual algorithm) plus what Postie's layer uses on firmware too, so the
# host tests cover it:
#   MBEDTLS_MEMORY_BUFFER_ALLOC_C + MBEDTLS_PLATFORM_MEMORY   the static arena
#   MBEDTLS_MEMORY_DEBUG               the arena's high-water mark
#   MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG    PSA draws from Postie's DRBG, which the
#                                      port's entropy hook seeds
#   MBEDTLS_THREADING_C + _PTHREAD     as Debian builds it: the DRBG is locked
# The effective configuration is written to OUTDIR/postie_mbedtls_config.h
# and installed as the install tree's mbedtls/mbedtls_config.h, so whatever
# compiles against the install sees exactly what the library was built with.
#
# A build whose sources, configuration and options are unchanged is not
# redone (a stamp in OUTDIR), so CI pays for it once per build folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
firmware=0
toolchain=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --firmware) firmware=1 ;;
    --toolchain)
        toolchain=${2:?--toolchain needs a file}
        shift
        ;;
    -h | --help)
        sed -n '3,30p' "$0"
        exit 0
        ;;
    -*)
        echo "build-mbedtls.sh: unknown option $1" >&2
        exit 2
        ;;
    *) out=$1 ;;
    esac
    shift
done
if [ -z "$out" ]; then
    if [ "$firmware" = 1 ]; then out=$root/build-mbedtls/firmware; else out=$root/build-mbedtls/host; fi
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

die() {
    echo "build-mbedtls.sh: $*" >&2
    exit 1
}

"$root/boards/fetch-sources.sh" mbedtls
src=$root/build-sources/mbedtls
[ -n "${POSTIE_SOURCES_DIR:-}" ] && src=$POSTIE_SOURCES_DIR/mbedtls
version=$(cat "$src/.postie-unpacked")
case "$version" in
3.6.*) ;;
*) die "expected mbedTLS 3.6.x from the source package, found $version" ;;
esac

# The configuration header.
config=$out/postie_mbedtls_config.h
if [ "$firmware" = 1 ]; then
    cp "$root/config/mbedtls_config_firmware.h" "$config.new"
else
    cp "$src/include/mbedtls/mbedtls_config.h" "$config.new"
    for opt in MBEDTLS_MEMORY_BUFFER_ALLOC_C MBEDTLS_PLATFORM_MEMORY MBEDTLS_MEMORY_DEBUG \
        MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD; do
        /usr/bin/python3 "$src/scripts/config.py" -f "$config.new" set "$opt"
    done
fi
if ! cmp -s "$config.new" "$config"; then mv "$config.new" "$config"; else rm -f "$config.new"; fi

stamp_want="mbedtls $version firmware=$firmware toolchain=$toolchain config=$(sha256sum < "$config" | cut -c1-16)"
if [ -f "$out/install/.postie-stamp" ] && [ "$(cat "$out/install/.postie-stamp")" = "$stamp_want" ]; then
    echo "build-mbedtls.sh: mbedTLS $version already built in $out/install"
    exit 0
fi

cmake_args=(-S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release
    -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF -DGEN_FILES=OFF
    -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DMBEDTLS_FATAL_WARNINGS=OFF
    -DMBEDTLS_CONFIG_FILE="$config" -DCMAKE_INSTALL_PREFIX="$out/install")
[ -n "$toolchain" ] && cmake_args+=(-DCMAKE_TOOLCHAIN_FILE="$toolchain")
echo "build-mbedtls.sh: building mbedTLS $version into $out (log: $out/build.log)"
{
    cmake "${cmake_args[@]}" &&
        cmake --build "$out/build" -j "$(nproc)" &&
        cmake --install "$out/build"
} > "$out/build.log" 2>&1 || {
    tail -n 40 "$out/build.log" >&2
    die "the mbedTLS build failed (see $out/build.log)"
}
# Consumers of the install tree see the configuration the library has.
cp "$config" "$out/install/include/mbedtls/mbedtls_config.h"

if [ "$firmware" = 1 ]; then
    # The firmware configuration and Postie's TLS layer build together, with
    # the compiler and flags of this build (cross with --toolchain).
    cc=$(sed -n 's/^set(CMAKE_C_COMPILER "\(.*\)")$/\1/p' "$out"/build/CMakeFiles/*/CMakeCCompiler.cmake |
        head -n 1)
    [ -n "$cc" ] || die "no C compiler recorded in $out/build/CMakeFiles"
    read -r -a cflags <<< "$(sed -n 's/^CMAKE_C_FLAGS:[A-Z]*=//p' "$out/build/CMakeCache.txt") -Os"
    "$cc" "${cflags[@]}" -std=c99 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -I"$out/install/include" -I"$root/port/include" \
        -I"$root/core/include" -I"$root/config" -c "$root/port/mbedtls/tls.c" -o "$out/tls.o" ||
        die "port/mbedtls/tls.c does not build with the firmware configuration"
    size=size # arm-none-eabi-gcc -> arm-none-eabi-size
    case "$cc" in *-gcc) size=${cc%gcc}size ;; esac
    command -v "$size" > /dev/null || size=size
    "$size" -t "$out/tls.o" "$out"/install/lib/libmbed*.a | awk '
        /TOTALS/ {t += $1; d += $2; b += $3}
        /tls\.o$/ {t += $1; d += $2; b += $3}
        END {printf "build-mbedtls.sh: tls.o and the three libraries (an upper bound: a linked image keeps what it uses): text %d, data %d, bss %d octets\n", t, d, b}'
fi
echo "$stamp_want" > "$out/install/.postie-stamp"
echo "build-mbedtls.sh: mbedTLS $version in $out/install"
