#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-compile core/ for a Cortex-M4F (thumb, hard float) with
# arm-none-eabi-gcc, as firmware would, and report code size and the RAM
# of each engine object. Proves core/ needs no OS, no allocator and no
# host headers beyond the freestanding C library.
#
# The registry's session model (core/session/registry.c) is part of core/;
# its JSON loader (core/session/registry_json.c) is built too, on cJSON
# 1.7.18 compiled from Debian's source package (fetched by boards/fetch-sources.sh) without a heap (see
# port/include/postie/cjson/cjson_static.h), and linked into a small image with newlib as
# firmware links it; the image must hold no allocator symbol.
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
for src in "$root"/core/*/*.c; do
    # the registry loader needs cJSON: built below, in a library of its own
    [ "$(basename "$src")" = registry_json.c ] && continue
    obj="$out/$(basename "${src%.c}").o"
    "$cc" "${flags[@]}" -c "$src" -o "$obj"
    objs+=("$obj")
done
# port/common (the transport interface, the one driver, the event-driven runner) is portable too:
# firmware runs the engines with it, so it is built with the same warnings
port_objs=()
for src in "$root"/port/common/*.c; do
    obj="$out/port_$(basename "${src%.c}").o"
    "$cc" "${flags[@]}" -I"$root/port/include" -c "$src" -o "$obj"
    port_objs+=("$obj")
done
rm -f "$out/libpostie_port_common.a"
arm-none-eabi-ar rcs "$out/libpostie_port_common.a" "${port_objs[@]}"
rm -f "$out/libpostie_core.a"
arm-none-eabi-ar rcs "$out/libpostie_core.a" "${objs[@]}"

# The undefined symbols must be plain C library routines, no allocator.
"$root/.ci/check-no-alloc.sh" "$out/libpostie_core.a"
# ... and no 64-bit division: libgcc's costs about 0.9 KiB of flash, and
# nothing in core/ needs it (numbers are formatted, dates computed and
# overflow checked in 32-bit steps).
div64=$(arm-none-eabi-nm -u "$out/libpostie_core.a" | awk '{print $NF}' |
    grep -E '^__aeabi_u?ldivmod$|^__u?divdi3$|^__u?moddi3$|^__udivmoddi4$' | sort -u || true)
if [ -n "$div64" ]; then
    echo "core/ calls 64-bit division:" $div64 >&2
    arm-none-eabi-nm -A -u "$out/libpostie_core.a" | grep -E 'ldivmod|divdi3|moddi3|divmoddi4' >&2
    exit 1
fi

# ---- the registry loader on cJSON from Debian's source package, without a heap
"$root/boards/fetch-sources.sh" cjson
sources=${POSTIE_SOURCES_DIR:-$root/build-sources}
mkdir -p "$out/include/cjson"
cp "$sources/cjson/cJSON.h" "$out/include/cjson/cJSON.h"
cjson_flags=(-std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os
    -ffunction-sections -fdata-sections -Dmalloc=postie_cjson_no_malloc -Dfree=postie_cjson_no_free
    -Drealloc=postie_cjson_no_realloc -Dstrtod=postie_cjson_strtod)
"$cc" "${cjson_flags[@]}" -c "$sources/cjson/cJSON.c" -o "$out/cJSON.o"
"$cc" "${flags[@]}" -I"$root/port/include" -c "$root/port/cjson/cjson_static.c" -o "$out/cjson_static.o"
"$cc" "${flags[@]}" -I"$out/include" -c "$root/core/session/registry_json.c" -o "$out/registry_json.o"
rm -f "$out/libpostie_registry.a"
arm-none-eabi-ar rcs "$out/libpostie_registry.a" "$out/registry_json.o" "$out/cJSON.o" "$out/cjson_static.o"

# Link an image that loads config/registry.example.json from flash, with
# newlib (nano) as firmware would, and look for allocators in the result.
{
    echo '/* made by boards/cortex-m4/build.sh from config/registry.example.json */'
    echo '#include <stddef.h>'
    echo 'extern const char registry_json[];'
    echo 'extern const size_t registry_json_size;'
    echo 'const char registry_json[] = {'
    od -An -v -tx1 "$root/config/registry.example.json" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
    echo '};'
    echo 'const size_t registry_json_size = sizeof(registry_json);'
} > "$out/registry_flash.c"
"$cc" "${flags[@]}" -c "$out/registry_flash.c" -o "$out/registry_flash.o"
"$cc" "${flags[@]}" -c "$root/boards/cortex-m4/registry_image.c" -o "$out/registry_image.o"
"$cc" -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -nostartfiles \
    --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -Wl,--entry=registry_image_entry \
    "$out/registry_image.o" "$out/registry_flash.o" "$out/libpostie_registry.a" \
    "$out/libpostie_core.a" -lm -o "$out/registry_image.elf"
heap=$(arm-none-eabi-nm "$out/registry_image.elf" |
    awk '{print $NF}' | grep -E '^(_?malloc|_?calloc|_?realloc|_?free|_malloc_r|_calloc_r|_realloc_r|_free_r|_sbrk|_sbrk_r)$' || true)
if [ -n "$heap" ]; then
    echo "registry image links an allocator:" $heap >&2
    exit 1
fi
echo "registry image (registry + cJSON $(cat "$sources/cjson/.postie-unpacked")): no allocator linked"
arm-none-eabi-size "$out/registry_image.elf" | sed "s#$out/##"

# ---- port/lwip (bare metal, NO_SYS=1) against lwIP 2.2 from Debian trixie's
# source package, with the smallest option header Postie runs on
# (config/lwip/nosys/lwipopts.h): the raw-API transport and lwIP itself.
"$root/boards/fetch-sources.sh" lwip
lwip=$sources/lwip/src
lwip_inc=(-I"$root/config/lwip/nosys" -I"$root/boards/cortex-m4/lwip" -I"$lwip/include")
lwip_objs=()
for src in "$lwip"/core/{init,def,dns,inet_chksum,ip,mem,memp,netif,pbuf,stats,sys,tcp,tcp_in,tcp_out,timeouts,udp}.c \
    "$lwip"/core/ipv4/{etharp,icmp,ip4,ip4_addr,ip4_frag}.c "$lwip"/netif/ethernet.c; do
    obj="$out/lwip_$(basename "${src%.c}").o"
    "$cc" -std=c99 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os \
        -ffunction-sections -fdata-sections -w "${lwip_inc[@]}" -c "$src" -o "$obj"
    lwip_objs+=("$obj")
done
rm -f "$out/liblwip.a"
arm-none-eabi-ar rcs "$out/liblwip.a" "${lwip_objs[@]}"
"$cc" "${flags[@]}" -I"$root/port/include" "${lwip_inc[@]}" -c "$root/port/lwip/tcp_raw.c" \
    -o "$out/port_lwip_tcp_raw.o"
echo "port/lwip on lwIP $(cat "$sources/lwip/.postie-unpacked") (NO_SYS=1, config/lwip/nosys/lwipopts.h):"
arm-none-eabi-size "$out/port_lwip_tcp_raw.o" "$out/port_runner.o" | sed "s#$out/##"
arm-none-eabi-size -t "${lwip_objs[@]}" | tail -n 1 | sed 's/(TOTALS)/lwIP (core, IPv4, ARP, DNS, TCP, UDP)/'

# sizeof() of the objects, read from the compiler without running anything.
cat > "$out/sizes.c" <<'C'
#include "postie/fetch/fetch.h"
#include "postie/imap/imap.h"
#include "postie/mime/mime.h"
#include "postie/queue/delivery.h"
#include "postie/queue/queue.h"
#include "postie/pop3/pop3.h"
#include "postie/session/registry.h"
#include "postie/smtp/smtp.h"
char size_smtp_engine[sizeof(postie_smtp_t)];
char size_pop3_engine[sizeof(postie_pop3_t)];
char size_imap_engine[sizeof(postie_imap_t)];
char size_mime_writer[sizeof(postie_mime_writer_t)];
char size_smtp_rcpt[sizeof(postie_smtp_rcpt_t)];
char size_line_reader[sizeof(postie_line_reader_t)];
char size_body_encoder[sizeof(postie_body_encoder_t)];
char size_queue[sizeof(postie_queue_t)];
char size_queue_entry[sizeof(postie_queue_entry_t)];
char size_queue_ram_store[sizeof(postie_queue_ram_t)];
char size_delivery_run[sizeof(postie_delivery_t)];
char size_registry[sizeof(postie_registry_t)];
char size_fetch_run[sizeof(postie_fetch_t)];
char size_fetch_state[sizeof(postie_fetch_state_t)];
C
"$cc" "${flags[@]}" -c "$out/sizes.c" -o "$out/sizes.o"
echo "code and data of core/ for Cortex-M4 (-Os):"
arm-none-eabi-size -t "${objs[@]}" "${port_objs[@]}" "$out/registry_json.o" "$out/cJSON.o" "$out/cjson_static.o" | sed "s#$out/##"
echo "RAM per object (octets):"
arm-none-eabi-nm -S --size-sort "$out/sizes.o" | while read -r _ size _ name; do
    printf '  %-22s %d\n' "${name#size_}" "$((16#$size))"
done
