#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the Debian packages (libpostie0, libpostie-dev, postie) from debian/,
# check them with lintian, install them, and check the installed files the
# way a user would: every installed header as C99 and C++, examples/notify
# built with find_package and pkg-config against /usr and delivering through
# the private Postfix, and sendmail-mode delivery (tests/integration/
# sendmail_cli.py) with the installed /usr/bin/postie. The packages are
# purged at the end (--keep leaves them installed).
#
# Needs root (dpkg -i). Works on a copy of the tracked files in
# build-deb/src, so the packages land in build-deb/, not next to the tree.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
keep=no
[ "${1:-}" = "--keep" ] && keep=yes
out="$root/build-deb"
rm -rf "$out"
mkdir -p "$out/src"
cd "$root"
git ls-files -z | xargs -0 cp --parents -t "$out/src"

echo "deb-check: dpkg-buildpackage"
(cd "$out/src" && dpkg-buildpackage -us -uc -b -j"$(nproc)" > "$out/build.log" 2>&1) ||
    { tail -n 60 "$out/build.log"; exit 1; }
ls "$out"/*.deb
# the package build configures with -DBUILD_TESTING=OFF: cmocka is never looked for
if grep -q '^CMOCKA_LIB' "$out"/src/obj-*/CMakeCache.txt; then
    echo "deb-check: BUILD_TESTING=OFF still looked for cmocka"
    exit 1
fi

echo "deb-check: lintian (no error, no warning allowed)"
lintian --fail-on error,warning \
    "$out"/*.changes

echo "deb-check: install"
dpkg -i "$out"/libpostie0_*.deb "$out"/libpostie-dev_*.deb "$out"/postie_*.deb
purge() {
    if [ "$keep" = no ]; then
        dpkg --purge postie libpostie-dev libpostie0 > /dev/null || true
    fi
}
trap purge EXIT
/usr/bin/postie --version
update-alternatives --query sendmail | grep -q '^Alternative: /usr/bin/postie$' ||
    { echo "deb-check: postie is not a sendmail alternative"; exit 1; }
[ -f /usr/share/man/man1/postie-sendmail.1.gz ] && [ -f /lib/systemd/system/postie-queue.timer ] &&
    [ -f /lib/systemd/system/postie-poll.service ] && [ -f /lib/systemd/system/postie-poll-once.timer ]
getent passwd postie > /dev/null ||
    { echo "deb-check: the postie user the poll units run as was not created"; exit 1; }

echo "deb-check: the installed files"
bash tests/integration/with_mailserver.sh bash tests/install/install_check.sh --prefix /usr
bash tests/integration/with_mailserver.sh /usr/bin/python3 tests/integration/sendmail_cli.py \
    /usr/bin/postie
echo "deb-check: passed"
