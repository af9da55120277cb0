#!/usr/bin/env bash
# bench/plot-perf.py on weft-perf's own JSON: a 2-rank run with its Gloo baseline (where
# weft-perf has one) plotted to PNG and SVG, two files overlaid, and bad input refused with a
# message. Skipped (77) where no Python has matplotlib.
#   plot_perf.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1 bin=$2
python=""
# Debian's Python first: python3-matplotlib installs there, whatever else is on PATH.
for p in /usr/bin/python3 python3; do
  if "$p" -c "import matplotlib" 2>/dev/null; then python=$p; break; fi
done
[ -n "$python" ] || { echo "no Python with matplotlib: skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# With the Gloo baseline where this weft-perf was built with Gloo.
baseline=gloo
if ! "$bin/weft-run" -n 2 -- "$bin/weft-perf" allreduce -b 1K -e 64K -f 4 -n 2 --compare gloo \
  -J "$work/a.json" >"$work/perf.log" 2>&1; then
  grep -q "built without Gloo" "$work/perf.log" || { cat "$work/perf.log"; fail "weft-perf"; }
  baseline=""
  "$bin/weft-run" -n 2 -- "$bin/weft-perf" allreduce -b 1K -e 64K -f 4 -n 2 \
    -J "$work/a.json" >"$work/perf.log" 2>&1 || { cat "$work/perf.log"; fail "weft-perf"; }
fi
"$bin/weft-run" -n 2 -- "$bin/weft-perf" allgather -b 1K -e 64K -f 4 -n 2 \
  -J "$work/b.json" >"$work/perf.log" 2>&1 || { cat "$work/perf.log"; fail "weft-perf"; }

"$python" "$src/bench/plot-perf.py" -o "$work/a.png" "$work/a.json" || fail "PNG"
[ "$(head -c 8 "$work/a.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "not a PNG"
"$python" "$src/bench/plot-perf.py" -o "$work/ab.svg" --metric time --label one --label two \
  "$work/a.json" "$work/b.json" || fail "SVG"
grep -q "<svg" "$work/ab.svg" || fail "not an SVG"
for label in one two; do grep -q "$label" "$work/ab.svg" || fail "legend lacks '$label'"; done
if [ -n "$baseline" ]; then grep -q "Gloo" "$work/ab.svg" || fail "the Gloo baseline is not drawn"; fi

# Bad input: a clear message and a failure, never a traceback.
refused() {  # expected message, then the arguments
  local want=$1 out
  shift
  if out=$("$python" "$src/bench/plot-perf.py" "$@" 2>&1); then fail "accepted: $*"; fi
  grep -q "$want" <<<"$out" || fail "for '$*': expected '$want', got: $out"
  ! grep -q Traceback <<<"$out" || fail "a traceback for '$*': $out"
}
echo '{"nranks": 2}' >"$work/bad.json"
refused "no 'results' list" -o "$work/x.png" "$work/bad.json"
refused "No such file" -o "$work/x.png" "$work/missing.json"
refused "must end in" -o "$work/x.gif" "$work/a.json"
refused "once per file" -o "$work/x.png" --label only-one "$work/a.json" "$work/b.json"
echo "PASS"
