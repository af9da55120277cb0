// The SystemGraph from hwloc: the live host, or an hwloc XML file (1.x/2.x format).
// GPUs are NVIDIA PCI devices (class 0x03), found by PCI class rather than by OS device
// (Debian's hwloc has no CUDA/NVML plugin); NICs are OpenFabrics OS devices, and Ethernet
// PCI devices with a network interface; NVLinks come from the NVLinkBandwidth matrix when
// the file has one. See shared/notes/hwloc-topology.md.
#pragma once

#include <string>

#include "common/status.h"
#include "topology/system_graph.h"

namespace weft {

// xml_path empty: discover this host. Errors name the file and the problem.
Status LoadHwlocTopology(const std::string& xml_path, SystemGraph* out);

}  // namespace weft
