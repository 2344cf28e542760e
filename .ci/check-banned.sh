#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Refuse functions that have no bound or hide errors (see STYLE.md) in the
# library sources: core/ and port/.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|atoi|atol|atoll|atof|sscanf|gets|alloca)[[:space:]]*\('
if grep -rnE "$banned" core port --include='*.c' --include='*.h'; then
    echo "check-banned: banned functions found (above)" >&2
    exit 1
fi
echo "check-banned: core/ and port/ are clean"
