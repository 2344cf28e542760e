#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Make a throw-away test CA and server certificates in OUTDIR:
#   ca.pem ca.key                  the test CA (trust anchor for the tests)
#   good.pem good.key              leaf for localhost / 127.0.0.1, signed by the CA
#   selfsigned.pem selfsigned.key  self-signed leaf for localhost (no CA)
#   wronghost.pem wronghost.key    leaf signed by the CA for another name only
#   expired.pem expired.key        leaf for localhost signed by the CA, expired
# Usage: certs.sh OUTDIR
set -euo pipefail
out=${1:?usage: certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
[ -f expired.pem ] && exit 0

cat > openssl.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Postie Test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_localhost]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[leaf_wronghost]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.other.example
[ca]
default_ca = testca
[testca]
database = index.txt
serial = serial
new_certs_dir = newcerts
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
CNF
mkdir -p newcerts
: > index.txt
echo 1000 > serial

q() { "$@" > /dev/null 2>&1 || { echo "certs.sh: failed: $*" >&2; "$@"; exit 1; }; }

q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
    -config openssl.cnf -extensions v3_ca -subj "/CN=Postie Test CA"

leaf() { # name cn extensions [ca-args...]
    local name=$1 cn=$2 ext=$3
    shift 3
    q openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn"
    q openssl ca -batch -config openssl.cnf -cert ca.pem -keyfile ca.key -in "$name.csr" \
        -out "$name.pem" -extfile openssl.cnf -extensions "$ext" -notext "$@"
}
leaf good localhost leaf_localhost -days 3650
leaf wronghost mail.other.example leaf_wronghost -days 3650
leaf expired localhost leaf_localhost -startdate 20200101000000Z -enddate 20210101000000Z
q openssl req -x509 -newkey rsa:2048 -nodes -keyout selfsigned.key -out selfsigned.pem \
    -days 3650 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
chmod 644 ./*.pem ./*.key
