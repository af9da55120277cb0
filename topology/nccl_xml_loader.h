// The SystemGraph from an NCCL topology file (NCCL_TOPO_FILE format, as cloud providers
// publish for their VMs): <system><cpu><pci><gpu/><nic><net/></nic></pci></cpu></system>.
// Handles comments, empty attributes (link_speed=""), and NVLinks that target the GPU itself.
#pragma once

#include <string>

#include "common/status.h"
#include "topology/system_graph.h"

namespace weft {

Status LoadNcclTopology(const std::string& path, SystemGraph* out);
// The same from text in memory (a host view another rank sent); `source` names it in errors.
Status ParseNcclTopology(const std::string& xml, const std::string& source, SystemGraph* out);

// Reads a topology file of either format (hwloc XML or NCCL XML), by its root element.
Status LoadTopologyFile(const std::string& path, SystemGraph* out);

}  // namespace weft
