#include "topology/placement.h"

#include <dirent.h>
#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace weft {
namespace {

// The NUMA node of a CPU: /sys/devices/system/cpu/cpuN/nodeM.
int NodeOfCpu(int cpu) {
  const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int node = -1;
  while (dirent* e = readdir(d)) {
    if (std::strncmp(e->d_name, "node", 4) == 0 && e->d_name[4] >= '0' && e->d_name[4] <= '9') {
      node = std::atoi(e->d_name + 4);
      break;
    }
  }
  closedir(d);
  return node;
}

}  // namespace

int CurrentNumaNode() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int node = -2;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &set)) continue;
      const int n = NodeOfCpu(cpu);
      if (node == -2)
        node = n;
      else if (node != n)
        node = -3;  // spans several nodes
    }
    if (node >= -1) return node;
  }
  const int cpu = sched_getcpu();
  return cpu >= 0 ? NodeOfCpu(cpu) : -1;
}

std::vector<int> LocalityRing(const std::vector<uint64_t>& host_of_rank,
                              const std::vector<int>& numa_of_rank,
                              const std::vector<int>& gpu_pos_of_rank) {
  const int n = static_cast<int>(host_of_rank.size());
  std::map<uint64_t, int> first_rank;  // host -> its lowest rank
  for (int r = n - 1; r >= 0; --r)
    first_rank[host_of_rank[r]] = r;
  std::vector<int> ring(n);
  for (int r = 0; r < n; ++r)
    ring[r] = r;
  std::stable_sort(ring.begin(), ring.end(), [&](int a, int b) {
    const int ha = first_rank[host_of_rank[a]], hb = first_rank[host_of_rank[b]];
    if (ha != hb) return ha < hb;
    const int ga = gpu_pos_of_rank.empty() ? -1 : gpu_pos_of_rank[a];
    const int gb = gpu_pos_of_rank.empty() ? -1 : gpu_pos_of_rank[b];
    if ((ga < 0) != (gb < 0)) return ga >= 0;  // GPU ranks first
    if (ga >= 0) return ga < gb;
    return numa_of_rank[a] < numa_of_rank[b];
  });
  return ring;
}

}  // namespace weft
