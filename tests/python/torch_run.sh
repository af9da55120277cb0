#!/usr/bin/env bash
# Runs a torch.distributed script on N local ranks with env:// as torchrun sets it (RANK,
# WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), through weft-run: Debian 12's torchrun
# (torch 1.13 under Python 3.11) fails before starting any worker. The build's Python
# package first on PYTHONPATH. Skipped (77) where no Python has torch or the backend was not
# built. Each rank must print "checks passed" (or the script's own PASS line).
#   torch_run.sh BIN_DIR PACKAGE_DIR N SCRIPT [ARGS...]
set -euo pipefail
bin=$1 package=$2 n=$3 script=$4
shift 4
python=""
for p in /usr/bin/python3 python3; do
  if "$p" -c "import torch" 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || { echo "no Python with torch: skipped"; exit 77; }
ls "$package"/weft/_c10d*.so >/dev/null 2>&1 || { echo "the backend was not built: skipped"; exit 77; }
export PYTHONPATH=$package${PYTHONPATH:+:$PYTHONPATH}
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$("$bin/weft-run" -n "$n" --timeout 300 -- env MASTER_ADDR=127.0.0.1 MASTER_PORT="$port" \
  WORLD_SIZE="$n" sh -c 'RANK=$WEFT_RANK LOCAL_RANK=$WEFT_RANK exec "$@"' sh \
  "$python" "$script" "$@" 2>&1) || { echo "$out"; exit 1; }
echo "$out"
[ "$(grep -c 'checks passed' <<<"$out")" = "$n" ] || { echo "not every rank passed"; exit 1; }
