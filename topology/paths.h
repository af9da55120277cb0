// Paths between devices of a SystemGraph, with NCCL's path classes and the bottleneck
// bandwidth, and the GPU -> NIC assignment.
#pragma once

#include <string>
#include <vector>

#include "topology/system_graph.h"

namespace weft {

// NCCL's names, best first: the same device, NVLink (direct or through NVSwitches),
// NVLink through an intermediate GPU (NVB: DGX-1's hybrid cube-mesh), a single PCIe switch,
// several PCIe bridges, the host bridge of one CPU, across CPUs.
enum class PathClass { kLoc = 0, kNvl, kNvb, kPix, kPxb, kPhb, kSys };
const char* PathClassName(PathClass c);

struct Path {
  PathClass cls = PathClass::kSys;
  double gbps = 0;    // bottleneck bandwidth, GB/s (0: unknown)
  int nvlinks = 0;    // NVLinks between the two (NVL only)
  int via = -1;       // NVB: the intermediate GPU (node index)
  bool xgmi = false;  // NVL over AMD's xGMI rather than NVLink
};

Path ComputePath(const SystemGraph& g, int a, int b);

// Matrices over g.gpus x g.gpus and g.gpus x g.nics.
std::vector<std::vector<Path>> GpuPaths(const SystemGraph& g);
std::vector<std::vector<Path>> GpuNicPaths(const SystemGraph& g);

// For each GPU (index into g.gpus), the index into g.rails of its NIC, or -1: the closest
// rail, ties going to the least used one so that rails spread over GPUs (rail alignment).
// Management NICs are never assigned.
std::vector<int> AssignNics(const SystemGraph& g);

// Total NVLink bandwidth of a node (GB/s).
double NvLinkGbps(const SystemGraph& g, int node);

// A ring over the GPUs that keeps the best links: greedy from GPU 0, always to the
// unvisited GPU with the best path (class, then bandwidth, then PCI order). Indices into
// g.gpus; *bottleneck gets the ring's worst path.
std::vector<int> GreedyGpuRing(const SystemGraph& g, Path* bottleneck);

}  // namespace weft
