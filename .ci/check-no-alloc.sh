#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prove core/ never calls an allocator: list the undefined symbols of the
# core library and refuse any heap function.
set -euo pipefail
lib=${1:?usage: check-no-alloc.sh PATH/TO/libpostie_core.a}
undefined=$(nm -u "$lib" | awk 'NF == 2 {print $2}' | sort -u)
bad=$(printf '%s\n' "$undefined" |
    grep -E '^(malloc|calloc|realloc|free|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|strdup|strndup|__libc_malloc)$' || true)
if [ -n "$bad" ]; then
    echo "check-no-alloc: $lib imports: $bad" >&2
    exit 1
fi
echo "check-no-alloc: $lib imports no allocator; outside itself it uses:" $(printf "%s\n" "$undefined" | grep -v "^postie_" | tr "\n" " ")
