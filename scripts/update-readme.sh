#!/usr/bin/env bash
# Rewrites README.md's WEFT_* table from `weft-info --markdown`.
# Usage: scripts/update-readme.sh BUILD_BIN_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
table="$("$1/weft-info" --markdown)"
awk -v table="$table" '
  /<!-- config-table:begin -->/ { print; print table; skip = 1; next }
  /<!-- config-table:end -->/ { skip = 0 }
  !skip { print }' "$root/README.md" > "$root/README.md.new"
mv "$root/README.md.new" "$root/README.md"
