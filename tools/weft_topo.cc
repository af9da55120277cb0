// weft-topo: how this machine (or a topology file) is wired and how Weft will use it.
//   weft-topo [--topo-file F] [--json] [--dot] [--ranks-per-host N --hosts H] [--channels C]
// Text: GPUs (PCI id, name, NUMA node, NVLink bandwidth, NIC), NICs (link layer, rate,
// state), a GPUxGPU and GPUxNIC matrix of path classes (like `nvidia-smi topo -m`), and
// the GPU ring with its bottleneck. --json: the same as data. --dot: a Graphviz picture.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/build_info.h"
#include "common/config.h"
#include "topology/hwloc_loader.h"
#include "topology/nccl_xml_loader.h"
#include "topology/paths.h"
#include "topology/rings.h"
#include "topology/trees.h"

using namespace weft;

namespace {

std::string Cell(const Path& p) {
  if (p.cls == PathClass::kNvl) return "NV" + std::to_string(p.nvlinks);
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

// The job a report describes: this host's shape, H hosts, N ranks per host.
struct Job {
  int hosts = 1;
  int ranks_per_host = 0;  // 0: one per GPU (or 1 without GPUs)
  int channels = 2;
  int RanksPerHost(const SystemGraph& g) const {
    return ranks_per_host > 0 ? ranks_per_host : std::max<int>(1, static_cast<int>(g.gpus.size()));
  }
};

nlohmann::json ToJson(const SystemGraph& g, const Job& job) {
  using nlohmann::json;
  const std::vector<int> nic_of = AssignNics(g);
  json gpus = json::array(), nics = json::array();
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    const TopoNode& n = g.nodes[g.gpus[i]];
    gpus.push_back(
        {{"index", i},
         {"pci", NullIfEmpty(n.pci)},
         {"name", NullIfEmpty(n.name)},
         {"numa", Numa(n.numa)},
         {"nvlink_gbps", NullIfUnknown(NvLinkGbps(g, g.gpus[i]))},
         {"nic", nic_of[i] >= 0 ? NullIfEmpty(g.nodes[g.nics[nic_of[i]]].name) : json()}});
  }
  for (int id : g.nics) {
    const TopoNode& n = g.nodes[id];
    nics.push_back({{"name", NullIfEmpty(n.name)},
                    {"pci", NullIfEmpty(n.pci)},
                    {"numa", Numa(n.numa)},
                    {"link_layer", n.link_layer},
                    {"speed_gbps", n.speed_gbps > 0 ? json(n.speed_gbps) : json()},
                    {"state", NullIfEmpty(n.state)}});
  }
  json gpu_paths = json::array(), gpu_nic_paths = json::array();
  for (const auto& row : GpuPaths(g)) {
    json r = json::array();
    for (const Path& p : row)
      r.push_back(PathClassName(p.cls));
    gpu_paths.push_back(r);
  }
  for (const auto& row : GpuNicPaths(g)) {
    json r = json::array();
    for (const Path& p : row)
      r.push_back(PathClassName(p.cls));
    gpu_nic_paths.push_back(r);
  }
  const GpuRing best = SearchGpuRing(g);
  json rings = json::array(), trees = json::array();
  for (const auto& r : JobRings(g, job.hosts, job.RanksPerHost(g), job.channels))
    rings.push_back(r);
  for (const Tree& t : HostTrees(job.hosts, job.RanksPerHost(g)))
    trees.push_back(t.parent);
  return {{"source", g.source},
          {"gpus", gpus},
          {"nics", nics},
          {"gpu_paths", gpu_paths},
          {"gpu_nic_paths", gpu_nic_paths},
          {"rings", rings},
          {"ring_bottleneck",
           {{"class", PathClassName(best.bottleneck.cls)},
            {"gbps", NullIfUnknown(best.bottleneck.gbps)}}},
          {"trees", trees}};
}

void PrintJob(const SystemGraph& g, const Job& job) {
  const int per_host = job.RanksPerHost(g);
  std::printf("\nA job of %d host%s x %d rank%s (rank = host * %d + local):\n", job.hosts,
              job.hosts == 1 ? "" : "s", per_host, per_host == 1 ? "" : "s", per_host);
  const auto rings = JobRings(g, job.hosts, per_host, job.channels);
  for (size_t c = 0; c < rings.size(); ++c) {
    std::printf("  ring %zu:", c);
    for (size_t i = 0; i < rings[c].size() && i < 64; ++i)
      std::printf(" %d", rings[c][i]);
    std::printf("%s\n", rings[c].size() > 64 ? " ..." : "");
  }
  const auto trees = HostTrees(job.hosts, per_host);
  for (size_t t = 0; t < trees.size(); ++t)
    std::printf("  tree %zu: %s\n", t, DescribeTree(trees[t]).c_str());
}

void PrintText(const SystemGraph& g, const Job& job) {
  const std::vector<int> nic_of = AssignNics(g);
  std::printf("Topology from %s: %zu GPUs, %zu NICs\n\n", g.source.c_str(), g.gpus.size(),
              g.nics.size());
  if (!g.gpus.empty()) std::printf("GPUs\n");
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    const TopoNode& n = g.nodes[g.gpus[i]];
    const double nvl = NvLinkGbps(g, g.gpus[i]);
    std::printf("  GPU%-2zu %s  %-28s NUMA %-2d NVLink %s  NIC %s\n", i, n.pci.c_str(),
                n.name.empty() ? "(model unknown)" : n.name.c_str(), n.numa,
                nvl > 0 ? Format("%.0f GB/s", nvl).c_str() : "none",
                nic_of[i] < 0 ? "-"
                : g.nodes[g.nics[nic_of[i]]].name.empty()
                    ? g.nodes[g.nics[nic_of[i]]].pci.c_str()
                    : g.nodes[g.nics[nic_of[i]]].name.c_str());
  }
  if (!g.nics.empty()) std::printf("\nNICs\n");
  for (int id : g.nics) {
    const TopoNode& n = g.nodes[id];
    std::printf("  %-10s %s  NUMA %-2d %-9s %s %s\n", n.name.empty() ? "(unnamed)" : n.name.c_str(),
                n.pci.empty() ? "(no PCI)     " : n.pci.c_str(), n.numa, n.link_layer.c_str(),
                n.speed_gbps > 0 ? Format("%.0f Gb/s", n.speed_gbps).c_str() : "rate ?",
                n.state.empty() ? "" : n.state.c_str());
  }
  if (g.gpus.empty()) {
    std::printf("No GPU: Weft runs on host memory; rings order ranks by host and NUMA node.\n");
    PrintJob(g, job);
    return;
  }
  const auto gp = GpuPaths(g), np = GpuNicPaths(g);
  std::printf(
      "\nPaths (NV#: NVLinks, PIX: one PCIe switch, PXB: several, PHB: host bridge, "
      "SYS: across CPUs)\n%8s",
      "");
  for (size_t j = 0; j < g.gpus.size(); ++j)
    std::printf(" %5s", Format("GPU%zu", j).c_str());
  for (int id : g.nics) {
    const TopoNode& nic = g.nodes[id];
    std::printf(" %7s", (nic.name.empty() ? nic.pci.substr(0, 7) : nic.name.substr(0, 7)).c_str());
  }
  std::printf("\n");
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    std::printf("%8s", Format("GPU%zu", i).c_str());
    for (size_t j = 0; j < g.gpus.size(); ++j)
      std::printf(" %5s", i == j ? "X" : Cell(gp[i][j]).c_str());
    for (size_t j = 0; j < g.nics.size(); ++j)
      std::printf(" %7s", Cell(np[i][j]).c_str());
    std::printf("\n");
  }
  std::printf("\nRings over this host's GPUs (channels):\n");
  for (const GpuRing& r : SearchGpuRings(g, job.channels)) {
    std::printf("  ");
    for (int i : r.order)
      std::printf(" GPU%d", i);
    std::printf("  (bottleneck %s%s)\n", PathClassName(r.bottleneck.cls),
                r.bottleneck.gbps > 0 ? Format(", %.1f GB/s", r.bottleneck.gbps).c_str() : "");
  }
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
    const char* color = n.kind == NodeKind::kGpu        ? "palegreen"
                        : n.kind == NodeKind::kNic      ? "lightblue"
                        : n.kind == NodeKind::kNvSwitch ? "khaki"
                                                        : "white";
    std::printf("  n%zu [label=\"%s\", style=filled, fillcolor=%s];\n", i, label.c_str(), color);
    if (n.parent >= 0)
      std::printf("  n%d -- n%zu%s;\n", n.parent, i,
                  n.link_gbps > 0 ? Format(" [label=\"%.0f GB/s\"]", n.link_gbps).c_str() : "");
  }
  for (const NvLink& l : g.nvlinks)
    std::printf("  n%d -- n%d [color=green, penwidth=2, label=\"NV%d\"];\n", l.a, l.b, l.count);
  std::printf("}\n");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-topo: how the machine is wired and how Weft will use it"};
  app.set_version_flag("--version", weft::ToolVersion("weft-topo"));
  std::string file;
  bool json = false, dot = false;
  Job job;
  app.add_option("--topo-file", file,
                 "hwloc XML or NCCL topology XML (default: WEFT_TOPO_FILE, "
                 "else this host)");
  app.add_flag("--json", json, "print JSON");
  app.add_flag("--dot", dot, "print a Graphviz graph");
  app.add_option("--hosts", job.hosts, "hosts of the job to show rings and trees for")
      ->check(CLI::Range(1, 4096));
  app.add_option("--ranks-per-host", job.ranks_per_host, "ranks per host (default: one per GPU)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--channels", job.channels, "rings to show (default 2)")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  if (file.empty()) {
    Config config;
    Status s = Config::FromProcess(&config);
    if (!s.ok()) {
      std::fprintf(stderr, "weft-topo: %s\n", s.message().c_str());
      return 2;
    }
    file = config.topo_file;
  }
  SystemGraph g;
  Status s = file.empty() ? LoadHwlocTopology("", &g) : LoadTopologyFile(file, &g);
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
