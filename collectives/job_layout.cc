#include "collectives/job_layout.h"

#include <algorithm>
#include <cstdint>

#include "common/status.h"
#include "topology/paths.h"
#include "topology/placement.h"

namespace weft {

JobLayout LayOutJob(const JobTopology& job, const std::vector<RankPlace>& ranks) {
  const int n = static_cast<int>(ranks.size());
  std::vector<uint64_t> host(n);
  std::vector<int> numa(n);
  std::vector<std::string> gpu(n);
  for (int r = 0; r < n; ++r) {
    host[r] = static_cast<uint64_t>(job.host_of[r]);
    numa[r] = ranks[r].numa;
    gpu[r] = ranks[r].gpu_pci;
  }
  JobLayout out;
  out.shapes = MakePlanShapes(LocalityRing(host, numa, GpuRingPositions(job, gpu)), job.host_of);
  // Rails: a GPU rank's is its GPU's NIC; a rank without a GPU takes its place among the
  // host's ranks modulo the rails, so that ranks spread over them.
  out.rail_of.assign(n, -1);
  std::vector<std::vector<int>> nic_of(job.hosts.size());
  for (size_t h = 0; h < job.hosts.size(); ++h)
    nic_of[h] = AssignNics(job.hosts[h]);
  for (const std::vector<int>& members : out.shapes.hosts) {
    for (size_t local = 0; local < members.size(); ++local) {
      const int r = members[local];
      const SystemGraph& g = job.hosts[job.host_of[r]];
      if (g.rails.empty()) continue;
      out.rail_of[r] = static_cast<int>(local % g.rails.size());
      for (size_t i = 0; i < g.gpus.size(); ++i)
        if (!gpu[r].empty() && g.nodes[g.gpus[i]].pci == gpu[r] && nic_of[job.host_of[r]][i] >= 0)
          out.rail_of[r] = nic_of[job.host_of[r]][i];
    }
  }
  const std::vector<int>& ring = out.shapes.ring;
  for (size_t i = 0; i < ring.size() && ring.size() > 1; ++i) {
    const int from = ring[i], to = ring[(i + 1) % ring.size()];
    if (job.host_of[from] == job.host_of[to]) continue;
    RailHop hop;
    hop.from = from;
    hop.to = to;
    hop.rail = out.rail_of[to];
    const SystemGraph& a = job.hosts[job.host_of[from]];
    const SystemGraph& b = job.hosts[job.host_of[to]];
    if (hop.rail >= 0 && !a.rails.empty()) {
      hop.from_nic = a.NicId(a.rails[static_cast<size_t>(hop.rail) % a.rails.size()]);
      hop.to_nic = b.NicId(b.rails[static_cast<size_t>(hop.rail)]);
    }
    out.ring_hops.push_back(hop);
  }
  return out;
}

void ImagineJob(const SystemGraph& g, int nhosts, int ranks_per_host, JobTopology* job,
                std::vector<RankPlace>* ranks) {
  std::vector<uint64_t> host_hash;
  for (int h = 0; h < nhosts; ++h)
    for (int l = 0; l < ranks_per_host; ++l)
      host_hash.push_back(static_cast<uint64_t>(h));
  *job = JobTopology::Group(host_hash);
  for (SystemGraph& each : job->hosts)
    each = g;
  std::vector<int> nvidia, numas;
  for (int gpu : g.gpus)
    if (g.IsNvidiaGpu(gpu)) nvidia.push_back(gpu);
  for (const TopoNode& node : g.nodes)
    if (node.kind == NodeKind::kNuma) numas.push_back(node.numa);
  std::sort(numas.begin(), numas.end());
  ranks->assign(host_hash.size(), RankPlace{});
  for (size_t r = 0; r < host_hash.size(); ++r) {
    const int local = static_cast<int>(r) % ranks_per_host;
    RankPlace& place = (*ranks)[r];
    if (!nvidia.empty()) {
      const TopoNode& gpu = g.nodes[nvidia[static_cast<size_t>(local) % nvidia.size()]];
      place.gpu_pci = gpu.pci;
      place.numa = gpu.numa;
    } else if (!numas.empty()) {
      place.numa =
          numas[static_cast<size_t>(local) * numas.size() / static_cast<size_t>(ranks_per_host)];
    }
  }
}

std::string RailNetDevice(const JobTopology& job, const JobLayout& layout, int rank,
                          const std::function<bool(const std::string& device)>& present,
                          std::string* why) {
  const SystemGraph& g = job.hosts[job.host_of[rank]];
  const int rail = layout.rail_of[rank];
  if (g.rails.size() < 2 || rail < 0) {
    *why = Format("%zu rail%s on this host: UCX chooses", g.rails.size(),
                  g.rails.size() == 1 ? "" : "s");
    return "";
  }
  const TopoNode& nic = g.nodes[g.rails[rail]];
  std::string device;
  if (nic.link_layer != "ethernet" && nic.link_layer != "slingshot" && !nic.name.empty()) {
    device = nic.name + ":" + std::to_string(g.NicPort(g.rails[rail]));
  } else if (!nic.netdevs.empty()) {
    device = nic.netdevs[0];
  } else if (!nic.name.empty()) {
    device = nic.name;
  }
  if (device.empty() || !present(device)) {
    *why = Format("rail %d (%s) is not a device of this rank: UCX chooses", rail,
                  g.NicId(g.rails[rail]).c_str());
    return "";
  }
  *why = Format("rail %d of %zu (%s)", rail, g.rails.size(), g.NicId(g.rails[rail]).c_str());
  return device;
}

std::string DescribeLayout(const JobTopology& job, const JobLayout& layout) {
  const PlanShapes& s = layout.shapes;
  std::string out = "ring (every channel):";
  for (int r : s.ring)
    out += Format(" %d", r);
  for (const RailHop& hop : layout.ring_hops) {
    out += Format("\n  host %d -> host %d: rank %d -> rank %d", job.host_of[hop.from],
                  job.host_of[hop.to], hop.from, hop.to);
    out += hop.rail < 0 ? " (no rail: a host without NICs)"
                        : Format(" on rail %d (%s -> %s)", hop.rail, hop.from_nic.c_str(),
                                 hop.to_nic.c_str());
  }
  for (size_t t = 0; t < s.trees.size(); ++t)
    out += Format("\ntree %zu: %s", t, DescribeTree(s.trees[t]).c_str());
  if (s.hosts.size() > 1 && s.uniform_hosts()) {
    out += "\nhier, between hosts (one ring per local index):";
    for (size_t local = 0; local < s.hosts[0].size(); ++local) {
      out += Format("\n  local %zu:", local);
      for (const std::vector<int>& members : s.hosts)
        out += Format(" %d", members[local]);
      const int rail = layout.rail_of[s.hosts[0][local]];
      const SystemGraph& g = job.hosts[job.host_of[s.hosts[0][local]]];
      if (rail >= 0) out += Format(" on rail %d (%s)", rail, g.NicId(g.rails[rail]).c_str());
    }
  }
  return out;
}

}  // namespace weft
