#!/usr/bin/env bash
# A fresh configure with CUDA builds the kernels for sm_80 and sm_90 (README), and a
# caller's CMAKE_CUDA_ARCHITECTURES wins. Skipped (77) where there is no nvcc.
#   cuda_architectures.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: $0 SOURCE_DIR}
[[ -x /usr/local/cuda/bin/nvcc ]] || command -v nvcc >/dev/null || exit 77
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset CUDAARCHS
cached() {  # the cached value after configuring into $work/$1 with the rest of the arguments
  local dir=$work/$1
  shift
  cmake -S "$src" -B "$dir" -DWEFT_CUDA=ON -DWEFT_BUILD_TESTS=OFF -DWEFT_WITH_MPI=OFF "$@" \
    >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
  sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$dir/CMakeCache.txt"
}
status=0
default=$(cached default)
[[ $default == "80;90" ]] || { echo "default: '$default', expected '80;90'"; status=1; }
given=$(cached given -DCMAKE_CUDA_ARCHITECTURES=90)
[[ $given == "90" ]] || { echo "given 90: '$given'"; status=1; }
[[ $status == 0 ]] && echo "default $default, given $given: ok"
exit $status
