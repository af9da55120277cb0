#!/usr/bin/env bash
# Weft as a user installs and consumes it: `cmake --install` into a fresh prefix, then
#   1. what is installed: the library, weft/weft.h, the tools, find_package's and pkg-config's
#      files, the NCCL shim in <libdir>/weft/nccl (where it was built), the license;
#   2. libweft.so exports the weft* C API and nothing else, and no installed binary keeps a
#      runpath into the build folder;
#   3. examples/ built with find_package(Weft) and, apart, with `pkg-config weft`, each run on
#      2 ranks by the installed weft-run with an exact result;
#      and `import weft` from the prefix loads the installed library;
#   4. a parent project that add_subdirectory()s the source tree configures and generates
#      (linking Weft::weft), without building Weft again.
#
#   install_and_consume.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }

# 1. The installed files. GNUInstallDirs picks lib or lib64 (lib/<triplet> only under /usr).
libdir=lib
[ -e "$prefix/lib64/libweft.so" ] && libdir=lib64
for f in "$libdir/libweft.so" "$libdir/libweft.so.0" include/weft/weft.h \
         "$libdir/cmake/Weft/WeftConfig.cmake" "$libdir/cmake/Weft/WeftConfigVersion.cmake" \
         "$libdir/cmake/Weft/WeftTargets.cmake" "$libdir/pkgconfig/weft.pc" \
         bin/weft-run bin/weft-perf bin/weft-info bin/weft-topo bin/weft-sim share/doc/weft/LICENSE; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
if [ -e "$build/nccl-shim" ]; then
  [ -e "$prefix/$libdir/weft/nccl/libnccl.so.2" ] || fail "the NCCL shim is not installed"
  [ -e "$prefix/include/weft/nccl/nccl.h" ] || fail "the shim's nccl.h is not installed"
fi
echo "installed: $(cd "$prefix" && find . -type f -o -type l | wc -l) files under $prefix"

# 2. Exports and runpaths.
others=$(nm -D --defined-only "$prefix/$libdir/libweft.so" | awk '{print $3}' | grep -v '^weft' || true)
[ -z "$others" ] || fail "libweft.so exports more than its C API: $(echo $others | head -c 400)"
echo "libweft.so exports $(nm -D --defined-only "$prefix/$libdir/libweft.so" | wc -l) symbols, all weft*"
for f in $(find "$prefix" -type f \( -name '*.so*' -o -path '*/bin/*' \)); do
  if readelf -d "$f" 2>/dev/null | grep -E 'RPATH|RUNPATH' | grep -q "$build"; then
    fail "$f keeps a runpath into the build folder"
  fi
done

# 3. The example, through find_package and through pkg-config, run by the installed tools.
run2() {  # program: 2 ranks, each must print its exact sum
  local out
  out=$(WEFT_TIMEOUT_MS=60000 "$prefix/bin/weft-run" -n 2 -- "$@" 2>&1) || { echo "$out"; fail "$* on 2 ranks"; }
  [ "$(grep -c 'rank [01]: 1 (expected 1)$' <<<"$out")" = 2 ] || { echo "$out"; fail "$*: not exact"; }
}
cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" >"$work/examples.log" 2>&1 ||
  { cat "$work/examples.log"; fail "examples/ does not configure with find_package(Weft)"; }
cmake --build "$work/examples" >>"$work/examples.log" 2>&1 || { cat "$work/examples.log"; fail "examples/ does not build"; }
run2 "$work/examples/allreduce_example"
echo "find_package(Weft): examples/ built and exact on 2 ranks"

export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[ "$(pkg-config --modversion weft)" = "$(sed -n 's/^project(weft VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")" ] ||
  fail "pkg-config weft's version is not the project's"
# shellcheck disable=SC2046 # pkg-config's flags are meant to split
cc -o "$work/example_pc" "$src/examples/allreduce_example.c" $(pkg-config --cflags --libs weft)
LD_LIBRARY_PATH=$prefix/$libdir run2 "$work/example_pc"
echo "pkg-config weft: the example built and exact on 2 ranks"

# The Python package, installed beside the library, finds the installed libweft itself.
for py in /usr/bin/python3 python3; do
  if "$py" -c "import ctypes" 2>/dev/null; then
    got=$(cd / && env -u WEFT_LIBRARY PYTHONPATH="$prefix/lib/python3/dist-packages" "$py" -c \
      'import weft, weft._library as l; print(weft.version(), l.lib._name)') ||
      fail "the installed Python package does not import"
    grep -q "^(0, 1, 0) $prefix/" <<<"$got" || fail "the Python package loaded another libweft: $got"
    echo "python: import weft from the prefix, its library the installed one"
    if ls "$build"/python/weft/_c10d*.so >/dev/null 2>&1 && "$py" -c "import torch" 2>/dev/null; then
      got=$(cd / && env -u WEFT_LIBRARY PYTHONPATH="$prefix/lib/python3/dist-packages" "$py" -c \
        'import weft.distributed, weft._c10d as m; print(m.__file__)') ||
        fail "the installed torch backend does not import"
      grep -q "^$prefix/" <<<"$got" || fail "the torch backend came from elsewhere: $got"
      ! ldd "$got" | grep -q "$build" || fail "the installed torch backend loads the build's libweft"
      echo "python: import weft.distributed from the prefix"
    fi
    break
  fi
done

# 4. add_subdirectory.
mkdir -p "$work/parent"
cat >"$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(parent LANGUAGES C CXX)
add_subdirectory("$src" weft)
add_executable(app "$src/examples/allreduce_example.c")
target_link_libraries(app PRIVATE Weft::weft)
CMAKE
cmake -S "$work/parent" -B "$work/parent/build" -DWEFT_CUDA=OFF >"$work/parent.log" 2>&1 ||
  { cat "$work/parent.log"; fail "a parent project cannot add_subdirectory() Weft"; }
[ ! -e "$work/parent/build/weft/tests" ] || fail "a parent project builds Weft's tests"
echo "add_subdirectory: a parent project configures and generates, without Weft's tests"
echo "PASS"
