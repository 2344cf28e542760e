#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fetch the sources a firmware build compiles from Debian source packages:
# cJSON, mbedTLS and lwIP, from Debian trixie (cJSON 1.7.18, mbedTLS 3.6 LTS,
# lwIP 2.2). Nothing is kept in git; the sources land in a build folder.
#
#   boards/fetch-sources.sh [PACKAGE...]     default: cjson mbedtls lwip
#
# Environment:
#   POSTIE_SOURCES_DIR   where to unpack (default: build-sources/ at the top)
#   POSTIE_SOURCES_SUITE Debian suite to take them from (default: trixie)
#
# apt is pointed at a private sources list and package lists under
# $POSTIE_SOURCES_DIR/apt with -o options: /etc/apt is never touched. The
# download is checked by apt against the suite's signed Release file (the
# keyring of /etc/apt/sources.list.d/debian.sources), and dpkg-source applies
# Debian's patches. Each package unpacks to $POSTIE_SOURCES_DIR/NAME (a link
# to NAME-VERSION); a package already unpacked is not fetched again.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${POSTIE_SOURCES_DIR:-$root/build-sources}
suite=${POSTIE_SOURCES_SUITE:-trixie}
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(cjson mbedtls lwip)

die() {
    echo "fetch-sources.sh: $*" >&2
    exit 1
}

command -v dpkg-source > /dev/null || die "dpkg-source is missing (Debian package dpkg-dev)"

todo=()
for p in "${packages[@]}"; do
    [ -e "$dir/$p/.postie-unpacked" ] || todo+=("$p")
done
if [ ${#todo[@]} -eq 0 ]; then
    echo "fetch-sources.sh: ${packages[*]} already in $dir"
    exit 0
fi

apt_dir="$dir/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/parts" "$dir/download"
# Copy the URI and keyring of the system's Debian entry, change the suite.
system=/etc/apt/sources.list.d/debian.sources
uri=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ -r "$system" ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' "$system")
    keyring=$(awk '/^Signed-By:/ {print $2; exit}' "$system")
fi
cat > "$apt_dir/parts/postie-sources.sources" << EOF
Types: deb-src
URIs: $uri
Suites: $suite
Components: main
Signed-By: $keyring
EOF
apt_opts=(-q -o "Dir::Etc::SourceParts=$apt_dir/parts" -o Dir::Etc::SourceList=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)

apt-get "${apt_opts[@]}" update > "$apt_dir/update.log" 2>&1 ||
    die "apt-get update for $suite sources failed (see $apt_dir/update.log)"
for p in "${todo[@]}"; do
    (cd "$dir/download" && apt-get "${apt_opts[@]}" source --download-only "$p") \
        > "$apt_dir/source-$p.log" 2>&1 ||
        die "apt-get source $p failed (see $apt_dir/source-$p.log)"
    dsc=$(ls -t "$dir/download/${p}"_*.dsc | head -n 1)
    version=$(awk '/^Version:/ {print $2; exit}' "$dsc")
    upstream=${version%-*}
    upstream=${upstream#*:}
    target="$dir/$p-$upstream"
    rm -rf "$target"
    dpkg-source --no-check -x "$dsc" "$target" > "$apt_dir/unpack-$p.log" 2>&1 ||
        die "dpkg-source -x $dsc failed (see $apt_dir/unpack-$p.log)"
    ln -sfn "$(basename "$target")" "$dir/$p"
    echo "$version" > "$dir/$p/.postie-unpacked"
    echo "fetch-sources.sh: $p $version from $suite in $dir/$p"
done
