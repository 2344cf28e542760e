#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Check (default) or add (--fix) the SPDX licence line in every source file
# git tracks: C sources and headers, shell and Python scripts, CMake files.
# The line goes first, or second after a #! line.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=false
[ "${1:-}" = "--fix" ] && fix=true
tag='SPDX-License-Identifier: Apache-2.0'
missing=0
while IFS= read -r f; do
    grep -q "$tag" <(head -n 3 "$f") && continue
    if ! $fix; then
        echo "no SPDX line: $f" >&2
        missing=$((missing + 1))
        continue
    fi
    case "$f" in
    *.c | *.h) line="/* $tag */" ;;
    *) line="# $tag" ;;
    esac
    if head -n 1 "$f" | grep -q '^#!'; then
        sed -i "1a $line" "$f"
    else
        sed -i "1i $line" "$f"
    fi
done < <(git ls-files '*.c' '*.h' '*.sh' '*.py' 'CMakeLists.txt' '*/CMakeLists.txt' '.ci/run')
if [ "$missing" -ne 0 ]; then
    echo "$missing file(s) without '$tag' (run .ci/add-spdx.sh --fix)" >&2
    exit 1
fi
