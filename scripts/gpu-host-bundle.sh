#!/usr/bin/env bash
# Gathers, on a Debian 12 machine with network access, the development packages the GPU
# test host lacks (it has libucx0 without headers, and no pugixml), for scripts/gpu-check.sh
# --bundle DIR to unpack there with dpkg -x:
#
#   scripts/gpu-host-bundle.sh [DIR]      (default .gpu-bundle, ignored by git; about 2 MB)
#
# UCX's headers are Debian's 1.13; the host's libucx0 1.16 is ABI-compatible with them, and
# gpu-check.sh links against the host's libraries, not the packages' static ones. hwloc and
# GoogleTest are taken only where the host has none of its own.
set -euo pipefail
dir=${1:-.gpu-bundle}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -f "$dir"/*.deb
# apt-get download writes into the current folder.
(cd "$dir" && apt-get download libucx-dev libpugixml-dev libpugixml1v5 libhwloc-dev libgtest-dev)
ls -l "$dir"
