#!/usr/bin/env bash
# Every GPU check in one run, for a machine with a GPU (the GPU test host: Ubuntu 24.04,
# CUDA 13, hwloc 2.10, Open MPI 4.1.6, libucx0 1.16 without headers).
#
#   scripts/gpu-check.sh [--bundle DIR] [--prebuilt DIR] [--build-dir DIR] [--build-only]
#                        [--steps kernels,ctest,perf,threads,crossover,hosts,staged,torch]
#                        [--out DIR]
#                        [--max-bytes 256M]
#
# Builds Weft with CUDA into --build-dir (default build-gpu), or uses the binaries of a build
# made elsewhere with --prebuilt DIR (libraries the host lacks are taken from
# DIR/fallback-lib), then runs:
#   1. weft-kernels: every type x op against the host reduction (bit-exact), and kernel
#      bandwidth against cudaMemcpy device-to-device measured in the same run;
#   2. the GPU tests (ctest -L gpu): the plan runner's CUDA reduction back-end against the host's, stream ordering without host sync, bad buffers, and
#      4 ranks on GPU 0 with every collective and type on both device paths; the one-shot
#      LL kernel with 4 thread-ranks (exact, abort, and its 8-byte latency against 15 us),
#      alone and through the C API (exact, ten calls in a CUDA graph replayed three times,
#      a rank that never calls named); the direct kernel for large calls with 4 thread-ranks
#      (every collective exact in and out of place, graph replay, a rank that never calls
#      named, and 256 MiB all-reduce, all-gather and reduce-scatter busbw beside their memory
#      bound from the device copy measured in the same run: goal >= 70 %, all-reduce >= 400
#      GB/s); the direct kernel alone in both modes (peers' buffers, and through the staging
#      that ranks in several processes use), every collective exact, 256 MiB busbw of each;
#   3. weft-run -n 4 weft-perf allreduce|allgather|reducescatter|broadcast --mem device
#      -b 8 -e 256M -f 4 -d all (sum), every row checked (#wrong must be 0);
#   3b. weft-perf allreduce --mem device -t 4: 4 ranks as threads of one process on GPU 0
#      (one context: their kernels run at once), 8 B and the largest size against issue 17's
#      goals (<= 15 us, >= 400 GB/s busbw), PASS or FAIL; then the same from 64 MiB up
#      with WEFT_CUDA_FORCE_STAGED=1 (the staged mode and its buffer cache), a figure;
#   3c. the one-shot/direct crossover (collectives/device/device_cost.h), 4 thread-ranks,
#      all-reduce 1 KiB to 1 MiB: one-shot alone (WEFT_CUDA_DIRECT=0, scratch of 1 MiB),
#      direct alone (WEFT_ONE_SHOT_MAX_BYTES=0), and the default's choice per row; the
#      measured crossover beside the cost model's, and the default within 1.2x of the
#      faster kernel at every size (PASS or FAIL);
#   3d. across hosts (issue 18): 2 processes x 2 thread-ranks on GPU 0, each process a host
#      of its own (WEFT_HOSTID), so the ring crosses between them over UCX: the ring kernel
#      reduces and the proxy moves the bytes. Every type exact 1 MiB..256 MiB, the path
#      (net-ring-kernel) and host-reduced bytes (goal 0), and all-reduce busbw at 256 MiB
#      against Weft's point-to-point bandwidth between the two processes over UCX measured
#      in the same run (goal >= 80 %); then the same all-reduce staged (WEFT_NET_KERNEL=0),
#      the CPU reducing, side by side; then the device hierarchy (WEFT_ALGO=hier: CUDA IPC
#      legs inside each process, the ring kernel along the rails), every collective exact,
#      and the busbw of its all-reduce and all-gather (beside the flat ring kernel's);
#   4. the host-staging path's all-reduce of 256 MiB in pieces and in one piece;
#   5. PyTorch's torch.distributed (backend nccl) on Weft through the libnccl.so.2 shim,
#      4 ranks on GPU 0, every collective checked exactly (scripts/gpu-torch-check.py);
# and prints one summary table at the end. Logs go to --out (default gpu-check-out).
# Building needs headers that host lacks (UCX's, pugixml): --bundle DIR unpacks the Debian
# packages scripts/gpu-host-bundle.sh gathered into DIR (carry DIR along) and builds against
# them and the host's own shared libraries. --build-only stops after the build.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
prebuilt="" bundle="" build_dir="build-gpu" build_only=0 out="gpu-check-out" max="256M"
steps="kernels,ctest,perf,threads,crossover,hosts,staged,torch"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=$2; shift 2 ;;
    --prebuilt) prebuilt=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --steps) steps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-bytes) max=$2; shift 2 ;;
    *) echo "usage: $0 [--bundle DIR] [--prebuilt DIR] [--build-dir DIR] [--build-only] [--steps LIST] [--out DIR] [--max-bytes N]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
want() { case ",$steps," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
summary=()
note() { summary+=("$(printf '%-44s %s' "$1" "$2")"); }

# Unpacks the bundle's packages the host lacks into /tmp/weft-bundle and points pkg-config,
# CMake and the loader at them. Shared libraries stay the host's: the packages' .so links are
# re-pointed at the host's libucx0 (and libhwloc), their static archives removed.
use_bundle() {
  local root=/tmp/weft-bundle lib sys=/usr/lib/x86_64-linux-gnu deb so host took=()
  lib=$root/usr/lib/x86_64-linux-gnu
  rm -rf "$root" && mkdir -p "$root"
  for deb in "$1"/*.deb; do
    case "$(basename "$deb")" in
      libhwloc-dev_*) pkg-config --exists hwloc 2>/dev/null && continue ;;
      libgtest-dev_*) [ -f /usr/include/gtest/gtest.h ] && continue ;;
      libpugixml*) [ -f /usr/include/pugixml.hpp ] && continue ;;
    esac
    dpkg -x "$deb" "$root" && took+=("$(basename "$deb" | cut -d_ -f1)")
  done
  for so in "$lib"/libuc[mpst]*.so "$lib"/libhwloc.so; do
    [ -L "$so" ] || continue
    host=$(ls "$sys/$(basename "$so")".* 2>/dev/null | head -1)
    if [ -n "$host" ]; then ln -sf "$host" "$so"; else rm -f "$so"; fi
  done
  rm -f "$lib"/libuc[mpst]*.a "$lib"/libhwloc.a
  sed -i -E "s|^prefix *= */usr\$|prefix=$root/usr|" "$lib"/pkgconfig/*.pc 2>/dev/null
  export PKG_CONFIG_PATH=$lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export CMAKE_PREFIX_PATH=$root/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  note "bundle unpacked" "${took[*]:-nothing (the host has it all)}"
}
[ -n "$bundle" ] && use_bundle "$bundle"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$out/gpu.txt"

if [ -n "$prebuilt" ]; then
  build=$prebuilt
  # Libraries of the build machine that this host lacks (pugixml, say) come along.
  missing=$(ldd "$build/lib/libweft.so" "$build/bin/weft-perf" 2>/dev/null | awk '/not found/ {print $1}' | sort -u)
  if [ -n "$missing" ] && [ -d "$build/fallback-lib" ]; then
    mkdir -p /tmp/weft-fallback-lib
    for m in $missing; do cp -a "$build/fallback-lib/$m"* /tmp/weft-fallback-lib/ 2>/dev/null; done
    export LD_LIBRARY_PATH=/tmp/weft-fallback-lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  note "build" "prebuilt ($build); host lacked: ${missing:-nothing}"
else
  build=$build_dir
  start=$(date +%s)
  mpi=OFF; command -v mpicxx >/dev/null 2>&1 && mpicxx --showme:version >/dev/null 2>&1 && mpi=ON
  if cmake -S . -B "$build" -DCMAKE_CUDA_ARCHITECTURES=90 -DWEFT_CUDA=ON -DWEFT_WITH_MPI=$mpi \
       >"$out/build.log" 2>&1 &&
     cmake --build "$build" -j"$(nproc)" >>"$out/build.log" 2>&1; then
    note "build (sm_90, MPI $mpi, $(nproc) cores)" "ok in $(( $(date +%s) - start )) s"
  else
    tail -30 "$out/build.log"; note "build" "FAILED (see $out/build.log)"
    printf '%s\n' "${summary[@]}"; exit 1
  fi
fi
bin=$build/bin
status=0
if [ $build_only -eq 1 ]; then printf '%s\n' "${summary[@]}"; exit 0; fi

if want kernels; then
  echo "== 1. kernels"
  timeout 120 "$bin/weft-kernels" >"$out/kernels.txt" 2>&1; rc=$?
  cat "$out/kernels.txt"
  [ $rc -eq 0 ] || status=1
  note "kernels: every type x op bit-exact" "$(sed -n 's/^# mismatches: /mismatches /p' "$out/kernels.txt") (exit $rc)"
  for t in float bfloat16 half; do
    note "kernel $t sum, 256 MiB (GB/s, vs copy)" "$(awk -v t=$t '/^# bandwidth/ {b=1} b && $1==t && $2=="sum" {print $4 " GB/s, " $5}' "$out/kernels.txt")"
  done
  note "memcpy d2d" "$(awk '$1=="memcpy" {print $4 " GB/s"}' "$out/kernels.txt")"
fi

if want ctest; then
  echo "== 2. GPU tests"
  if [ -z "$prebuilt" ] || [ -f "$build/CTestTestfile.cmake" ]; then
    timeout 300 ctest --test-dir "$build" -L gpu --output-on-failure >"$out/ctest-gpu.txt" 2>&1; rc=$?
  else
    rc=1; echo "no ctest files in $build" >"$out/ctest-gpu.txt"
  fi
  tail -15 "$out/ctest-gpu.txt"
  [ $rc -eq 0 ] || status=1
  note "ctest -L gpu" "$(grep -E 'tests passed|tests failed' "$out/ctest-gpu.txt" | tail -1)"
  # The GPU-driven kernels' figures (ctest keeps a passing test's output to itself): the
  # one-shot kernel alone and through the C API (4 communicators on 4 threads, a CUDA graph of
  # ten calls replayed, a rank that never calls), and the direct kernel's large calls.
  timeout 300 "$bin/weft_gpu_tests" --gtest_filter='OneShotKernel.*:DeviceOneShot.*:DeviceDirect.*:*DirectKernel.*:NetRingKernel.*' \
    >"$out/kernels-api.txt" 2>&1 || status=1
  grep -E "^\[ +(OK|FAILED) +\]|^FIGURE" "$out/kernels-api.txt"
  note "one-shot kernel, 4 thread-ranks, 8 B" \
    "$(sed -n 's/^FIGURE one-shot kernel 8-byte all-reduce, 4 thread-ranks on one GPU: //p' "$out/kernels-api.txt")"
  note "one-shot through the API, 4 thread-ranks, 8 B" \
    "$(sed -n 's/^FIGURE api 8-byte all-reduce, 4 thread-ranks on one GPU: //p' "$out/kernels-api.txt")"
  note "d2d copy 256 MiB (the bound's rate)" "$(sed -n 's/^FIGURE device-to-device copy, 256 MiB: //p' "$out/kernels-api.txt")"
  for c in all-reduce all-gather reduce-scatter; do
    line=$(sed -n "s/^FIGURE direct $c 256 MiB, 4 thread-ranks: //p" "$out/kernels-api.txt")
    pct=$(sed -n 's/.*, \([0-9]*\)% of it.*/\1/p' <<<"$line")
    bw=$(sed -n 's/^busbw \([0-9.]*\) GB.*/\1/p' <<<"$line")
    verdict=FAIL
    [ -n "$pct" ] && [ "$pct" -ge 70 ] && verdict=PASS
    [ "$c" = all-reduce ] && [ -n "$bw" ] && awk -v b="$bw" 'BEGIN {exit !(b < 400)}' && verdict=FAIL
    [ -z "$line" ] && verdict="?"
    note "direct $c 256 MiB, 4 thread-ranks" "${line:-?} $verdict"
  done
  while IFS= read -r line; do
    note "direct kernel alone, $(sed 's/, all-reduce.*//' <<<"$line")" "$(sed 's/.*blocks each: //' <<<"$line")"
  done < <(sed -n 's/^FIGURE direct kernel alone, //p' "$out/kernels-api.txt")
  note "net-ring kernel + proxy (FIFOs in mapped memory, loopback), 64 MiB all-reduce" \
    "$(sed -n 's/^FIGURE net-ring kernel + proxy over loopback, all-reduce 64 MiB, 4 thread-ranks: //p' "$out/kernels-api.txt")"
  note "kernel tests (exact, graph replay, abort, the ring kernel across hosts)" \
    "$(grep -c '^\[ *OK \]' "$out/kernels-api.txt") passed, $(grep -c '^\[ *FAILED *\] .*([0-9]* ms)' "$out/kernels-api.txt") failed"
fi

if want perf; then
  echo "== 3. weft-perf, 4 ranks on GPU 0, device buffers"
  for coll in allreduce allgather reducescatter broadcast; do
    timeout 100 "$bin/weft-run" -n 4 --timeout 300 -- "$bin/weft-perf" "$coll" --mem device -b 8 -e "$max" -f 4 \
      -d all -n 5 -w 2 >"$out/perf-$coll.txt" 2>&1; rc=$?
    [ $rc -eq 0 ] || status=1
    wrong=$(sed -n 's/.*Out of bounds values : \([0-9]*\).*/\1/p' "$out/perf-$coll.txt")
    # Rows carry weft-run's "[0]" prefix: size is column 2, busbw 9 (out of place) and 13.
    big=$(awk '$4=="float" {last=$0} END {print last}' "$out/perf-$coll.txt" |
          awk '{print $2 " B: busbw " $9 " GB/s out of place, " $13 " in place, " $15}')
    note "$coll -d all 8B..$max: #wrong" "${wrong:-?} (exit $rc)"
    note "$coll largest float row" "$big"
  done
  # The acceptance size: all-reduce of 256 MiB (float, sum), 4 ranks on one GPU.
  timeout 100 "$bin/weft-run" -n 4 --timeout 300 -- "$bin/weft-perf" allreduce --mem device \
    -b 256M -e 256M -n 10 -w 3 >"$out/perf-allreduce-256M.txt" 2>&1; rc=$?
  [ $rc -eq 0 ] || status=1
  note "allreduce 256 MiB float: busbw (oop, ip), wrong" "$(awk '$4=="float" {print $9 " GB/s, " $13 " GB/s, #wrong " $10 "+" $14 ", time " $7 " us"}' "$out/perf-allreduce-256M.txt") (exit $rc)"
  grep -h " float " "$out/perf-allreduce.txt" | tail -5
fi
if want threads; then
  # Ranks as threads of one process (weft-perf -t): one CUDA context, so the ranks' kernels
  # run at once (processes time-slice the GPU). Issue 17's goals beside the figures.
  echo "== 3b. weft-perf -t 4: 4 thread-ranks on GPU 0, device buffers"
  timeout 200 "$bin/weft-perf" allreduce --mem device -t 4 -b 8 -e "$max" -f 4 -n 10 -w 3 \
    >"$out/perf-threads.txt" 2>&1; rc=$?
  [ $rc -eq 0 ] || status=1
  tail -6 "$out/perf-threads.txt"
  # No launcher, no "[0]" prefix: size is column 1, time 6, busbw 8 (out of place), path 14.
  small=$(awk '$1=="8" && $3=="float" {print $6}' "$out/perf-threads.txt")
  large=$(awk '$3=="float" {last=$1 " B: busbw " $8} END {print last}' "$out/perf-threads.txt")
  large_bw=$(awk '$3=="float" {last=$8} END {print last}' "$out/perf-threads.txt")
  verdict() { awk -v x="$1" -v goal="$2" -v dir="$3" 'BEGIN {
    if (x == "") print "?"; else if ((dir == "<=" && x + 0 <= goal) || (dir == ">=" && x + 0 >= goal)) print "PASS"; else print "FAIL" }'; }
  note "thread-ranks allreduce 8 B (goal <= 15 us)" "${small:-?} us $(verdict "$small" 15 "<=") (exit $rc)"
  note "thread-ranks allreduce largest (goal >= 400 GB/s)" "${large:-?} GB/s $(verdict "$large_bw" 400 ">=")"
  # The staged mode and its buffer cache, as processes each on its own GPU run them, with
  # thread-ranks standing in (WEFT_CUDA_FORCE_STAGED): the largest size's busbw and path
  # (direct-inplace-kernel once every peer has mapped the buffers), a figure.
  WEFT_CUDA_FORCE_STAGED=1 timeout 200 "$bin/weft-perf" allreduce --mem device -t 4 -b 64M \
    -e "$max" -f 4 -n 10 -w 3 >"$out/perf-threads-staged.txt" 2>&1 || status=1
  tail -3 "$out/perf-threads-staged.txt"
  staged=$(awk '$3=="float" {last=$1 " B: busbw " $8 " GB/s, " $14} END {print last}' \
    "$out/perf-threads-staged.txt")
  note "staged mode + buffer cache, largest (a figure)" "${staged:-?}"
fi

if want crossover; then
  # Where the one-shot kernel stops paying: each kernel alone, then the default's choice.
  echo "== 3c. one-shot/direct crossover: 4 thread-ranks, all-reduce 1K..1M"
  xo() {  # file, environment...
    local f=$1; shift
    env "$@" timeout 120 "$bin/weft-perf" allreduce --mem device -t 4 -b 1K -e 1M -f 2 -n 20 \
      -w 5 >"$out/$f" 2>&1 || status=1
  }
  xo xo-oneshot.txt WEFT_CUDA_DIRECT=0 WEFT_ONE_SHOT_MAX_BYTES=1M
  xo xo-direct.txt WEFT_ONE_SHOT_MAX_BYTES=0
  xo xo-default.txt
  # Size column 1, time 6 (out of place), path 14; float rows, sizes ascending (plain awk).
  awk -f - "$out/xo-oneshot.txt" "$out/xo-direct.txt" "$out/xo-default.txt" \
    >"$out/crossover.txt" <<'AWK'
FNR == 1 { file++ }
$3 == "float" {
  if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
  t[file, $1] = $6; if (file == 3) path[$1] = $14
}
END {
  measured = "none"; model = "none"; worst = 0
  printf "%10s %12s %12s %12s  %s\n", "bytes", "oneshot_us", "direct_us", "default_us", "path"
  for (i = 1; i <= n; i++) {
    b = order[i]; o = t[1, b]; d = t[2, b]; x = t[3, b]
    printf "%10s %12s %12s %12s  %s\n", b, o, d, x, path[b]
    if (o != "" && d != "" && o + 0 <= d + 0) measured = b
    if (path[b] == "oneshot-kernel") model = b
    best = (o + 0 < d + 0) ? o + 0 : d + 0
    if (best > 0 && x / best > worst) worst = x / best
  }
  printf "measured crossover %s B, the model's %s B; default/faster at most %.2f\n", measured, model, worst
}
AWK
  cat "$out/crossover.txt"
  line=$(tail -1 "$out/crossover.txt")
  worst=${line##* }
  verdict=$(awk -v w="$worst" 'BEGIN { print (w + 0 > 0 && w + 0 <= 1.2) ? "PASS" : "FAIL" }')
  note "one-shot/direct crossover (default <= 1.2x best)" "$line $verdict"
fi
if want hosts; then
  echo "== 3d. across hosts: 2 processes (WEFT_HOSTID) x 2 thread-ranks, device buffers"
  # Each process a host of its own: weft-run gives each its WEFT_RANK.
  as_hosts() {  # file, weft-perf arguments...
    local f=$1; shift
    timeout 200 "$bin/weft-run" -n 2 --timeout 300 -- \
      sh -c 'WEFT_HOSTID=gpuhost$WEFT_RANK exec "$0" "$@"' "$bin/weft-perf" "$@" >"$out/$f" 2>&1 || status=1
  }
  # Rows carry weft-run's "[0]" prefix: size 2, type 4, time 7, algbw 8, busbw 9, #wrong 10, path 15.
  as_hosts hosts-p2p.txt sendrecv -b 256M -e 256M -n 10 -w 3
  as_hosts hosts-check.txt allreduce --mem device -t 2 -b 1M -e "$max" -f 16 -d all -n 2 -w 1
  WEFT_DEVICE_HIER=0 as_hosts hosts-allreduce.txt allreduce --mem device -t 2 -b 256M -e 256M -n 10 -w 3
  WEFT_NET_KERNEL=0 as_hosts hosts-staged.txt allreduce --mem device -t 2 -b 256M -e 256M -n 5 -w 2
  # The device hierarchy (WEFT_ALGO=hier): IPC legs inside each process, the ring kernel
  # along the rails between them.
  WEFT_ALGO=hier as_hosts hosts-hier-check.txt allreduce --mem device -t 2 -b 1M -e "$max" -f 16 -d all -n 2 -w 1
  WEFT_ALGO=hier as_hosts hosts-hier.txt allreduce --mem device -t 2 -b 256M -e 256M -n 10 -w 3
  # The same in one piece, its legs in turn (WEFT_DEVICE_HIER_PIECE=0): what the side stream's
  # overlap of pieces gains.
  WEFT_ALGO=hier WEFT_DEVICE_HIER_PIECE=0 as_hosts hosts-hier-one-piece.txt allreduce --mem device -t 2 -b 256M -e 256M -n 10 -w 3
  # Its other collectives (all-gather and reduce-scatter through rail-major scratch,
  # broadcast and reduce a part per rail), exact; all-gather busbw at 256 MiB, flat and hier.
  for coll in allgather reducescatter broadcast reduce; do
    WEFT_ALGO=hier as_hosts "hosts-hier-$coll-check.txt" $coll --mem device -t 2 -b 1M -e "$max" -f 16 -d all -n 2 -w 1
  done
  WEFT_DEVICE_HIER=0 as_hosts hosts-allgather.txt allgather --mem device -t 2 -b 256M -e 256M -n 10 -w 3
  WEFT_ALGO=hier as_hosts hosts-hier-allgather.txt allgather --mem device -t 2 -b 256M -e 256M -n 10 -w 3
  tail -4 "$out/hosts-allreduce.txt"
  p2p=$(awk '$4=="float" || $4=="int8" {print $8}' "$out/hosts-p2p.txt" | tail -1)
  bw=$(awk '$4=="float" {print $9}' "$out/hosts-allreduce.txt" | tail -1)
  path=$(awk '$4=="float" {print $15}' "$out/hosts-allreduce.txt" | tail -1)
  reduced=$(sed -n 's/.*Host-reduced bytes *: \([0-9]*\).*/\1/p' "$out/hosts-allreduce.txt")
  wrong=$(sed -n 's/.*Out of bounds values : \([0-9]*\).*/\1/p' "$out/hosts-check.txt")
  verdict=$(awk -v b="$bw" -v p="$p2p" 'BEGIN { if (b == "" || p == "") print "?"; else print (b + 0 >= 0.8 * p) ? "PASS" : "FAIL" }')
  note "hosts: every type 1M..$max, #wrong (goal 0)" "${wrong:-?}"
  note "hosts: UCX p2p between the processes, 256 MiB" "${p2p:-?} GB/s"
  note "hosts: allreduce 256 MiB busbw (goal >= 80% p2p)" "${bw:-?} GB/s via ${path:-?} $verdict"
  note "hosts: host-reduced bytes per call (goal 0)" "${reduced:-?}"
  note "hosts: the same, staged (CPU reduces), busbw" \
    "$(awk '$4=="float" {print $9 " GB/s via " $15}' "$out/hosts-staged.txt" | tail -1), host-reduced $(sed -n 's/.*Host-reduced bytes *: \([0-9]*\).*/\1/p' "$out/hosts-staged.txt")"
  note "hosts: hier every type 1M..$max, #wrong (goal 0)" \
    "$(sed -n 's/.*Out of bounds values : \([0-9]*\).*/\1/p' "$out/hosts-hier-check.txt")"
  note "hosts: hier allreduce 256 MiB busbw (goal >= 80% p2p)" \
    "$(awk '$4=="float" {print $9 " GB/s via " $15}' "$out/hosts-hier.txt" | tail -1), host-reduced $(sed -n 's/.*Host-reduced bytes *: \([0-9]*\).*/\1/p' "$out/hosts-hier.txt")"
  note "hosts: hier allreduce 256 MiB in one piece, busbw (goal below the pieces')" \
    "$(awk '$4=="float" {print $9 " GB/s via " $15}' "$out/hosts-hier-one-piece.txt" | tail -1)"
  for coll in allgather reducescatter broadcast reduce; do
    note "hosts: hier $coll every type 1M..$max, #wrong (goal 0)" \
      "$(sed -n 's/.*Out of bounds values : \([0-9]*\).*/\1/p' "$out/hosts-hier-$coll-check.txt")"
  done
  for f in allgather hier-allgather; do
    note "hosts: $f 256 MiB busbw (goal >= 80% p2p)" \
      "$(awk '$4=="float" {print $9 " GB/s via " $15}' "$out/hosts-$f.txt" | tail -1)"
  done
fi
if want staged; then
  # The host-staging path (what runs across hosts) at 256 MiB: in pieces (the default) and in
  # one piece, side by side in one run, so the overlap of copies and host collective shows.
  for piece in 4M 0; do
    WEFT_CUDA_IPC=0 WEFT_CUDA_STAGING_PIECE=$piece timeout 150 "$bin/weft-run" -n 4 --timeout 300 -- \
      "$bin/weft-perf" allreduce --mem device -b 256M -e 256M -n 5 -w 2 >"$out/perf-staged-$piece.txt" 2>&1; rc=$?
    [ $rc -eq 0 ] || status=1
    note "staged allreduce 256 MiB, pieces of $piece" "$(awk '$4=="float" {print "busbw " $9 " GB/s, #wrong " $10 "+" $14 ", time " $7 " us"}' "$out/perf-staged-$piece.txt") (exit $rc)"
  done
fi

if want torch; then
  echo "== 5. PyTorch's NCCL process group on Weft (libnccl.so.2 shim)"
  shim=$build/nccl-shim/libnccl.so.2
  torch_lib=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null)/lib/libtorch_cuda.so
  if [ -f "$shim" ] && [ -f "$torch_lib" ]; then
    # Python binds every symbol of libtorch_cuda.so at import: the shim must export them all.
    lacks=$(comm -23 <(nm -D --undefined-only "$torch_lib" | awk '{print $2}' | sed 's/@.*//' | grep '^nccl' | sort -u) \
                     <(nm -D --defined-only "$shim" | awk '{print $3}' | sort -u) | tr '\n' ' ')
    note "NCCL functions torch links, shim lacks" "${lacks:-none}"
    LD_PRELOAD=$(cd "$build" && pwd)/nccl-shim/libnccl.so.2 WEFT_TIMEOUT_MS=60000 timeout 200 \
      python3 scripts/gpu-torch-check.py --ranks 4 >"$out/torch.txt" 2>&1; rc=$?
    tail -8 "$out/torch.txt"
    [ $rc -eq 0 ] || status=1
    note "torch.distributed nccl on Weft, 4 ranks" "$(tail -1 "$out/torch.txt") (exit $rc)"
  else
    note "torch.distributed nccl on Weft" "not run (no shim in $build, or no torch)"
  fi
fi

echo
echo "==== gpu-check summary ===="
printf '%s\n' "${summary[@]}"
exit $status
