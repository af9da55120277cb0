#include "topology/job_topology.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "common/status.h"
#include "topology/paths.h"
#include "topology/rings.h"

namespace weft {

JobTopology JobTopology::Group(const std::vector<uint64_t>& host_hash) {
  JobTopology job;
  std::unordered_map<uint64_t, int> index;
  job.host_of.resize(host_hash.size());
  for (size_t r = 0; r < host_hash.size(); ++r) {
    auto [it, added] = index.emplace(host_hash[r], job.nhosts());
    if (added) {
      job.hosts.emplace_back();
      job.first_rank.push_back(static_cast<int>(r));
    }
    job.host_of[r] = it->second;
  }
  return job;
}

std::vector<int> GpuRingPositions(const JobTopology& job, const std::vector<std::string>& gpu_pci) {
  std::vector<int> pos(gpu_pci.size(), -1);
  std::vector<GpuRing> rings(job.hosts.size());
  std::vector<bool> searched(job.hosts.size(), false);
  for (size_t r = 0; r < gpu_pci.size(); ++r) {
    if (gpu_pci[r].empty()) continue;
    const int h = job.host_of[r];
    const SystemGraph& g = job.hosts[h];
    if (!searched[h]) {
      rings[h] = SearchGpuRing(g);
      searched[h] = true;
      // Start at the GPU that owns the host's first rail: the job's ring enters each host
      // there and leaves it, over the same rail (NIC 0 to NIC 0 between hosts), from the
      // last GPU of the host ring. Of the ring's two directions, the one whose last GPU is
      // nearer that NIC (its links are the same either way).
      std::vector<int>& order = rings[h].order;
      if (!g.rails.empty() && !order.empty()) {
        const std::vector<int> nic_of = AssignNics(g);
        auto it =
            std::find_if(order.begin(), order.end(), [&](int gpu) { return nic_of[gpu] == 0; });
        if (it != order.end()) std::rotate(order.begin(), it, order.end());
        if (order.size() > 2) {
          const Path last = ComputePath(g, g.gpus[order.back()], g.rails[0]);
          const Path reversed_last = ComputePath(g, g.gpus[order[1]], g.rails[0]);
          if (reversed_last.cls != last.cls ? reversed_last.cls < last.cls
                                            : reversed_last.gbps > last.gbps)
            std::reverse(order.begin() + 1, order.end());
        }
      }
    }
    for (size_t p = 0; p < rings[h].order.size(); ++p)
      if (g.nodes[g.gpus[rings[h].order[p]]].pci == gpu_pci[r]) pos[r] = static_cast<int>(p);
  }
  return pos;
}

bool EveryHostHasInfiniBand(const JobTopology& job) {
  for (const SystemGraph& g : job.hosts) {
    bool ib = false;
    for (int nic : g.nics)
      ib = ib || (g.nodes[nic].link_layer == "ib" && g.nodes[nic].state != "down");
    if (!ib) return false;
  }
  return !job.hosts.empty();
}

int RailNics(const JobTopology& job) {
  int fewest = 0;
  for (size_t h = 0; h < job.hosts.size(); ++h) {
    const SystemGraph& g = job.hosts[h];
    int active = 0;
    for (int nic : g.rails)
      active += g.nodes[nic].state != "down";
    fewest = h == 0 ? active : std::min(fewest, active);
  }
  return std::max(1, fewest);
}

std::string DescribeHosts(const JobTopology& job) {
  std::string out;
  for (int h = 0; h < job.nhosts(); ++h) {
    std::string ranks;
    for (size_t r = 0; r < job.host_of.size(); ++r)
      if (job.host_of[r] == h) ranks += (ranks.empty() ? "" : ",") + std::to_string(r);
    const SystemGraph& g = job.hosts[h];
    std::string nics;
    for (int nic : g.rails) {
      const TopoNode& n = g.nodes[nic];  // files may name a NIC by its PCI address only
      nics += Format("%s%s(%s)", nics.empty() ? "" : " ",
                     (n.name.empty() ? g.NicId(nic) : n.name).c_str(), n.link_layer.c_str());
    }
    const size_t management = g.nics.size() - g.rails.size();
    out += Format("%shost %d (ranks %s): %zu GPUs, %zu NICs%s%s%s, from %s", h ? "\n" : "", h,
                  ranks.c_str(), g.gpus.size(), g.rails.size(),
                  management ? Format(" (+%zu management)", management).c_str() : "",
                  nics.empty() ? "" : ": ", nics.c_str(), g.source.c_str());
  }
  return out;
}

}  // namespace weft
