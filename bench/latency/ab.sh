#!/usr/bin/env bash
# 8-byte all-reduce latency of this tree's libweft against an earlier commit's, alternated
# in one session with each rank pinned to its own core: the machine's mode changes between
# sessions, so only side-by-side figures compare (docs/performance.md, small messages).
#   bench/latency/ab.sh COMMIT [PAIRS] [RANKS]      (after building this tree in build/)
set -euo pipefail
cd "$(dirname "$0")/../.."
commit=${1:?usage: $0 COMMIT [PAIRS] [RANKS]}
pairs=${2:-8}
ranks=${3:-2}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/old" "$commit"
cmake -S "$work/old" -B "$work/old/build" >/dev/null
cmake --build "$work/old/build" -j"$(nproc)" --target weft >/dev/null
cc -O2 -I include -o "$work/latency" bench/latency/small_allreduce.c -L build/lib -lweft
cat >"$work/pin" <<'PIN'
#!/bin/sh
exec taskset -c $(( WEFT_RANK % $(nproc) )) "$@"
PIN
chmod +x "$work/pin"
run() { LD_LIBRARY_PATH=$1 build/bin/weft-run -n "$ranks" -- "$work/pin" "$work/latency" | sed 's/^\[0\] //'; }
printf '%-10s %-10s\n' "$commit" "this tree"
for ((i = 0; i < pairs; ++i)); do
  printf '%-10s %-10s\n' "$(run "$work/old/build/lib")" "$(run build/lib)"
done
