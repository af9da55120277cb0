#!/usr/bin/env bash
# The weft package's test on N ranks started by weft-run, with the build's copy of the package
# on PYTHONPATH. Skipped (77) where no Python has numpy.
#   run.sh BIN_DIR PACKAGE_DIR N SCRIPT
set -euo pipefail
bin=$1 package=$2 n=$3 script=$4
python=""
# Debian's Python first: python3-numpy installs there, whatever else is on PATH.
for p in /usr/bin/python3 python3; do
  if "$p" -c "import numpy" 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || { echo "no Python with numpy: skipped"; exit 77; }
export PYTHONPATH=$package${PYTHONPATH:+:$PYTHONPATH}
out=$("$bin/weft-run" -n "$n" --timeout 120 -- "$python" "$script" 2>&1) || { echo "$out"; exit 1; }
echo "$out"
[ "$(grep -c 'checks passed' <<<"$out")" = "$n" ] || { echo "not every rank passed"; exit 1; }
