#!/usr/bin/env bash
# Builds the bootstrap parser fuzz target with clang (libFuzzer + ASan + UBSan) and runs it
# for a bounded time. Exit 77 (ctest: skipped) when clang's libFuzzer is not installed.
# Usage: run-fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -uo pipefail
src=${1:?source dir}
out=${2:?build dir}/fuzz
seconds=${3:-60}
cxx=$(command -v clang++ || command -v clang++-14 || true)
[ -n "$cxx" ] || { echo "SKIPPED: no clang++"; exit 77; }
mkdir -p "$out/corpus"
if ! "$cxx" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
     -I"$src" -I"$src/include" "$src/tests/fuzz/bootstrap_wire_fuzz.cc" \
     "$src/transport/bootstrap/wire.cc" "$src/transport/bootstrap/unique_id.cc" \
     "$src/common/status.cc" -o "$out/bootstrap_wire_fuzz" 2>"$out/build.log"; then
  if grep -q "fuzzer" "$out/build.log"; then
    echo "SKIPPED: clang has no libFuzzer runtime"; cat "$out/build.log"; exit 77
  fi
  cat "$out/build.log"; exit 1
fi
# Seeds: a valid header, a Hello, a gathered payload, a unique id (first byte: parser).
printf '\x00BTFW\x01\x00\x00\x00\x1c\x00\x00\x00' >"$out/corpus/header"
"$out/bootstrap_wire_fuzz" -max_total_time="$seconds" -seed=1 -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" 2>&1 | tail -15
