#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Postie's footprint on a Cortex-M4F (arm-none-eabi-gcc -Os, thumb, hard
# float), in one command (issue #14 points 4 and 5):
#
#   - .text, .rodata, .data and .bss per module, from the objects compiled
#     with the firmware flags (boards/cortex-m4/build.sh's), with the default
#     configuration and with the small preset (config/postie_config_small.h);
#   - sizeof() of every public object on the target, read from a probe
#     object (char probe[sizeof(T)]; nm -S), nothing run;
#   - the whole firmware image with arm-none-eabi-size, when one is given;
#   - the mbedTLS arena's high-water mark for one SMTPS session, from the
#     firmware's UART log (its "tls-arena-high-water: N" line) or a number
#     measured elsewhere;
#   - the budgets of issue #14 and how far each is. Budgets are reported,
#     never asserted.
#
# It fails when it cannot measure: a compile that fails, a source file of
# core/ or port/common/ that no module claims, a header that does not build
# for the target, an image or log that is missing or has no such line.
#
# Usage: tests/bench/footprint.sh [--image ELF [--map MAP]] [--uart LOG]
#            [--arena OCTETS] [--arena-source TEXT] [OUTDIR]
#   OUTDIR        default build-footprint/ at the top; the tables are also
#                 written to OUTDIR/footprint.md
#   --image ELF   the whole firmware image (default: $POSTIE_FOOTPRINT_IMAGE)
#   --map MAP     its GNU ld map (default: the image's name with .map, if
#                 there): what each module, lwIP, mbedTLS, cJSON, the C
#                 library and the board keep in the linked image
#   --uart LOG    the firmware's UART output holding "tls-arena-high-water: N"
#                 (default: $POSTIE_FOOTPRINT_UART)
#   --arena N     the high-water mark in octets when there is no UART log,
#                 with --arena-source saying where it was measured
#   --arena-source TEXT  where the number was measured (with --uart: for a
#                 log that is not the firmware's, e.g. tests/bench/tls_arena.sh's)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
image=${POSTIE_FOOTPRINT_IMAGE:-}
uart=${POSTIE_FOOTPRINT_UART:-}
map=""
arena=""
arena_source=""
die() {
    echo "footprint.sh: $*" >&2
    exit 1
}
while [ $# -gt 0 ]; do
    case "$1" in
    --image)
        image=${2:?--image needs a file}
        shift
        ;;
    --uart)
        uart=${2:?--uart needs a file}
        shift
        ;;
    --map)
        map=${2:?--map needs a file}
        shift
        ;;
    --arena)
        arena=${2:?--arena needs a number}
        shift
        ;;
    --arena-source)
        arena_source=${2:?--arena-source needs a text}
        shift
        ;;
    -h | --help)
        sed -n '3,37p' "$0"
        exit 0
        ;;
    -*) die "unknown option $1" ;;
    *) out=$1 ;;
    esac
    shift
done
out=${out:-$root/build-footprint}
cc=arm-none-eabi-gcc
command -v "$cc" > /dev/null || die "$cc is not installed (Debian package gcc-arm-none-eabi)"
[ -z "$arena" ] || [[ "$arena" =~ ^[0-9]+$ ]] || die "--arena: \"$arena\" is not a number of octets"
[ -z "$arena" ] || [ -n "$arena_source" ] || die "--arena needs --arena-source (where it was measured)"
if [ -n "$uart" ]; then
    [ -r "$uart" ] || die "no UART log at $uart"
    line=$(grep -a -o 'tls-arena-high-water: [0-9]*' "$uart" | tail -n 1 || true)
    [ -n "$line" ] || die "$uart has no \"tls-arena-high-water: N\" line"
    arena=${line##* }
    [ -n "$arena_source" ] || arena_source="QEMU mps2-an386, the firmware's UART (${uart#"$root"/})"
fi
if [ -n "$image" ]; then
    [ -r "$image" ] || die "no firmware image at $image"
fi

"$root/boards/fetch-sources.sh" cjson lwip mbedtls > /dev/null
sources=${POSTIE_SOURCES_DIR:-$root/build-sources}
for p in cjson/cJSON.c lwip/src/include/lwip/tcp.h mbedtls/include/mbedtls/ssl.h; do
    [ -e "$sources/$p" ] || die "missing $sources/$p (boards/fetch-sources.sh)"
done

arch=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
flags=(-std=c99 "${arch[@]}" -Os -ffunction-sections -fdata-sections -Wall -Wextra -Werror
    -Wshadow -Wconversion -Wsign-conversion -Wstrict-prototypes -Wmissing-prototypes
    -I"$root/core/include" -I"$root/config" -I"$root/port/include")
lwip_inc=(-I"$root/config/lwip/nosys" -I"$root/boards/cortex-m4/lwip" -I"$sources/lwip/src/include")
tls_inc=(-I"$sources/mbedtls/include" "-DMBEDTLS_CONFIG_FILE=\"mbedtls_config_firmware.h\"")
mkdir -p "$out/include/cjson"
cp "$sources/cjson/cJSON.h" "$out/include/cjson/cJSON.h"

# Every measured source: core/ whole, the portable port/ code firmware links,
# and cJSON. The object of SRC is OUT/CONFIG/SRC with / turned into . (.o).
srcs=()
for s in "$root"/core/*/*.c "$root"/port/common/*.c port/lwip/tcp_raw.c port/mbedtls/tls.c \
    port/cjson/cjson_static.c; do
    srcs+=("${s#"$root"/}")
done
obj_of() { # CONFIG SRC
    local s=${2#"$sources"/}
    s=${s//\//.}
    echo "$out/$1/${s%.c}.o"
}

# Build everything for one configuration: CONFIG then extra compiler flags.
build() {
    local config=$1
    shift
    local extra=("$@") src more
    mkdir -p "$out/$config"
    for src in "${srcs[@]}"; do
        more=()
        case "$src" in
        core/session/registry_json.c) more=(-I"$out/include") ;;
        port/lwip/*) more=("${lwip_inc[@]}") ;;
        port/mbedtls/*) more=("${tls_inc[@]}") ;;
        esac
        "$cc" "${flags[@]}" "${extra[@]}" "${more[@]}" -c "$root/$src" -o "$(obj_of "$config" "$src")" ||
            die "$src does not compile for the Cortex-M4 ($config configuration)"
    done
    # cJSON as boards/cortex-m4/build.sh builds it: Debian's file unchanged,
    # without a heap and without warnings of ours
    "$cc" -std=c99 "${arch[@]}" -Os -ffunction-sections -fdata-sections \
        -Dmalloc=postie_cjson_no_malloc -Dfree=postie_cjson_no_free \
        -Drealloc=postie_cjson_no_realloc -Dstrtod=postie_cjson_strtod \
        -c "$sources/cjson/cJSON.c" -o "$(obj_of "$config" "$sources/cjson/cJSON.c")" ||
        die "cJSON does not compile for the Cortex-M4"
    probe "$config" "${extra[@]}"
}

# sizeof() of every public struct: each one a char array of that size in a
# probe object, read back with nm -S. The list is taken from the headers
# (every top-level "typedef struct|union ... } postie_x_t;"), so a new
# public object is measured without editing this script. The POSIX port
# is left out: it has no Cortex-M4 build.
probe() {
    local config=$1
    shift
    local h
    {
        echo '/* made by tests/bench/footprint.sh */'
        for h in "$root"/core/include/postie/*/*.h "$root"/port/include/postie/*/*.h; do
            case "$h" in */posix/*) continue ;; esac
            echo "#include \"${h#"$root"/*/include/}\""
        done
        for h in "$root"/core/include/postie/*/*.h "$root"/port/include/postie/*/*.h; do
            case "$h" in */posix/*) continue ;; esac
            awk '/^typedef (struct|union)/ {open = 1}
                 open && /^} postie_[a-z0-9_]+_t;/ {
                     name = $2; sub(/;$/, "", name); open = 0
                     printf "char probe_%s[sizeof(%s)];\n", name, name
                 }' "$h"
        done
    } > "$out/$config/probe.c"
    "$cc" "${flags[@]}" "$@" -I"$out/include" "${lwip_inc[@]}" "${tls_inc[@]}" -c "$out/$config/probe.c" \
        -o "$out/$config/probe.o" || die "the sizeof probe does not compile ($config configuration)"
    arm-none-eabi-nm -S "$out/$config/probe.o" | while read -r _ size _ name; do
        case "$name" in probe_*) echo "${name#probe_} $((16#$size))" ;; esac
    done | sort > "$out/$config/sizes.txt"
    [ -s "$out/$config/sizes.txt" ] || die "the sizeof probe gave no sizes"
}

# the two configurations side by side (two cores)
build default &
default_pid=$!
build small '-DPOSTIE_CONFIG_FILE="postie_config_small.h"' &
small_pid=$!
wait "$default_pid" || die "the default configuration's build failed"
wait "$small_pid" || die "the small configuration's build failed"

# .text .rodata .data .bss of some objects (sections of -ffunction-sections
# and -fdata-sections summed by kind).
sections() { # OBJ...
    arm-none-eabi-size -A -d "$@" | awk '
        /^\.text/ {t += $2} /^\.rodata/ {r += $2} /^\.data/ {d += $2} /^\.bss/ {b += $2}
        END {printf "%d %d %d %d\n", t, r, d, b}'
}

# The modules. Each source of core/ and port/common/ must be in exactly one.
modules=(
    "SMTP engine|core/smtp/smtp.c core/smtp/smtp_caps.c core/smtp/smtp_reply.c core/smtp/body.c core/common/line.c core/common/base64.c core/common/status.c"
    "common floor (address, text, UTF-8, SASL, version)|core/common/address.c core/common/text.c core/common/utf8.c core/common/sasl.c core/common/version.c"
    "message writer|core/mime/mime.c core/mime/mime_encode.c"
    "templates|core/session/template.c"
    "session model|core/session/registry.c core/session/session_map.c"
    "registry loader (JSON)|core/session/registry_json.c"
    "queue and delivery run|core/queue/queue.c core/queue/queue_policy.c core/queue/queue_ram.c core/queue/delivery.c"
    "POP3 engine (and MD5 for APOP)|core/pop3/pop3.c core/common/md5.c"
    "IMAP engine|core/imap/imap.c core/imap/imap_fetch.c core/imap/imap_syntax.c"
    "fetch engine|core/fetch/fetch.c core/fetch/fetch_state.c core/fetch/archive.c"
    "OAuth 2.0 (HTTP client for the token endpoints, token login)|core/common/http.c port/common/oauth_login.c"
    "driver (port/common)|port/common/driver.c port/common/driver_smtp.c port/common/driver_pop3.c port/common/driver_imap.c port/common/transport.c"
    "lwIP port (raw API, runner)|port/lwip/tcp_raw.c port/common/runner.c"
    "TLS layer (mbedTLS 3.6, firmware config)|port/mbedtls/tls.c"
)
# the SMTP-sending subset of core/: everything but POP3, IMAP and fetching
sending_modules="SMTP engine|common floor|message writer|templates|session model|registry loader|queue"
claimed=" "
for m in "${modules[@]}"; do
    for s in ${m#*|}; do
        case "$claimed" in *" $s "*) die "$s is in two modules" ;; esac
        [ -e "$root/$s" ] || die "module ${m%%|*}: no $s"
        claimed+="$s "
    done
done
for s in "${srcs[@]}"; do
    case "$s" in core/* | port/common/*) ;; *) continue ;; esac
    case "$claimed" in *" $s "*) ;; *) die "$s is in no module: add it to the list in $0" ;; esac
done

kib() { awk -v n="$1" 'BEGIN {printf "%.1f", n / 1024}'; }
report=$out/footprint.md
{
    echo "Cortex-M4F, arm-none-eabi-gcc $("$cc" -dumpversion) -Os -ffunction-sections; per object file, before"
    echo "the linker drops unused functions. Octets; \"small\" is config/postie_config_small.h."
    echo
    echo "| Module | .text | .rodata | .data | .bss | .text+.rodata | small: .text+.rodata |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
} > "$report"
core_tr=0 core_all=(0 0 0 0) send_tr=0 send_all=(0 0 0 0) core_small=0 send_small=0
declare -A tr_of small_of
for m in "${modules[@]}"; do
    name=${m%%|*}
    objs=() sobjs=()
    for s in ${m#*|}; do
        objs+=("$(obj_of default "$s")")
        sobjs+=("$(obj_of small "$s")")
    done
    read -r t r d b <<< "$(sections "${objs[@]}")"
    read -r st sr _ _ <<< "$(sections "${sobjs[@]}")"
    tr_of[$name]=$((t + r))
    small_of[$name]=$((st + sr))
    printf '| %s | %d | %d | %d | %d | %d | %d |\n' "$name" "$t" "$r" "$d" "$b" $((t + r)) $((st + sr)) >> "$report"
    case "${m#*|}" in
    core/*)
        core_all=($((core_all[0] + t)) $((core_all[1] + r)) $((core_all[2] + d)) $((core_all[3] + b)))
        core_small=$((core_small + st + sr))
        if [[ "$name" =~ ^($sending_modules) ]]; then
            send_all=($((send_all[0] + t)) $((send_all[1] + r)) $((send_all[2] + d)) $((send_all[3] + b)))
            send_small=$((send_small + st + sr))
        fi
        ;;
    esac
done
core_tr=$((core_all[0] + core_all[1]))
send_tr=$((send_all[0] + send_all[1]))
read -r t r d b <<< "$(sections "$(obj_of default "$sources/cjson/cJSON.c")")"
read -r st sr _ _ <<< "$(sections "$(obj_of small "$sources/cjson/cJSON.c")" "$(obj_of small port/cjson/cjson_static.c)")"
read -r t2 r2 d2 b2 <<< "$(sections "$(obj_of default port/cjson/cjson_static.c)")"
{
    printf '| cJSON %s without a heap (and port/cjson) | %d | %d | %d | %d | %d | %d |\n' \
        "$(cut -d- -f1 "$sources/cjson/.postie-unpacked")" $((t + t2)) $((r + r2)) $((d + d2)) $((b + b2)) \
        $((t + t2 + r + r2)) $((st + sr))
    printf '| **core/, SMTP-sending subset** (no POP3, IMAP, fetch) | %d | %d | %d | %d | %d | %d |\n' \
        "${send_all[@]}" "$send_tr" "$send_small"
    printf '| **all of core/** (no mbedTLS, lwIP, cJSON) | %d | %d | %d | %d | %d | %d |\n' \
        "${core_all[@]}" "$core_tr" "$core_small"
} >> "$report"

# the whole image, and with its linker map what each part keeps in it
if [ -n "$image" ]; then
    {
        echo
        echo "Whole image \`$(basename "$image")\` (arm-none-eabi-size: text is .text+.rodata and"
        echo "the vector table, flash is text+data, RAM data+bss):"
        echo
        echo '```'
        arm-none-eabi-size "$image" | sed "s#$(dirname "$image")/##"
        echo '```'
    } >> "$report"
    [ -n "$map" ] || { [ -r "${image%.elf}.map" ] && map=${image%.elf}.map; } || true
fi
linked=""
if [ -n "$map" ]; then
    [ -r "$map" ] || die "no linker map at $map"
    # object name -> module: core/x/NAME.c is NAME.o or core_NAME.o (or
    # this script's core.x.NAME.o), port/y/NAME.c likewise with port_
    names=$(for m in "${modules[@]}"; do
        for s in ${m#*|}; do
            b=$(basename "${s%.c}")
            l=${s%%/*}
            dotted=${s%.c}
            printf '%s\t%s\n' "$b" "${m%%|*}" "${l}_$b" "${m%%|*}" "${dotted//\//.}" "${m%%|*}"
        done
    done)
    linked=$(POSTIE_MAP_NAMES=$names awk '
        BEGIN {
            n = split(ENVIRON["POSTIE_MAP_NAMES"], lines, "\n")
            for (i = 1; i <= n; i++) { split(lines[i], f, "\t"); mod[f[1]] = f[2] }
        }
        function kind(sec) {
            if (sec ~ /^\.text/) return 1
            if (sec ~ /^\.rodata/) return 2
            if (sec ~ /^\.data/) return 3
            if (sec ~ /^\.bss/ || sec == "COMMON") return 4
            return 0
        }
        function owner(file,    b) {
            if (file ~ /liblwip\.a\(/) return "lwIP 2.2 (core, IPv4, ARP, DNS, TCP, UDP)"
            if (file ~ /libmbed(tls|x509|crypto)\.a\(/) return "mbedTLS 3.6 (firmware configuration)"
            if (file ~ /lib(c|c_nano|g|g_nano|m|gcc|nosys)\.a\(/ || file ~ /crt[^\/]*\.o$/)
                return "C library, libm and libgcc"
            b = file; sub(/.*\//, "", b); sub(/\.o$/, "", b)
            if (b in mod) return mod[b]
            if (b == "cJSON") return "cJSON 1.7.18 without a heap (and port/cjson)"
            return "the board (startup, console, driver, main, data in flash)"
        }
        function add(sec, size, file,    k, o) {
            k = kind(sec)
            if (k == 0) return
            o = owner(file)
            sum[o, k] += hex2num(size)
            seen[o] = 1
        }
        function hex2num(h,    v, i, c) {
            v = 0; h = tolower(h); sub(/^0x/, "", h)
            for (i = 1; i <= length(h); i++) { c = index("0123456789abcdef", substr(h, i, 1)) - 1; v = v * 16 + c }
            return v
        }
        /^Linker script and memory map/ { on = 1; next }
        !on { next }
        /^ [.A-Za-z_]/ && $1 != "*fill*" && $1 !~ /^0x/ {
            if (NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/) { add($1, $3, $4); pending = "" }
            else if (NF == 1) pending = $1
            else pending = ""
            next
        }
        pending != "" && NF == 3 && $1 ~ /^0x/ && $2 ~ /^0x/ { add(pending, $2, $3); pending = ""; next }
        { pending = "" }
        END { for (o in seen) printf "%s\t%d\t%d\t%d\t%d\n", o, sum[o, 1], sum[o, 2], sum[o, 3], sum[o, 4] }
    ' "$map")
    [ -n "$linked" ] || die "no input sections found in $map"
    {
        echo
        echo "What each part keeps in that image (its linker map \`$(basename "$map")\`: input sections"
        echo "after --gc-sections, so only what the firmware uses; the sums differ from the image's by"
        echo "alignment and linker-made sections):"
        echo
        echo "| Part | .text | .rodata | .data | .bss | flash |"
        echo "|---|---:|---:|---:|---:|---:|"
        printf '%s\n' "$linked" | sort -t "$(printf '\t')" -k2,2nr |
            awk -F '\t' '{printf "| %s | %d | %d | %d | %d | %d |\n", $1, $2, $3, $4, $5, $2 + $3 + $4}'
    } >> "$report"
fi

# sizeof() on the target
size_of() { # CONFIG TYPE
    awk -v t="$2" '$1 == t {print $2; found = 1} END {if (!found) exit 1}' "$out/$1/sizes.txt" ||
        die "no sizeof($2) in the probe"
}
{
    echo
    echo "sizeof() on the Cortex-M4, octets (every public struct of core/ and the firmware port):"
    echo
    echo "| Object | default | small |"
    echo "|---|---:|---:|"
    while read -r name size; do
        printf '| `%s` | %d | %d |\n' "$name" "$size" "$(size_of small "$name")"
    done < "$out/default/sizes.txt"
} >> "$report"

# Budgets (issue #14): reported, not asserted.
budget_line() { # NAME VALUE BUDGET
    local verdict
    if [ "$2" -le "$3" ]; then
        verdict="met, $(($3 - $2)) under"
    else
        verdict="over by $(($2 - $3)) ($(kib $(($2 - $3))) KiB)"
    fi
    printf '| %s | %d (%s KiB) | %d (%s KiB) | %s |\n' "$1" "$2" "$(kib "$2")" "$3" "$(kib "$3")" "$verdict"
}
smtp_default=$(size_of default postie_smtp_t)
smtp_small=$(size_of small postie_smtp_t)
drv_default=$(size_of default postie_driver_t)
drv_small=$(size_of small postie_driver_t)
tls_default=$(size_of default postie_tls_t)
tls_small=$(size_of small postie_tls_t)
tls_bss=$(sections "$(obj_of default port/mbedtls/tls.c)" | awk '{print $3 + $4}')
{
    echo
    echo "Budgets (issue #14; tracked, not asserted):"
    echo
    echo "| Budget | now | budget | how far |"
    echo "|---|---:|---:|---|"
    budget_line "SMTP engine .text+.rodata, default" "${tr_of[SMTP engine]}" 8192
    budget_line "SMTP engine .text+.rodata, small" "${small_of[SMTP engine]}" 8192
    if [ -n "$linked" ]; then
        # what the firmware image keeps (its map): the engine, and core/ as linked
        l_smtp=$(printf '%s\n' "$linked" | awk -F '\t' '$1 == "SMTP engine" {print $2 + $3}')
        l_core=$(printf '%s\n' "$linked" | awk -F '\t' -v re="^($sending_modules|POP3|IMAP|fetch)" \
            '$1 ~ re {n += $2 + $3} END {print n + 0}')
        budget_line "SMTP engine .text+.rodata, linked in $(basename "$image")" "${l_smtp:-0}" 8192
        budget_line "core/ .text+.rodata, linked in $(basename "$image")" "$l_core" 32768
    fi
    budget_line "all of core/ .text+.rodata, default" "$core_tr" 32768
    budget_line "all of core/ .text+.rodata, small" "$core_small" 32768
    budget_line "SMTP-sending subset of core/ .text+.rodata, default" "$send_tr" 32768
    budget_line "SMTP-sending subset of core/ .text+.rodata, small" "$send_small" 32768
    budget_line "one SMTP session without TLS (postie_smtp_t + postie_driver_t), default" \
        $((smtp_default + drv_default)) 3072
    budget_line "one SMTP session without TLS (postie_smtp_t + postie_driver_t), small" \
        $((smtp_small + drv_small)) 3072
    if [ -n "$arena" ]; then
        budget_line "whole SMTPS session (engine + driver + postie_tls_t + DRBG + arena), default" \
            $((smtp_default + drv_default + tls_default + tls_bss + arena)) 49152
        budget_line "whole SMTPS session (engine + driver + postie_tls_t + DRBG + arena), small" \
            $((smtp_small + drv_small + tls_small + tls_bss + arena)) 49152
    fi
    echo
    if [ -n "$arena" ]; then
        echo "mbedTLS arena high-water for one TLS mail session: $arena octets ($arena_source)."
        if [ -n "$uart" ]; then
            grep -a -E '(^|\] )(tls: TLS|chain: )' "$uart" | sed 's/^\[[^]]*\] //; s/^/- /' || true
        fi
    else
        echo "mbedTLS arena high-water: not measured in this run (give --uart LOG or --arena N);"
        echo "the whole-SMTPS-session budget is left out."
    fi
} >> "$report"
cat "$report"
