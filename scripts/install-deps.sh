#!/usr/bin/env bash
# Installs every Debian 12 package Weft's build, tests and benchmarks need. Idempotent:
# does nothing (not even `apt-get update`) when everything is already installed.
set -euo pipefail

PACKAGES=(
  cmake g++ make pkg-config             # build
  libucx-dev ucx-utils                  # transport (ucx_info)
  libhwloc-dev hwloc                    # topology (lstopo)
  libpugixml-dev                        # topology XML files
  libopenmpi-dev openmpi-bin            # launching, MPI baseline in weft-perf
  libgloo-dev                           # Gloo baseline in weft-perf (--compare gloo)
  libgtest-dev                          # tests
  nlohmann-json3-dev libcli11-dev       # JSON output, command-line flags
  clang libclang-rt-14-dev              # libFuzzer target for the bootstrap parsers
  iproute2                              # two hosts in network namespaces (tests/netns)
  python3-matplotlib python3-numpy      # bench/plot-perf.py, the Python package's tests
  python3-torch libtorch-dev            # the torch.distributed backend (python/c10d), DDP tests
  pybind11-dev python3-dev              #   and its extension module
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
