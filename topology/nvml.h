// Live NVLink discovery through NVML, loaded with dlopen (libnvidia-ml.so.1) so that
// building needs neither NVML headers nor the library: the sequence NCCL uses, per GPU and
// link: P2P capability, active state, remote PCI address. Remote addresses that are not a
// GPU of the graph are NVSwitches (all of them one fabric node).
#pragma once

#include "common/status.h"
#include "topology/system_graph.h"

namespace weft {

// Adds NVLink edges (and GPU names) to a live graph. Without NVML or GPUs: nothing, an
// INFO log line, and Ok.
Status AddNvmlNvLinks(SystemGraph* g);

}  // namespace weft
