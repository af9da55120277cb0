// weft-topo: how this machine (or a topology file) is wired and how Weft will use it.
//   weft-topo [--topo-file F [--file-only]] [--json | --dot] [--hosts H] [--ranks-per-host N]
// Text: GPUs (PCI id, name, NUMA node, NVLink bandwidth, NIC), NICs (link layer, rate,
// state; management ports apart), a GPUxGPU and GPUxNIC matrix of path classes (like
// `nvidia-smi topo -m`), the host's GPU ring, and the ring, trees and rails of a job of H
// hosts like this one, computed by the code the communicator runs at init (job_layout.h).
// --json: the same as data. --dot: a Graphviz picture.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "collectives/job_layout.h"
#include "common/build_info.h"
#include "common/config.h"
#include "topology/link_facts.h"
#include "topology/merge.h"
#include "topology/paths.h"
#include "topology/rings.h"
#include "topology/trees.h"

using namespace weft;

namespace {

std::string Cell(const Path& p) {
  if (p.cls == PathClass::kNvl) return (p.xgmi ? "XG" : "NV") + std::to_string(p.nvlinks);
  return PathClassName(p.cls);
}

nlohmann::json NullIfUnknown(double v) {
  return v > 0 ? nlohmann::json(v) : nlohmann::json();
}
nlohmann::json NullIfEmpty(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}
nlohmann::json Numa(int n) {
  return n >= 0 ? nlohmann::json(n) : nlohmann::json();
}

// The job a report describes: H hosts like this one, N ranks per host.
struct Job {
  int hosts = 1;
  int ranks_per_host = 0;  // 0: one per NVIDIA GPU (or 1 without GPUs)
  int RanksPerHost(const SystemGraph& g) const {
    int nvidia = 0;
    for (int gpu : g.gpus)
      nvidia += g.IsNvidiaGpu(gpu);
    return ranks_per_host > 0 ? ranks_per_host : std::max(1, nvidia);
  }
};

struct Laid {
  JobTopology job;
  JobLayout layout;
};

Laid LayOut(const SystemGraph& g, const Job& job) {
  Laid out;
  std::vector<RankPlace> ranks;
  ImagineJob(g, job.hosts, job.RanksPerHost(g), &out.job, &ranks);
  out.layout = LayOutJob(out.job, ranks);
  return out;
}

// "mlx5_0" or the NIC's id where it has no name.
std::string NicLabel(const SystemGraph& g, int nic) {
  return g.nodes[nic].name.empty() ? g.NicId(nic) : g.nodes[nic].name;
}

std::string NvLinkText(const SystemGraph& g, int gpu) {
  const double gbps = NvLinkGbps(g, gpu);
  if (gbps > 0) return GbpsText(gbps) + " GB/s";
  return g.nvlinks_known ? "none" : "not in file";
}

nlohmann::json ToJson(const SystemGraph& g, const Job& job) {
  using nlohmann::json;
  const std::vector<int> nic_of = AssignNics(g);
  json gpus = json::array(), nics = json::array();
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    const int id = g.gpus[i];
    const TopoNode& n = g.nodes[id];
    const double nvl = NvLinkGbps(g, id);
    gpus.push_back(
        {{"index", i},
         {"pci", NullIfEmpty(n.pci)},
         {"name", NullIfEmpty(n.name)},
         {"vendor", g.IsNvidiaGpu(id) ? "nvidia" : "amd"},
         {"numa", Numa(n.numa)},
         // null: the source does not say; 0: it says there are none
         {"nvlink_gbps", nvl > 0           ? json(nvl)
                         : g.nvlinks_known ? json(0)
                                           : json()},
         {"nic", nic_of[i] >= 0 ? json(g.NicId(g.rails[nic_of[i]])) : json()},
         {"nic_name", nic_of[i] >= 0 ? NullIfEmpty(g.nodes[g.rails[nic_of[i]]].name) : json()}});
  }
  for (int id : g.nics) {
    const TopoNode& n = g.nodes[id];
    nics.push_back({{"id", g.NicId(id)},
                    {"name", NullIfEmpty(n.name)},
                    {"pci", NullIfEmpty(g.NicPci(id))},
                    {"numa", Numa(n.numa)},
                    {"link_layer", n.link_layer},
                    {"speed_gbps", n.speed_gbps > 0 ? json(n.speed_gbps) : json()},
                    {"state", NullIfEmpty(n.state)},
                    {"rail", !n.management}});
  }
  json gpu_paths = json::array(), gpu_nic_paths = json::array();
  for (const auto& row : GpuPaths(g)) {
    json r = json::array();
    for (const Path& p : row)
      r.push_back(PathClassName(p.cls));
    gpu_paths.push_back(r);
  }
  for (int gpu : g.gpus) {
    json r = json::array();
    for (int nic : g.rails)
      r.push_back(PathClassName(ComputePath(g, gpu, nic).cls));
    gpu_nic_paths.push_back(r);
  }
  const GpuRing best = SearchGpuRing(g);
  const Laid laid = LayOut(g, job);
  const PlanShapes& shapes = laid.layout.shapes;
  json trees = json::array(), hops = json::array(), hier = json::array();
  for (const Tree& t : shapes.trees)
    trees.push_back(t.parent);
  for (const RailHop& h : laid.layout.ring_hops)
    hops.push_back({{"from", h.from},
                    {"to", h.to},
                    {"rail", h.rail >= 0 ? json(h.rail) : json()},
                    {"from_nic", NullIfEmpty(h.from_nic)},
                    {"to_nic", NullIfEmpty(h.to_nic)}});
  if (shapes.hosts.size() > 1 && shapes.uniform_hosts()) {
    for (size_t local = 0; local < shapes.hosts[0].size(); ++local) {
      json ring = json::array();
      for (const std::vector<int>& members : shapes.hosts)
        ring.push_back(members[local]);
      const int rail = laid.layout.rail_of[shapes.hosts[0][local]];
      hier.push_back({{"ranks", ring}, {"rail", rail >= 0 ? json(rail) : json()}});
    }
  }
  return {{"source", g.source},
          {"notes", g.notes},
          {"gpus", gpus},
          {"nics", nics},
          {"gpu_paths", gpu_paths},
          {"gpu_nic_paths", gpu_nic_paths},
          {"gpu_ring", best.order},
          {"ring_bottleneck",
           {{"class", PathClassName(best.bottleneck.cls)},
            {"gbps", NullIfUnknown(best.bottleneck.gbps)}}},
          {"job", {{"hosts", job.hosts}, {"ranks_per_host", job.RanksPerHost(g)}}},
          {"ring", shapes.ring},
          {"ring_hops", hops},
          {"trees", trees},
          {"hier_rings", hier}};
}

void PrintJob(const SystemGraph& g, const Job& job) {
  const int per_host = job.RanksPerHost(g);
  std::printf(
      "\nA job of %d host%s x %d rank%s (rank = host * %d + local), as the communicator "
      "lays it out:\n",
      job.hosts, job.hosts == 1 ? "" : "s", per_host, per_host == 1 ? "" : "s", per_host);
  const Laid laid = LayOut(g, job);
  std::string text = DescribeLayout(laid.job, laid.layout);
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::printf("  %s\n", text.substr(at, end - at).c_str());
    at = end + 1;
  }
}

void PrintText(const SystemGraph& g, const Job& job) {
  const std::vector<int> nic_of = AssignNics(g);
  size_t other_vendor = 0;
  for (int gpu : g.gpus)
    other_vendor += !g.IsNvidiaGpu(gpu);
  const size_t management = g.nics.size() - g.rails.size();
  std::printf("Topology from %s: %zu GPUs, %zu NICs%s\n", g.source.c_str(), g.gpus.size(),
              g.rails.size(), management ? Format(" (+%zu management)", management).c_str() : "");
  for (const std::string& note : g.notes)
    std::printf("  %s\n", note.c_str());
  if (other_vendor > 0)
    std::printf("  %zu AMD GPUs: read for their links; Weft drives NVIDIA GPUs only\n",
                other_vendor);
  if (!g.gpus.empty()) std::printf("\nGPUs\n");
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    const TopoNode& n = g.nodes[g.gpus[i]];
    const bool xgmi = [&] {
      for (const NvLink& l : g.nvlinks)
        if (l.xgmi && (l.a == g.gpus[i] || l.b == g.gpus[i])) return true;
      return false;
    }();
    std::printf("  GPU%-2zu %s  %-28s NUMA %-2d %s %s  NIC %s\n", i, n.pci.c_str(),
                n.name.empty() ? "(model unknown)" : n.name.c_str(), n.numa,
                xgmi ? "xGMI" : "NVLink", NvLinkText(g, g.gpus[i]).c_str(),
                nic_of[i] < 0 ? "-" : NicLabel(g, g.rails[nic_of[i]]).c_str());
  }
  auto print_nic = [&](int id) {
    const TopoNode& n = g.nodes[id];
    const std::string pci = g.NicPci(id);
    std::printf(
        "  %-10s %-14s NUMA %-2d %-9s %-9s %s\n", n.name.empty() ? "(unnamed)" : n.name.c_str(),
        pci.empty() ? "(no PCI)" : g.NicId(id).c_str(), n.numa, n.link_layer.c_str(),
        n.speed_gbps > 0 ? (GbpsText(n.speed_gbps) + " Gb/s").c_str() : "rate ?", n.state.c_str());
  };
  if (!g.rails.empty()) std::printf("\nNICs (rails)\n");
  for (int id : g.rails)
    print_nic(id);
  if (management > 0) {
    std::printf("\nManagement NICs (not used for collectives: %s)\n",
                g.rails.empty() ? "far slower than the fastest port"
                                : "plain Ethernet beside fabric NICs, or far slower");
    for (int id : g.nics)
      if (g.nodes[id].management) print_nic(id);
  }
  if (g.gpus.empty()) {
    std::printf("\nNo GPU: Weft runs on host memory; rings order ranks by host and NUMA node.\n");
    PrintJob(g, job);
    return;
  }
  const auto gp = GpuPaths(g);
  std::printf(
      "\nPaths (NV#/XG#: NVLinks/xGMI links, PIX: one PCIe switch, PXB: several, PHB: host "
      "bridge, SYS: across CPUs)\n%8s",
      "");
  for (size_t j = 0; j < g.gpus.size(); ++j)
    std::printf(" %5s", Format("GPU%zu", j).c_str());
  for (int id : g.rails)
    std::printf(" %7s", NicLabel(g, id).substr(0, 7).c_str());
  std::printf("\n");
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    std::printf("%8s", Format("GPU%zu", i).c_str());
    for (size_t j = 0; j < g.gpus.size(); ++j)
      std::printf(" %5s", i == j ? "X" : Cell(gp[i][j]).c_str());
    for (int id : g.rails)
      std::printf(" %7s", Cell(ComputePath(g, g.gpus[i], id)).c_str());
    std::printf("\n");
  }
  const GpuRing r = SearchGpuRing(g);
  std::printf("\nBest ring over this host's GPUs:");
  for (int i : r.order)
    std::printf(" GPU%d", i);
  std::printf("  (bottleneck %s%s)\n", PathClassName(r.bottleneck.cls),
              r.bottleneck.gbps > 0 ? (", " + GbpsText(r.bottleneck.gbps) + " GB/s").c_str() : "");
  PrintJob(g, job);
}

void PrintDot(const SystemGraph& g) {
  std::printf("graph weft {\n  node [shape=box, fontname=\"Helvetica\"];\n");
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const TopoNode& n = g.nodes[i];
    std::string label = n.kind == NodeKind::kNuma      ? "NUMA " + std::to_string(n.numa)
                        : n.kind == NodeKind::kMachine ? "machine"
                                                       : std::string(NodeKindName(n.kind));
    if (!n.name.empty()) label += "\\n" + n.name;
    if (!n.pci.empty()) label += "\\n" + n.pci;
    if (n.management) label += "\\n(management)";
    const char* color = n.kind == NodeKind::kGpu        ? "palegreen"
                        : n.kind == NodeKind::kNic      ? (n.management ? "gray90" : "lightblue")
                        : n.kind == NodeKind::kNvSwitch ? "khaki"
                                                        : "white";
    std::printf("  n%zu [label=\"%s\", style=filled, fillcolor=%s];\n", i, label.c_str(), color);
    if (n.parent >= 0)
      std::printf("  n%d -- n%zu%s;\n", n.parent, i,
                  n.link_gbps > 0
                      ? Format(" [label=\"%s GB/s\"]", GbpsText(n.link_gbps).c_str()).c_str()
                      : "");
  }
  for (const NvLink& l : g.nvlinks)
    std::printf("  n%d -- n%d [color=%s, penwidth=2, label=\"%s%d, %s GB/s\"];\n", l.a, l.b,
                l.xgmi ? "red" : "green", l.xgmi ? "XG" : "NV", l.count, GbpsText(l.gbps).c_str());
  std::printf("}\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-topo: how the machine is wired and how Weft will use it"};
  app.set_version_flag("--version", weft::ToolVersion("weft-topo"));
  std::string file;
  bool json = false, dot = false, file_only = false;
  Job job;
  app.add_option("--topo-file", file,
                 "hwloc XML or NCCL topology XML (default: WEFT_TOPO_FILE, else this host); what "
                 "it lacks is taken from this host unless --file-only");
  app.add_flag("--file-only", file_only,
               "read --topo-file alone, nothing from this host (WEFT_TOPO_MERGE=0)");
  auto* json_flag = app.add_flag("--json", json, "print JSON");
  app.add_flag("--dot", dot, "print a Graphviz graph")->excludes(json_flag);
  app.add_option("--hosts", job.hosts, "hosts of the job to show the ring, trees and rails for")
      ->check(CLI::Range(1, 4096));
  app.add_option("--ranks-per-host", job.ranks_per_host,
                 "ranks per host (default: one per NVIDIA GPU)")
      ->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);
  Config config;
  Status s = Config::FromProcess(&config);
  if (!s.ok()) {
    std::fprintf(stderr, "weft-topo: %s\n", s.message().c_str());
    return 2;
  }
  if (file.empty()) file = config.topo_file;
  SystemGraph g;
  s = LoadHostTopology(file, config.topo_merge && !file_only, &g);
  if (!s.ok()) {
    std::fprintf(stderr, "weft-topo: %s\n", s.message().c_str());
    return 1;
  }
  if (json)
    std::printf("%s\n", ToJson(g, job).dump(2).c_str());
  else if (dot)
    PrintDot(g);
  else
    PrintText(g, job);
  return 0;
}
