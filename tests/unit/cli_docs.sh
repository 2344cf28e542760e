#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The generated man pages and bash completion (boards/host-posix/gen-docs.py):
# every command of `postie --help` has a page that renders without a groff
# warning and shows that command's own --help text; the completion script
# parses and completes commands, subcommands and options.
#
#   cli_docs.sh POSTIE DOCS_DIR
set -euo pipefail
postie=$1
docs=$2
fail=0
bad() {
    echo "FAIL - $*"
    fail=1
}

commands=$("$postie" --help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit}
    on && /^  [a-z]/ {print $1}' | sort -u)
[ -n "$commands" ] || bad "no commands in postie --help"
for page in postie $(printf 'postie-%s ' $commands); do
    f="$docs/man1/$page.1"
    if [ ! -s "$f" ]; then
        bad "no man page $page.1"
        continue
    fi
    warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$f" 2>&1 || true)
    [ -z "$warnings" ] || bad "$page.1: groff warns: $warnings"
done
# each page carries its command's help text (the one source)
for c in $commands; do
    line=$("$postie" "$c" --help | sed -n 2p | sed 's/^ *//' | cut -c1-40)
    text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$docs/man1/postie-$c.1" 2> /dev/null | sed 's/^ *//')
    grep -qF -- "$line" <<< "$text" || bad "postie-$c.1 does not show its help text ('$line')"
done
echo "ok - man pages for: postie $commands"

# the completion
bash -n "$docs/bash-completion/postie" || bad "the completion script does not parse"
complete_words() {
    bash -c '
        _init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]};
                             words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
        _filedir() { COMPREPLY=(FILE); }
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _postie
        printf "%s\n" "${COMPREPLY[@]}"' _ "$docs/bash-completion/postie" "$@"
}
[ "$(complete_words postie que)" = "queue" ] || bad "postie que<TAB> is not queue"
[ "$(complete_words postie queue --j)" = "--json" ] || bad "postie queue --j<TAB> is not --json"
complete_words postie queue l | grep -qx list || bad "postie queue l<TAB> lacks list"
complete_words postie sendmail --ses | grep -qx -- --session || bad "sendmail --ses<TAB>"
[ "$(complete_words postie --registry x send --attach '')" = "FILE" ] ||
    bad "send --attach <TAB> does not complete file names"
[ "$fail" -eq 0 ] && echo "ok - bash completion"
exit $fail
