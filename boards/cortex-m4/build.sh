#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-compile core/ for a Cortex-M4F (thumb, hard float) with
# arm-none-eabi-gcc, as firmware would, and report code size and the RAM
# of each engine object. Proves core/ needs no OS, no allocator and no
# host headers beyond the freestanding C library.
#
# Usage: boards/cortex-m4/build.sh [OUTDIR]   (default build-cortex-m4)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build-cortex-m4}
cc=arm-none-eabi-gcc
flags=(-std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os
    -ffunction-sections -fdata-sections -Wall -Wextra -Werror -Wshadow -Wconversion
    -Wsign-conversion -Wstrict-prototypes -Wmissing-prototypes
    -I"$root/core/include" -I"$root/config")

mkdir -p "$out"
objs=()
for src in "$root"/core/*.c; do
    # the registry needs cJSON, which a firmware build takes from the cJSON
    # sources (Debian source package); this build covers what needs nothing
    [ "$(basename "$src")" = registry.c ] && continue
    obj="$out/$(basename "${src%.c}").o"
    "$cc" "${flags[@]}" -c "$src" -o "$obj"
    objs+=("$obj")
done
rm -f "$out/libpostie_core.a"
arm-none-eabi-ar rcs "$out/libpostie_core.a" "${objs[@]}"

# The undefined symbols must be plain C library routines, no allocator.
"$root/.ci/check-no-alloc.sh" "$out/libpostie_core.a"

# sizeof() of the objects, read from the compiler without running anything.
cat > "$out/sizes.c" <<'C'
#include "postie/mime.h"
#include "postie/queue.h"
#include "postie/smtp.h"
char size_smtp_engine[sizeof(postie_smtp_t)];
char size_mime_writer[sizeof(postie_mime_writer_t)];
char size_smtp_rcpt[sizeof(postie_smtp_rcpt_t)];
char size_line_reader[sizeof(postie_line_reader_t)];
char size_body_encoder[sizeof(postie_body_encoder_t)];
char size_queue[sizeof(postie_queue_t)];
char size_queue_entry[sizeof(postie_queue_entry_t)];
char size_queue_ram_store[sizeof(postie_queue_ram_t)];
C
"$cc" "${flags[@]}" -c "$out/sizes.c" -o "$out/sizes.o"
echo "code and data of core/ for Cortex-M4 (-Os):"
arm-none-eabi-size -t "${objs[@]}" | sed "s#$out/##"
echo "RAM per object (octets):"
arm-none-eabi-nm -S --size-sort "$out/sizes.o" | while read -r _ size _ name; do
    printf '  %-22s %d\n' "${name#size_}" "$((16#$size))"
done
