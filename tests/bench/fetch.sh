#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The fetch benchmark (tests/bench/fetch_peers.py) against a private
# Dovecot: N x 4 KiB over POP3 and IMAP, postie vs curl vs Python's
# poplib/imaplib, messages/s, CPU per message and the ratios (the median
# of REPS runs each, default 3).
#
# Usage: tests/bench/fetch.sh PATH/TO/postie [N [REPS]]   (root: the test mail
# server needs it; tests/bench/run.sh calls it with its Release build)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
postie=${1:?usage: fetch.sh PATH/TO/postie [N [REPS]]}
"$here/../integration/with_mailserver.sh" \
    /usr/bin/python3 "$here/fetch_peers.py" "$postie" "${2:-1000}" "${3:-3}"
