// Where a rank runs (NUMA node), and the ring order of ranks that use host memory: ranks
// of one host together, and within a host, ranks of one NUMA node together, so that the
// ring crosses each host boundary once and each socket boundary once per host.
#pragma once

#include <cstdint>
#include <vector>

namespace weft {

// The NUMA node of the CPUs this process may run on (the current CPU's node if they span
// several), or -1 if unknown. From sysfs.
int CurrentNumaNode();

// Ring order: hosts in order of their lowest rank; within a host, ranks with a GPU in the
// order of their GPU's position in the host's GPU ring (`gpu_pos_of_rank`, from
// SearchGpuRing; ranks sharing a GPU side by side), then ranks without one (-1, or an empty
// vector for none) by NUMA node; ties by rank.
std::vector<int> LocalityRing(const std::vector<uint64_t>& host_of_rank,
                              const std::vector<int>& numa_of_rank,
                              const std::vector<int>& gpu_pos_of_rank = {});

}  // namespace weft
