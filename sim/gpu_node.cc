#include "sim/gpu_node.h"

#include <algorithm>
#include <cstdlib>

#include "topology/link_facts.h"
#include "topology/nccl_xml_loader.h"
#include "topology/paths.h"

namespace weft::sim {
namespace {

// NVIDIA's data sheets (SXM parts), and the NIC each generation's nodes ship with.
constexpr GpuModel kModels[] = {
    {"a100", 80, 12, 2039, 25, 32},    // HDR 200G
    {"h100", 90, 18, 3350, 50, 64},    // NDR 400G
    {"h200", 90, 18, 4800, 50, 64},    // NDR 400G
    {"b200", 100, 18, 8000, 100, 64},  // XDR 800G
};

int SmOf(const TopoNode& gpu) {
  for (const auto& [key, value] : gpu.device_attrs)
    if (key == "sm") return std::atoi(value.c_str());
  return 0;
}

}  // namespace

const GpuModel* FindGpuModel(const std::string& name) {
  for (const GpuModel& m : kModels)
    if (name == m.name) return &m;
  return nullptr;
}

std::string GpuModelNames() {
  std::string out;
  for (const GpuModel& m : kModels)
    out += (out.empty() ? "" : ", ") + std::string(m.name);
  return out;
}

Status GpuNodeFromModel(const std::string& model, int gpus, int nics, GpuNode* out) {
  const GpuModel* m = FindGpuModel(model);
  WEFT_REQUIRE(m != nullptr, weftInvalidArgument, "unknown GPU model '%s' (known: %s)",
               model.c_str(), GpuModelNames().c_str());
  WEFT_REQUIRE(gpus >= 1 && nics >= 1, weftInvalidArgument, "%d GPUs and %d NICs per node", gpus,
               nics);
  GpuNode n;
  n.model = m->name;
  n.gpus = gpus;
  n.nvlink = m->nvlinks > 0;
  n.gpu_port_gbps = n.nvlink ? m->nvlinks * NvLinkGbpsPerLink(m->sm) : m->pcie_gbps;
  n.hbm_gbps = m->hbm_gbps;
  n.nics = nics;
  n.nic_gbps = m->nic_gbps;
  for (int g = 0; g < gpus; ++g)
    n.rail_of_gpu.push_back(g % nics);
  n.notes.push_back(Format("%s: %d NVLinks x %s GB/s per GPU, HBM %s GB/s, NICs %s GB/s each way",
                           m->name, m->nvlinks, GbpsText(NvLinkGbpsPerLink(m->sm)).c_str(),
                           GbpsText(m->hbm_gbps).c_str(), GbpsText(m->nic_gbps).c_str()));
  *out = std::move(n);
  return Status::Ok();
}

Status GpuNodeFromFile(const std::string& path, const std::string& model, GpuNode* out) {
  SystemGraph g;
  WEFT_CHECK(LoadTopologyFile(path, &g));
  std::vector<int> gpus;
  for (int gpu : g.gpus)
    if (g.IsNvidiaGpu(gpu)) gpus.push_back(gpu);
  WEFT_REQUIRE(!gpus.empty(), weftInvalidArgument, "%s describes no NVIDIA GPU", path.c_str());
  std::string name = model;
  if (name.empty()) {
    const int sm = SmOf(g.nodes[static_cast<size_t>(gpus[0])]);
    for (const GpuModel& m : kModels)
      if (m.sm == sm && name.empty()) name = m.name;
    WEFT_REQUIRE(!name.empty(), weftInvalidArgument,
                 "%s does not say which GPU it holds (sm %d): name one (%s)", path.c_str(), sm,
                 GpuModelNames().c_str());
  }
  const int nics = std::max<int>(1, static_cast<int>(g.rails.size()));
  GpuNode n;
  WEFT_CHECK(GpuNodeFromModel(name, static_cast<int>(gpus.size()), nics, &n));
  n.notes.clear();
  n.notes.push_back(Format("%s: %zu GPUs, %zu rails", path.c_str(), gpus.size(), g.rails.size()));
  // NVLink from the file where it has them, else the model's.
  const double file_nvlink = NvLinkGbps(g, gpus[0]);
  if (file_nvlink > 0) {
    n.gpu_port_gbps = file_nvlink;
    n.nvlink = true;
    n.notes.push_back(
        Format("NVLink %s GB/s per GPU from the file", GbpsText(file_nvlink).c_str()));
  } else if (g.nvlinks_known) {
    const TopoNode& gpu = g.nodes[static_cast<size_t>(gpus[0])];
    n.nvlink = false;
    if (gpu.link_gbps > 0) n.gpu_port_gbps = gpu.link_gbps;
    n.notes.push_back(Format("no NVLink in the file: GPUs talk over PCIe, %s GB/s",
                             GbpsText(n.gpu_port_gbps).c_str()));
  } else {
    n.notes.push_back(Format("NVLink not in the file: %s's, %s GB/s per GPU", n.model.c_str(),
                             GbpsText(n.gpu_port_gbps).c_str()));
  }
  // The rails' rate from the file where it says, else the model's NIC.
  double nic_gbits = 0;
  for (int nic : g.rails)
    if (g.nodes[static_cast<size_t>(nic)].speed_gbps > 0)
      nic_gbits = std::max(nic_gbits, g.nodes[static_cast<size_t>(nic)].speed_gbps);
  if (nic_gbits > 0) {
    n.nic_gbps = nic_gbits / 8;
    n.notes.push_back(Format("NICs %s GB/s each way from the file", GbpsText(n.nic_gbps).c_str()));
  } else {
    n.notes.push_back(Format("NIC rate not in the file: %s's, %s GB/s", n.model.c_str(),
                             GbpsText(n.nic_gbps).c_str()));
  }
  n.notes.push_back(Format("HBM %s GB/s (%s)", GbpsText(n.hbm_gbps).c_str(), n.model.c_str()));
  // Each GPU's rail: the nearest NIC, as ranks bind.
  if (!g.rails.empty()) {
    const std::vector<int> nic_of = AssignNics(g);
    n.rail_of_gpu.clear();
    for (size_t i = 0; i < g.gpus.size(); ++i)
      if (g.IsNvidiaGpu(g.gpus[i])) n.rail_of_gpu.push_back(std::max(0, nic_of[i]));
  }
  *out = std::move(n);
  return Status::Ok();
}

SimNetwork GpuNetwork(const GpuNode& node, int nhosts, const GpuNetOptions& o) {
  SimNetwork net;
  net.nhosts = nhosts;
  net.ranks_per_host = node.gpus;
  net.intra = LinkCost{o.intra_us, node.gpu_port_gbps};
  net.inter = LinkCost{o.inter_us, node.nic_gbps * o.nic_efficiency};
  net.reduce_gbps = node.hbm_gbps / 3;
  net.copy_gbps = node.hbm_gbps / 2;
  net.step_us = o.step_us;
  net.channels_in_parallel = true;
  net.nics_per_host = node.nics;
  net.rail_of_local = node.rail_of_gpu;
  return net;
}

}  // namespace weft::sim
