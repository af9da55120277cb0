#!/usr/bin/env bash
# Device buffers across processes: 4 ranks on GPU 0 (several ranks per GPU is how Weft is
# tested on a one-GPU machine), every collective, every type, checked exactly by
# weft-perf (#wrong must be 0), on the CUDA IPC path and on the host-staging path (in
# pieces of 64 KiB there, so sizes from 128 KiB up run several pieces per call); then across
# two hosts (WEFT_HOSTID per process) of 2 thread-ranks each, where the ring kernel reduces
# and the network proxy moves the bytes (every row's path must be net-ring-kernel), and the
# device hierarchy's collectives there (every row's path must be hier).
# Exit 77 (ctest: skipped) without a GPU.
set -uo pipefail
bin=${1:?usage: device_collectives.sh BUILD/bin [max bytes]}
max=${2:-1M}
"$bin/weft-kernels" --probe >/dev/null 2>&1
[ $? -eq 77 ] && { echo "SKIPPED: no CUDA device"; exit 77; }
export WEFT_TIMEOUT_MS=${WEFT_TIMEOUT_MS:-60000}
status=0
for ipc in 1 0; do
  for coll in allreduce allgather reducescatter broadcast reduce; do
    out=$(WEFT_CUDA_IPC=$ipc WEFT_CUDA_STAGING_PIECE=64K "$bin/weft-run" -n 4 --timeout 300 -- "$bin/weft-perf" "$coll" --mem device \
          -b 8 -e "$max" -f 8 -d all -n 2 -w 1 2>&1)
    rc=$?
    wrong=$(printf '%s\n' "$out" | sed -n 's/.*Out of bounds values : \([0-9]*\).*/\1/p')
    echo "WEFT_CUDA_IPC=$ipc $coll: exit $rc, wrong ${wrong:-?}"
    if [ $rc -ne 0 ] || [ "${wrong:-1}" != 0 ]; then
      printf '%s\n' "$out" | tail -30
      status=1
    fi
  done
done
# Across two hosts (one per process, WEFT_HOSTID) of 2 thread-ranks: every row exact and on
# `path`. Arguments: label, path, collective, then environment settings (NAME=VALUE).
as_hosts() {
  local label=$1 path=$2 coll=$3 out rc wrong others
  shift 3
  out=$(env "$@" "$bin/weft-run" -n 2 --timeout 300 -- sh -c 'WEFT_HOSTID=gpuhost$WEFT_RANK exec "$0" "$@"' \
        "$bin/weft-perf" "$coll" --mem device -t 2 -b 8 -e "$max" -f 8 -d all -n 2 -w 1 2>&1)
  rc=$?
  wrong=$(printf '%s\n' "$out" | sed -n 's/.*Out of bounds values : \([0-9]*\).*/\1/p')
  others=$(printf '%s\n' "$out" | awk -v p="$path" '$1 == "[0]" && $2 ~ /^[0-9]+$/ && NF >= 14 && $NF != p' | wc -l)
  echo "two hosts x 2 thread-ranks $coll$label: exit $rc, wrong ${wrong:-?}, rows off $path $others"
  if [ $rc -ne 0 ] || [ "${wrong:-1}" != 0 ] || [ "$others" != 0 ]; then
    printf '%s\n' "$out" | tail -30
    status=1
  fi
}
for coll in allreduce allgather reducescatter broadcast reduce; do
  as_hosts "" net-ring-kernel "$coll" WEFT_DEVICE_HIER=0
done
# The device hierarchy: CUDA IPC legs inside each process and the ring kernel along the rails.
for coll in allreduce allgather reducescatter broadcast reduce; do
  as_hosts ", device hierarchy" hier "$coll" WEFT_ALGO=hier
done
exit $status
