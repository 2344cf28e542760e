#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run a command against a private Postfix + Dovecot on 127.0.0.1.
#
# Starts tests/integration/mailserver.sh in a fresh temporary directory,
# exports the ports and credentials it wrote (POSTIE_TEST_*), runs the
# command under a time limit, then stops the servers by PID and removes the
# directory, whatever the command did. Exits with the command's status.
#
# Usage: with_mailserver.sh COMMAND [ARGS...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: with_mailserver.sh COMMAND [ARGS...]" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/postie-mail.XXXXXX")
chmod 755 "$work" # the servers' unprivileged users must reach their files
cleanup() {
    "$here/mailserver.sh" stop "$work" > /dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "$here/mailserver.sh" start "$work"; then
    echo "with_mailserver.sh: the mail servers did not start" >&2
    exit 1
fi
# shellcheck disable=SC1091
. "$work/env"
export POSTIE_TEST_DIR="$work"

rc=0
timeout "${POSTIE_TEST_TIMEOUT:-300}" "$@" || rc=$?
if [ "$rc" -ne 0 ] && [ -f "$work/maillog" ]; then
    echo "---- last lines of the Postfix log" >&2
    tail -n 30 "$work/maillog" >&2
fi
exit "$rc"
