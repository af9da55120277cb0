// Ring search over a host's GPUs: the order that keeps the worst link of the ring as good
// as possible (NVLink first, then one PCIe switch, several, the host bridge, across CPUs),
// then its bandwidth, then the fewest bad links. Exhaustive up to 9 GPUs (8! orders),
// greedy beyond. Across hosts each ring enters and leaves a host through a GPU and its NIC.
#pragma once

#include <vector>

#include "topology/paths.h"
#include "topology/system_graph.h"

namespace weft {

struct GpuRing {
  std::vector<int> order;  // indices into g.gpus
  Path bottleneck;         // the ring's worst link
};

// The best ring over the host's GPUs (empty for no GPU; one GPU is a trivial ring).
GpuRing SearchGpuRing(const SystemGraph& g);

// Up to `nchannels` rings: the best one and, where links are full duplex, the same ring
// reversed, then rotations (every ring has the best ring's bottleneck).
std::vector<GpuRing> SearchGpuRings(const SystemGraph& g, int nchannels);

// Rings of a job of `nhosts` hosts shaped like `g`, with ranks_per_host ranks per host
// (rank = host * ranks_per_host + local, local = GPU index when ranks_per_host equals the
// GPU count, else ranks in order). Channel c enters each host at the GPU that owns NIC c
// and leaves it at the GPU before it in the host ring.
std::vector<std::vector<int>> JobRings(const SystemGraph& g, int nhosts, int ranks_per_host,
                                       int nchannels);

}  // namespace weft
