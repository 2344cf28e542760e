#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run test_tls with CA blobs made for it: the test CA of certs.sh and a
# self-signed certificate, as PEM and DER, read into memory by the test as
# firmware would hold them in flash. No server, no network.
#
# Usage: test_tls.sh PATH/TO/test_tls
set -euo pipefail
test_bin=${1:?usage: test_tls.sh PATH/TO/test_tls}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/postie-test-tls.XXXXXX")
trap 'rm -rf "$work"' EXIT
bash "$here/../integration/certs.sh" "$work" > /dev/null
openssl x509 -in "$work/ca.pem" -outform DER -out "$work/ca.der"
openssl x509 -in "$work/selfsigned.pem" -outform DER -out "$work/selfsigned.der"
export POSTIE_CERTS="$work"
timeout 60 "$test_bin"
