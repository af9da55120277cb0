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

// Ring order: hosts in order of their lowest rank, then NUMA node, then rank.
std::vector<int> LocalityRing(const std::vector<uint64_t>& host_of_rank,
                              const std::vector<int>& numa_of_rank);

}  // namespace weft
