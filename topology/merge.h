// A topology file completed by what this host detects, as NCCL merges NCCL_TOPO_FILE with
// its own detection: the file comes first; live facts fill only what it lacks (NVLinks of
// GPUs it lists without any, GPU names, NIC names, state, rate and link layer). Devices are
// matched by PCI address (NICs without one by name); what the file does not list stays out.
#pragma once

#include <string>

#include "common/status.h"
#include "topology/system_graph.h"

namespace weft {

// Adds `live`'s facts to `file` and says in file->notes and file->source what came from where.
void MergeLiveFacts(const SystemGraph& live, SystemGraph* file);

// This host's topology: live detection (hwloc, NVML, sysfs) without a file; with one (hwloc
// or NCCL XML), the file, completed by live detection unless `merge` is false (then its
// note says the file stands alone). Errors name the file or the discovery.
Status LoadHostTopology(const std::string& file, bool merge, SystemGraph* out);

}  // namespace weft
