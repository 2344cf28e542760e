#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages Postie builds, tests and demos against.
# Idempotent; needs root (or sudo). Postfix is preseeded to "No configuration":
# the test scripts run their own private instance on 127.0.0.1.
set -eu

PACKAGES="build-essential dpkg-dev cmake pkg-config clang libclang-rt-dev clang-format
libmbedtls-dev libcjson-dev libcmocka-dev liblwip-dev
postfix dovecot-core dovecot-imapd dovecot-pop3d
openssl swaks libnet-ssleay-perl msmtp curl libcurl4-openssl-dev python3
gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi qemu-system-arm
gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf
g++ groff-base man-db debhelper lintian doxygen adduser"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

echo "install-deps: installing$missing"
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
