#include "topology/merge.h"

#include <string>

#include "common/status.h"
#include "topology/hwloc_loader.h"
#include "topology/nccl_xml_loader.h"

namespace weft {
namespace {

// The file's node standing for `live_node` of the live graph, or -1.
int Counterpart(const SystemGraph& live, int live_node, SystemGraph* file) {
  const TopoNode& n = live.nodes[live_node];
  switch (n.kind) {
    case NodeKind::kGpu:
      return file->FindPci(n.pci);
    case NodeKind::kNvSwitch: {
      const int found = n.pci.empty() ? -1 : file->FindPci(n.pci);
      return found >= 0 ? found : file->NvSwitchFabric();
    }
    case NodeKind::kNuma:
      for (size_t i = 0; i < file->nodes.size(); ++i)
        if (file->nodes[i].kind == NodeKind::kNuma && file->nodes[i].numa == n.numa)
          return static_cast<int>(i);
      return -1;
    case NodeKind::kNic:
      for (int nic : file->nics) {
        const std::string pci = file->NicPci(nic);
        if ((!pci.empty() && pci == live.NicPci(live_node) &&
             file->nodes[nic].pci.empty() == n.pci.empty()) ||
            (pci.empty() && !n.name.empty() && file->nodes[nic].name == n.name))
          return nic;
      }
      return -1;
    default:
      return -1;
  }
}

bool HasLinks(const SystemGraph& g, int node) {
  for (const NvLink& l : g.nvlinks)
    if (l.a == node || l.b == node) return true;
  return false;
}

}  // namespace

void MergeLiveFacts(const SystemGraph& live, SystemGraph* file) {
  int names = 0, links = 0, nics = 0;
  for (int gpu : live.gpus) {
    const int f = Counterpart(live, gpu, file);
    if (f < 0) continue;
    TopoNode& mine = file->nodes[f];
    if ((mine.name.empty() || mine.name.rfind("NVIDIA 10de:", 0) == 0) &&
        !live.nodes[gpu].name.empty()) {
      mine.name = live.nodes[gpu].name;
      ++names;
    }
  }
  // NVLinks of GPUs the file lists without any (a cloud file of bare PCI nodes).
  std::vector<bool> had_links(file->nodes.size());
  for (size_t i = 0; i < file->nodes.size(); ++i)
    had_links[i] = HasLinks(*file, static_cast<int>(i));
  for (const NvLink& l : live.nvlinks) {
    // The GPU end first: a switch's counterpart may be made (the fabric node) only for a link
    // that will be kept.
    const bool swap = live.nodes[l.a].kind != NodeKind::kGpu;
    const int a = Counterpart(live, swap ? l.b : l.a, file);
    if (a < 0 || file->nodes[a].kind != NodeKind::kGpu || had_links[a]) continue;
    const int b = Counterpart(live, swap ? l.a : l.b, file);
    if (b < 0 || (b < static_cast<int>(had_links.size()) && file->nodes[b].kind == NodeKind::kGpu &&
                  had_links[b]))
      continue;
    NvLink copy = l;
    copy.a = a;
    copy.b = b;
    file->nvlinks.push_back(copy);
    ++links;
  }
  for (int nic : live.nics) {
    const int f = Counterpart(live, nic, file);
    if (f < 0) continue;
    const TopoNode& theirs = live.nodes[nic];
    TopoNode& mine = file->nodes[f];
    bool added = false;
    auto fill = [&](std::string* field, const std::string& value, const std::string& unknown) {
      if (*field == unknown && value != unknown) {
        *field = value;
        added = true;
      }
    };
    fill(&mine.name, theirs.name, "");
    fill(&mine.state, theirs.state, "");
    fill(&mine.link_layer, theirs.link_layer, "unknown");
    if (mine.speed_gbps <= 0 && theirs.speed_gbps > 0) {
      mine.speed_gbps = theirs.speed_gbps;
      added = true;
    }
    if (mine.netdevs.empty() && !theirs.netdevs.empty()) {
      mine.netdevs = theirs.netdevs;
      added = true;
    }
    nics += added;
  }
  if (links > 0) {
    file->nvlinks_known = true;
    file->notes.push_back(
        Format("NVLink: %d connection%s from this host (NVML)", links, links == 1 ? "" : "s"));
  }
  if (names > 0) file->notes.push_back(Format("GPU names: %d from this host", names));
  if (nics > 0)
    file->notes.push_back(
        Format("NICs: name, state, rate or link layer of %d from this host (sysfs)", nics));
  if (links + names + nics == 0)
    file->notes.push_back(
        "nothing added from this host: none of the file's devices is here, "
        "or the file knew all this host knows");
  else
    file->source += " + this host";
  file->Finish();
}

Status LoadHostTopology(const std::string& file, bool merge, SystemGraph* out) {
  if (file.empty()) return LoadHwlocTopology("", out).WithContext("topology discovery");
  SystemGraph g;
  WEFT_CHECK(LoadTopologyFile(file, &g).WithContext("WEFT_TOPO_FILE"));
  if (!merge) {
    g.notes.push_back("the file alone (WEFT_TOPO_MERGE=0): nothing detected on this host");
  } else {
    SystemGraph live;
    const Status s = LoadHwlocTopology("", &live);
    if (s.ok())
      MergeLiveFacts(live, &g);
    else
      g.notes.push_back("the file alone: this host's detection failed (" + s.message() + ")");
  }
  *out = std::move(g);
  return Status::Ok();
}

}  // namespace weft
