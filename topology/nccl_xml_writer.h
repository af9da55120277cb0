// Writes a SystemGraph as an NCCL topology file (the NCCL_TOPO_FILE format), which
// LoadTopologyFile reads back into the same graph and NCCL's own dump can be compared to.
// Host bridges are not written (NCCL's format has none: their devices hang from the CPU,
// which gives the same path classes). NVLink totals travel in a `bw` attribute of
// <nvlink> (GB/s) besides NCCL's `count`, so bandwidths survive the round trip.
#pragma once

#include <string>

#include "common/status.h"
#include "topology/system_graph.h"

namespace weft {

Status WriteNcclTopology(const SystemGraph& g, const std::string& path);
std::string NcclTopologyXml(const SystemGraph& g);

}  // namespace weft
