#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Check an installed Postie the way a user of it would see it.
#
#   install_check.sh --build BUILD   install BUILD (cmake --install) under
#                                    BUILD/install-check/prefix, then check it
#   install_check.sh --prefix DIR    check what is installed under DIR already
#                                    (/usr after the Debian packages)
#
# Checks: the shared library's SONAME and links; every installed header
# compiles alone as C99 and as C++11 (extern "C", no _Static_assert);
# examples/notify builds against the installed files only, with
# find_package(Postie) (shared and static) and with pkg-config (shared and
# static). Run under tests/integration/with_mailserver.sh, each of the four
# programs also sends a notification through the private Postfix (two now,
# two through the queue) and the mail is found in the Maildir with the
# session's From template and subject prefix applied.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
die() {
    echo "install_check: $*" >&2
    exit 1
}

case "${1:-}" in
--build)
    build=$(cd "$2" && pwd)
    work="$build/install-check"
    rm -rf "$work"
    mkdir -p "$work"
    prefix="$work/prefix"
    cmake --install "$build" --prefix "$prefix" > "$work/install.log"
    ;;
--prefix)
    prefix=$2
    work=$(mktemp -d /tmp/postie-install-check.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    ;;
*)
    echo "usage: install_check.sh --build BUILD | --prefix DIR" >&2
    exit 2
    ;;
esac

libdir=$(dirname "$(find "$prefix/lib" -name 'libpostie.so.*.*.*' | head -n 1)")
[ -n "$libdir" ] && [ "$libdir" != "." ] || die "no libpostie.so.X.Y.Z under $prefix/lib"
incdir="$prefix/include"
echo "install_check: library in $libdir, headers in $incdir"

# ---- the shared library ------------------------------------------------------
soname=$(objdump -p "$libdir"/libpostie.so.*.*.* | awk '/SONAME/ {print $2}')
major=$(sed -n 's/^#define POSTIE_VERSION_MAJOR \([0-9]*\)$/\1/p' "$incdir/postie/common/version.h")
[ "$soname" = "libpostie.so.$major" ] || die "SONAME is '$soname', expected libpostie.so.$major"
[ -e "$libdir/$soname" ] || die "no $soname link in $libdir"
[ -e "$libdir/libpostie.a" ] || die "no libpostie.a"
[ -e "$libdir/libpostie_core.a" ] || die "no libpostie_core.a"
echo "install_check: SONAME $soname"

# ---- every installed header, alone, in C and in C++ ----------------------------
n=0
while IFS= read -r h; do
    rel=${h#"$incdir"/}
    printf '#include <%s>\nint postie_header_check;\n' "$rel" > "$work/one.c"
    gcc -std=c99 -Wall -Wextra -Werror -fsyntax-only \
        -I"$incdir" "$work/one.c" || die "$rel does not compile alone as C99"
    g++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -x c++ \
        -I"$incdir" "$work/one.c" || die "$rel does not compile as C++11"
    n=$((n + 1))
done < <(find "$incdir" -name '*.h' \( -path '*/postie/*' -o -name 'postie_*' \) | sort)
[ "$n" -gt 20 ] || die "only $n headers installed"
echo "install_check: $n headers compile as C99 and as C++11"

# ... and their functions link from C++: every header that declares a
# function has the extern "C" guard, and a C++ program calls the library
while IFS= read -r h; do
    if grep -qE '^[a-z_][a-z0-9_ *]* \**postie_[a-z0-9_]+\(' "$h" && ! grep -q 'extern "C"' "$h"; then
        die "${h#"$incdir"/} declares functions without an extern \"C\" guard"
    fi
done < <(find "$incdir/postie" -name '*.h')
cat > "$work/link.cpp" << 'CPP'
#include <cstdio>
#include <cstring>
#include <postie/common/status.h>
#include <postie/common/version.h>
#include <postie/posix/notify.h>
int main()
{
    postie_notify_result_t r;
    char line[128];
    std::memset(&r, 0, sizeof(r));
    r.status = POSTIE_OK;
    std::printf("%s %s %s\n", postie_version(), postie_status_str(POSTIE_E_TIMEOUT),
                postie_notify_describe(&r, line, sizeof(line)));
    return std::strcmp(postie_version(), POSTIE_VERSION_STRING) != 0;
}
CPP
g++ -std=c++11 -Wall -Wextra -Werror -I"$incdir" "$work/link.cpp" -o "$work/link-cpp" \
    -L"$libdir" -Wl,-rpath,"$libdir" -lpostie || die "a C++ program does not link with libpostie"
"$work/link-cpp" > /dev/null || die "the C++ program linked with libpostie failed"
echo "install_check: a C++ program links with libpostie.so and runs"

# ---- examples/notify against the installed files only ---------------------------
cmake -S "$src/examples/notify" -B "$work/example-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF > "$work/example-cmake.log" ||
    die "find_package(Postie) failed: see $work/example-cmake.log"
cmake --build "$work/example-cmake" > "$work/example-build.log" 2>&1 ||
    { cat "$work/example-build.log"; die "the CMake example does not build"; }
pcdir=$(dirname "$(find "$prefix/lib" -name postie.pc | head -n 1)")
PKG_CONFIG_PATH="$pcdir" make -s -C "$src/examples/notify" OUT="$work" > "$work/example-make.log" 2>&1 ||
    { cat "$work/example-make.log"; die "the pkg-config example does not build"; }
programs=("$work/example-cmake/notify" "$work/example-cmake/notify_static" "$work/notify-pc"
    "$work/notify-pc-static")
for p in "${programs[@]}"; do
    [ -x "$p" ] || die "$p was not built"
done
# the shared builds load the installed library, never the build tree's
for p in "$work/example-cmake/notify" "$work/notify-pc"; do
    loaded=$(ldd "$p" | awk '/libpostie\.so/ {print $3}')
    [ "$(readlink -f "$loaded")" = "$(readlink -f "$libdir/$soname")" ] ||
        die "$p loads '$loaded', not $libdir/$soname"
done
for p in "$work/example-cmake/notify_static" "$work/notify-pc-static"; do
    if ldd "$p" | grep -q libpostie; then die "$p is linked to libpostie.so"; fi
done
echo "install_check: examples/notify built 4 ways (CMake and pkg-config, shared and static)"

# ---- and each sends through the private Postfix -------------------------------
if [ -z "${POSTIE_TEST_SMTP_PORT:-}" ]; then
    echo "install_check: no test mail server (not under with_mailserver.sh): not sending"
    exit 0
fi
reg="$work/registry.json"
cat > "$reg" << JSON
{"sessions": {
  "mail/Base": {"host": "localhost", "port": $POSTIE_TEST_SMTP_PORT,
                "ca_file": "$POSTIE_TEST_CA", "username": "$POSTIE_TEST_USER",
                "password": {"env": "POSTIE_TEST_PASSWORD"}, "from": "alice@example.test",
                "timeout": 20},
  "java:comp/env/mail/Notify": {"jndi": "mail/Base", "from": "alice@example.test",
                "from_name": "\${fullname} (Example)", "subject_prefix": "[NAS]"}
}}
JSON
chmod 600 "$reg"
spool="$work/spool"
mkdir -p -m 700 "$spool"
i=0
for p in "${programs[@]}"; do
    i=$((i + 1))
    mode=()
    if [ $((i % 2)) -eq 0 ]; then mode=(--queue); fi
    tag="install-check-$$-$i"
    out=$(POSTIE_REGISTRY="$reg" POSTIE_SPOOL="$spool" "$p" "${mode[@]}" bob@example.test \
        "$tag" "Example User $i") || die "$p ${mode[*]}: $out"
    echo "install_check: $(basename "$p") ${mode[*]}: $out"
    found=""
    for _ in $(seq 1 150); do
        found=$(grep -l "Subject: \[NAS\] $tag" "$POSTIE_TEST_MAILDIR_ROOT"/bob/new/* 2> /dev/null | head -n 1 || true)
        [ -n "$found" ] && break
        sleep 0.1
    done
    [ -n "$found" ] || die "$tag did not arrive in bob's Maildir"
    grep -q "^From: \"Example User $i (Example)\" <alice@example.test>" "$found" ||
        die "$tag: From is not the session's template over the user: $(grep '^From:' "$found")"
done
echo "install_check: 4 notifications delivered through Postfix"
