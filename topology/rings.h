// Ring search over a host's GPUs: the order that keeps the worst link of the ring as good
// as possible (NVLink first, then one PCIe switch, several, the host bridge, across CPUs),
// then its bandwidth, then the fewest bad links. Exhaustive up to 9 GPUs (8! orders),
// greedy beyond. How a job's ring crosses hosts: collectives/job_layout.h.
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

}  // namespace weft
