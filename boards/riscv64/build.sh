#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-compile core/ (and port/common, the portable driver and runner) for
# a 64-bit RISC-V (rv64imac, lp64) with riscv64-unknown-elf-gcc, freestanding:
# no C library is installed for that compiler, so the only header beyond
# C99's freestanding ones is boards/riscv64/freestanding/string.h, which
# declares the string functions core/ may call. Same warnings as the
# Cortex-M4 build (boards/cortex-m4/build.sh), -Werror: a 64-bit size_t and
# long under -Wconversion beside the Cortex-M4's 32-bit ones. The registry
# loader compiles against cJSON's header (boards/fetch-sources.sh).
#
# Fails if a file does not compile, or if core/ imports anything but those
# string functions (no allocator, no I/O, no libgcc helpers; the registry
# loader alone may use the soft-float helpers for cJSON's doubles).
#
# Usage: boards/riscv64/build.sh [OUTDIR]   (default build-riscv64)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build-riscv64}
cc=riscv64-unknown-elf-gcc
command -v "$cc" > /dev/null || {
    echo "riscv64/build.sh: $cc is not installed (Debian package gcc-riscv64-unknown-elf)" >&2
    exit 1
}
flags=(-std=c99 -march=rv64imac -mabi=lp64 -mcmodel=medany -ffreestanding -Os
    -ffunction-sections -fdata-sections -Wall -Wextra -Werror -Wshadow -Wconversion
    -Wsign-conversion -Wstrict-prototypes -Wmissing-prototypes
    -isystem "$root/boards/riscv64/freestanding" -I"$root/core/include" -I"$root/config")

"$root/boards/fetch-sources.sh" cjson > /dev/null
sources=${POSTIE_SOURCES_DIR:-$root/build-sources}
mkdir -p "$out/include/cjson"
cp "$sources/cjson/cJSON.h" "$out/include/cjson/cJSON.h"

objs=()
for src in "$root"/core/*/*.c "$root"/port/common/*.c; do
    rel=${src#"$root"/}
    obj="$out/${rel//\//.}"
    obj=${obj%.c}.o
    "$cc" "${flags[@]}" -I"$out/include" -I"$root/port/include" -c "$src" -o "$obj" || {
        echo "riscv64/build.sh: $rel does not compile for rv64imac" >&2
        exit 1
    }
    objs+=("$obj")
done

# The registry loader may also use libgcc's soft-float double helpers:
# cJSON hands it numbers as doubles (rv64imac has no FPU).
allowed='^(memchr|memcmp|memcpy|memmove|memset|strchr|strcmp|strlen|strncmp|strrchr|strstr)$'
soft_float='^__[a-z]+[sd]f[a-z0-9]*$'
imports=$(nm -u "${objs[@]}" 2>/dev/null | awk 'NF == 2 {print $2}' | grep -v '^postie_' |
    grep -v '^cJSON_' | sort -u)
bad=$(for obj in "${objs[@]}"; do
    nm -u "$obj" | awk 'NF == 2 {print $2}' | grep -v '^postie_' | grep -v '^cJSON_' |
        grep -Ev "$allowed" | { if [[ "$obj" == */core.session.registry_json.o ]]; then
            grep -Ev "$soft_float"; else cat; fi; } || true
done | sort -u)
if [ -n "$bad" ]; then
    echo "riscv64/build.sh: core/ and port/common import more than the string functions:" $bad >&2
    exit 1
fi
echo "core/ and port/common for rv64imac (freestanding, -Os): built with -Werror; imports:" $imports
riscv64-unknown-elf-size -t "${objs[@]}" | tail -n 1 | sed 's/(TOTALS)/core\/ + port\/common (text includes rodata)/'
