#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build Postie's example firmware for QEMU's mps2-an386 (Cortex-M4) with
# Debian's arm-none-eabi-gcc and newlib (nano): core/, port/common,
# port/lwip (raw API), port/mbedtls, the registry loader on cJSON, lwIP 2.2
# and mbedTLS 3.6 LTS (both from Debian trixie's source packages, fetched by
# boards/fetch-sources.sh), and the board (startup, console, clock,
# entropy, the LAN9118 netif driver, main.c).
#
#   boards/mps2-an386/build.sh --ca FILE [--smtp-port N] [--registry FILE] [OUTDIR]
#
#   --ca FILE        the CA certificate(s) (PEM) the firmware trusts, baked
#                    into flash (required: a board has no system bundle)
#   --smtp-port N    the port of the registry's relay session (default 587),
#                    filled into boards/mps2-an386/registry.json.in
#   --registry FILE  a registry JSON of your own instead (it must have the
#                    session java:comp/env/mail/Notify)
#   OUTDIR           default build-mps2-an386/ at the top
#
# Result: OUTDIR/postie-mps2-an386.elf (boot it with
#   qemu-system-arm -M mps2-an386 -nographic -kernel OUTDIR/postie-mps2-an386.elf \
#       -nic user,model=lan9118
# see the README, "The mps2-an386 board"), its map file, and its size.
#
# Everything is static: the build fails when the image links malloc, free,
# calloc, realloc or _sbrk (or their reentrant forms), or when .data + .bss
# + the stack do not fit the board's 4 MiB of RAM (the linker script's
# assertion). The build time (seconds since 1970) is the board's wall clock
# at boot (it has no RTC): certificates must already be valid then.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
board=$root/boards/mps2-an386
ca=""
smtp_port=587
registry=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --ca)
        ca=${2:?--ca needs a file}
        shift
        ;;
    --smtp-port)
        smtp_port=${2:?--smtp-port needs a number}
        shift
        ;;
    --registry)
        registry=${2:?--registry needs a file}
        shift
        ;;
    -h | --help)
        sed -n '3,30p' "$0"
        exit 0
        ;;
    -*)
        echo "build.sh: unknown option $1" >&2
        exit 2
        ;;
    *) out=$1 ;;
    esac
    shift
done
die() {
    echo "mps2-an386/build.sh: $*" >&2
    exit 1
}
[ -n "$ca" ] || die "--ca FILE is required (the CA the firmware trusts)"
[ -r "$ca" ] || die "cannot read $ca"
case "$smtp_port" in '' | *[!0-9]*) die "--smtp-port: not a number: $smtp_port" ;; esac
[ "$smtp_port" -ge 1 ] && [ "$smtp_port" -le 65535 ] || die "--smtp-port out of range: $smtp_port"
command -v arm-none-eabi-gcc > /dev/null || die "arm-none-eabi-gcc is missing (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)"
out=${out:-$root/build-mps2-an386}
mkdir -p "$out/obj"
out=$(cd "$out" && pwd)
obj=$out/obj

cc=arm-none-eabi-gcc
cpu=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
# The queue's first retry comes after POSTIE_QUEUE_BACKOFF_BASE_S (60 s by
# default); this demo shortens it so a deferred message is tried again
# within seconds (a config/ option like any other).
defs=(-DPOSTIE_QUEUE_BACKOFF_BASE_S=2u)
warn=(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
common=(-std=c99 "${cpu[@]}" -Os -g -ffunction-sections -fdata-sections "${defs[@]}")
flags=("${common[@]}" "${warn[@]}" -Wconversion -Wsign-conversion -I"$root/core/include" -I"$root/config")

# ---- sources from Debian (trixie): cJSON, lwIP, mbedTLS
"$root/boards/fetch-sources.sh" cjson lwip mbedtls
sources=${POSTIE_SOURCES_DIR:-$root/build-sources}
"$root/boards/build-mbedtls.sh" --firmware --toolchain "$root/boards/cortex-m4/toolchain.cmake" "$out/mbedtls"
mbed=$out/mbedtls/install
lwip=$sources/lwip/src
lwip_inc=(-I"$root/config/lwip/nosys" -I"$root/boards/cortex-m4/lwip" -I"$lwip/include")

# compile SRC OBJ FLAGS...: in the background, two at a time; skipped when
# OBJ is newer than everything it was made from (the compiler's -MMD list)
# and was made with the same flags
up_to_date() {
    local d
    [ -f "$1" ] && [ -f "$1.d" ] || return 1
    for d in $(sed -e 's/\\$//' -e 's/^[^:]*://' "$1.d"); do
        [ "$d" -nt "$1" ] && return 1
    done
    return 0
}
compile() {
    local src=$1 o=$2 sig
    shift 2
    sig=$(printf '%s\n' "$cc" "$src" "$@" | sha256sum | cut -c1-16)
    if [ "$(cat "$o.sig" 2> /dev/null)" = "$sig" ] && up_to_date "$o"; then
        return 0
    fi
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    { rm -f "$o.sig" && "$cc" "$@" -MMD -MF "$o.d" -c "$src" -o "$o" && echo "$sig" > "$o.sig"; } &
}

mkdir -p "$out/include/cjson"
cp "$sources/cjson/cJSON.h" "$out/include/cjson/cJSON.h"
objs=()
for src in "$root"/core/*/*.c; do
    o="$obj/core_$(basename "${src%.c}").o"
    if [ "$(basename "$src")" = registry_json.c ]; then
        compile "$src" "$o" "${flags[@]}" -I"$out/include"
    else
        compile "$src" "$o" "${flags[@]}"
    fi
    objs+=("$o")
done
for src in "$root"/port/common/*.c "$root/port/cjson/cjson_static.c"; do
    o="$obj/port_$(basename "${src%.c}").o"
    compile "$src" "$o" "${flags[@]}" -I"$root/port/include"
    objs+=("$o")
done
compile "$root/port/lwip/tcp_raw.c" "$obj/port_tcp_raw.o" "${flags[@]}" -I"$root/port/include" "${lwip_inc[@]}"
objs+=("$obj/port_tcp_raw.o")
compile "$root/port/mbedtls/tls.c" "$obj/port_tls.o" "${common[@]}" "${warn[@]}" -I"$mbed/include" \
    -I"$root/port/include" -I"$root/core/include" -I"$root/config"
objs+=("$obj/port_tls.o")
# cJSON unchanged, its allocator and strtod replaced (postie/cjson/cjson_static.h)
compile "$sources/cjson/cJSON.c" "$obj/cJSON.o" "${common[@]}" -Dmalloc=postie_cjson_no_malloc \
    -Dfree=postie_cjson_no_free -Drealloc=postie_cjson_no_realloc -Dstrtod=postie_cjson_strtod
objs+=("$obj/cJSON.o")
lwip_objs=()
for src in "$lwip"/core/{init,def,dns,inet_chksum,ip,mem,memp,netif,pbuf,stats,sys,tcp,tcp_in,tcp_out,timeouts,udp}.c \
    "$lwip"/core/ipv4/{etharp,icmp,ip4,ip4_addr,ip4_frag}.c "$lwip"/netif/ethernet.c; do
    o="$obj/lwip_$(basename "${src%.c}").o"
    compile "$src" "$o" "${common[@]}" -w "${lwip_inc[@]}"
    lwip_objs+=("$o")
done

# ---- what goes into flash besides the code: the registry, the CA, a seed
if [ -n "$registry" ]; then
    cp "$registry" "$out/registry.json"
else
    sed "s/@SMTP_PORT@/$smtp_port/" "$board/registry.json.in" > "$out/registry.json"
fi
cp "$ca" "$out/ca.pem"
head -c 32 /dev/urandom > "$out/seed.bin"
c_array() { # NAME FILE: a const array of FILE's octets and a NUL, and its size without the NUL
    echo "const $2 $1[] = {"
    od -An -v -tx1 "$3" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
    echo "0x00};"
    echo "const size_t $1_size = sizeof($1) - 1u;"
}
{
    echo '/* made by boards/mps2-an386/build.sh: the registry, the trusted CAs and the entropy seed */'
    echo '#include <stddef.h>'
    echo '#include <stdint.h>'
    echo 'extern const char board_registry_json[];'
    echo 'extern const size_t board_registry_json_size;'
    echo 'extern const uint8_t board_ca_blob[];'
    echo 'extern const size_t board_ca_blob_size;'
    echo 'extern const uint8_t postie_board_seed[32];'
    c_array board_registry_json char "$out/registry.json"
    # the CA blob's size counts its NUL: mbedTLS parses PEM with it
    c_array board_ca_blob uint8_t "$out/ca.pem" | sed 's/ - 1u;/;/'
    echo 'const uint8_t postie_board_seed[32] = {'
    od -An -v -tx1 "$out/seed.bin" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
    echo '};'
} > "$out/board_data.c"
rm -f "$out/seed.bin"

board_flags=("${common[@]}" "${warn[@]}" -DPOSTIE_BOARD_BUILD_EPOCH="$(date +%s)" -I"$board"
    -I"$root/core/include" -I"$root/config" -I"$root/port/include" -I"$mbed/include" "${lwip_inc[@]}")
for src in "$board"/{startup,printf,entropy,lan9118,main}.c "$out/board_data.c"; do
    o="$obj/board_$(basename "${src%.c}").o"
    compile "$src" "$o" "${board_flags[@]}"
    objs+=("$o")
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n; done

rm -f "$out/liblwip.a"
arm-none-eabi-ar rcs "$out/liblwip.a" "${lwip_objs[@]}"
elf=$out/postie-mps2-an386.elf
"$cc" "${cpu[@]}" -nostartfiles --specs=nano.specs --specs=nosys.specs -T "$board/mps2_an386.ld" \
    -Wl,--gc-sections -Wl,-Map="$out/postie-mps2-an386.map" -Wl,--no-warn-rwx-segments \
    "${objs[@]}" "$out/liblwip.a" "$mbed/lib/libmbedtls.a" "$mbed/lib/libmbedx509.a" \
    "$mbed/lib/libmbedcrypto.a" -lm -o "$elf"

# ---- nothing allocates: no allocator symbol may be in the image
heap=$(arm-none-eabi-nm "$elf" | awk '{print $NF}' |
    grep -E '^(_?malloc|_?calloc|_?realloc|_?free|_malloc_r|_calloc_r|_realloc_r|_free_r|_sbrk|_sbrk_r)$' || true)
if [ -n "$heap" ]; then
    die "the image links an allocator: $(echo "$heap" | tr '\n' ' ')(see $out/postie-mps2-an386.map)"
fi
echo "mps2-an386/build.sh: $elf: no allocator linked (malloc, free, calloc, realloc, _sbrk)"
echo "mps2-an386/build.sh: lwIP $(cat "$sources/lwip/.postie-unpacked"), mbedTLS $(cat "$sources/mbedtls/.postie-unpacked"), cJSON $(cat "$sources/cjson/.postie-unpacked"); SMTP port $smtp_port"
arm-none-eabi-size "$elf" | sed "s#$out/##"
