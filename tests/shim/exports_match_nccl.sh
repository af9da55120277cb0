#!/usr/bin/env bash
# Every function NCCL's own libnccl.so.2 exports, the shim exports too: a program linked
# against NCCL must load on Weft. Python loads extension libraries with every symbol bound
# at once, so one missing symbol (ncclDevCommDestroy, once) is an ImportError for all of
# `import torch`, whether or not the program ever calls it.
#
#   exports_match_nccl.sh SHIM_LIB NCCL_LIB      (exit 77, skipped, without NCCL's library)
#
# NCCL's profiling aliases (pnccl*) and internal hooks (*Internal) are not API and are left out.
set -euo pipefail
shim=$1 nccl=${2:-}
if [ -z "$nccl" ] || [ ! -f "$nccl" ]; then
  echo "no NCCL library to compare with (${nccl:-none given}): skipped"
  exit 77
fi
functions() { nm -D --defined-only "$1" | awk '$2 == "T" || $2 == "W" {print $3}' | grep '^nccl' | grep -v 'Internal$' | sort -u; }
missing=$(comm -23 <(functions "$nccl") <(functions "$shim"))
if [ -n "$missing" ]; then
  echo "exported by $nccl but not by $shim:"
  echo "$missing"
  exit 1
fi
echo "all $(functions "$nccl" | wc -l) functions NCCL exports are exported by the shim"
