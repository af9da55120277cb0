#!/usr/bin/env bash
# Checks that README.md is current: its WEFT_* table is what `weft-info --markdown` prints
# (the table in common/config.def), it shows .ci/run's test command verbatim, and its API
# example is examples/allreduce_example.c (which the build compiles).
# Usage: scripts/check-readme.sh BUILD_BIN_DIR   (scripts/update-readme.sh rewrites the table)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$1"
table="$("$bin/weft-info" --markdown)"
current="$(sed -n '/<!-- config-table:begin -->/,/<!-- config-table:end -->/p' "$root/README.md" | sed '1d;$d')"
if [ "$table" != "$current" ]; then
  echo "README.md's WEFT_* table is out of date: run scripts/update-readme.sh build/bin"
  diff <(echo "$current") <(echo "$table") || true
  exit 1
fi
ci_command="$(grep -E '^\./scripts/install-deps\.sh' "$root/.ci/run")"
if ! grep -qxF "$ci_command" "$root/README.md"; then
  echo "README.md does not show .ci/run's test command: $ci_command"
  exit 1
fi
example="$(sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' "$root/README.md" | sed '1,2d;$d' | sed '$d')"
if [ "$example" != "$(cat "$root/examples/allreduce_example.c")" ]; then
  echo "README.md's API example differs from examples/allreduce_example.c"
  diff <(echo "$example") "$root/examples/allreduce_example.c" || true
  exit 1
fi
echo "README.md is current"
