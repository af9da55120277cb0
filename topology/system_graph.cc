#include "topology/system_graph.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "topology/link_facts.h"

namespace weft {

const char* NodeKindName(NodeKind k) {
  switch (k) {
    case NodeKind::kMachine:
      return "machine";
    case NodeKind::kNuma:
      return "numa";
    case NodeKind::kHostBridge:
      return "hostbridge";
    case NodeKind::kBridge:
      return "bridge";
    case NodeKind::kGpu:
      return "gpu";
    case NodeKind::kNic:
      return "nic";
    case NodeKind::kNvSwitch:
      return "nvswitch";
    case NodeKind::kOtherPci:
      return "pci";
  }
  return "?";
}

int SystemGraph::Add(TopoNode node) {
  const int id = static_cast<int>(nodes.size());
  const int parent = node.parent;
  nodes.push_back(std::move(node));
  if (parent >= 0) nodes[parent].children.push_back(id);
  return id;
}

int SystemGraph::FindPci(const std::string& pci) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!pci.empty() && nodes[i].pci == pci) return static_cast<int>(i);
  return -1;
}

int SystemGraph::NvSwitchFabric() {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].kind == NodeKind::kNvSwitch && nodes[i].pci.empty()) return static_cast<int>(i);
  TopoNode s;
  s.kind = NodeKind::kNvSwitch;
  s.parent = 0;
  s.name = "NVSwitch";
  return Add(s);
}

int SystemGraph::NumaOf(int node) const {
  for (int n = node; n >= 0; n = nodes[n].parent)
    if (nodes[n].kind == NodeKind::kNuma) return nodes[n].numa;
  return -1;
}

void SystemGraph::Finish() {
  gpus.clear();
  nics.clear();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const int id = static_cast<int>(i);
    if (nodes[i].kind != NodeKind::kNuma) nodes[i].numa = NumaOf(id);
    if (nodes[i].kind == NodeKind::kGpu) gpus.push_back(id);
    if (nodes[i].kind == NodeKind::kNic) nics.push_back(id);
  }
  auto by_pci_then_name = [&](int a, int b) {
    if (nodes[a].pci != nodes[b].pci) return nodes[a].pci < nodes[b].pci;
    return nodes[a].name < nodes[b].name;
  };
  std::stable_sort(gpus.begin(), gpus.end(), by_pci_then_name);
  // NICs by device; a device's further ports (no PCI address of their own) after its first.
  std::stable_sort(nics.begin(), nics.end(), [&](int a, int b) {
    const std::string pa = NicPci(a), pb = NicPci(b);
    if (pa != pb) return pa < pb;
    if (nodes[a].pci.empty() != nodes[b].pci.empty()) return !nodes[a].pci.empty();
    return nodes[a].name < nodes[b].name;
  });
  ClassifyNics();
}

// A NIC's capacity for comparing ports of one host: its rate, else its PCI link (as Gb/s),
// else unknown (0).
static double CapacityGbits(const SystemGraph& g, int nic) {
  const TopoNode& n = g.nodes[nic];
  if (n.speed_gbps > 0) return n.speed_gbps;
  if (n.link_gbps > 0) return n.link_gbps * 8;
  if (n.pci.empty() && n.parent >= 0 && g.nodes[n.parent].kind == NodeKind::kNic)
    return CapacityGbits(g, n.parent);
  return 0;
}

void SystemGraph::ClassifyNics() {
  rails.clear();
  bool fabric = false;
  double fastest = 0;
  for (int nic : nics) {
    fabric = fabric || IsFabricLinkLayer(nodes[nic].link_layer);
    fastest = std::max(fastest, CapacityGbits(*this, nic));
  }
  for (int nic : nics) {
    const double capacity = CapacityGbits(*this, nic);
    bool rail = fabric ? IsFabricLinkLayer(nodes[nic].link_layer)
                       : capacity <= 0 || capacity * 4 >= fastest;
    nodes[nic].management = !rail;
    if (rail) rails.push_back(nic);
  }
}

std::string SystemGraph::NicPci(int nic) const {
  const TopoNode& n = nodes[nic];
  if (!n.pci.empty()) return n.pci;
  if (n.parent >= 0 && nodes[n.parent].kind == NodeKind::kNic) return nodes[n.parent].pci;
  return "";
}

int SystemGraph::NicPort(int nic) const {
  for (const auto& [key, value] : nodes[nic].device_attrs)
    if (key == "port") return std::atoi(value.c_str());
  return 1;
}

std::string SystemGraph::NicId(int nic) const {
  const TopoNode& n = nodes[nic];
  const std::string pci = NicPci(nic);
  if (pci.empty()) return n.name;
  if (!n.pci.empty()) return pci;
  // A further port of a device: its port number, else its position below the device.
  for (const auto& [key, value] : n.device_attrs)
    if (key == "port") return pci + "/" + value;
  const std::vector<int>& siblings = nodes[n.parent].children;
  return pci + "/" +
         std::to_string(std::find(siblings.begin(), siblings.end(), nic) - siblings.begin() + 2);
}

bool SystemGraph::IsNvidiaGpu(int node) const {
  return nodes[node].kind == NodeKind::kGpu &&
         (nodes[node].vendor == 0x10de || nodes[node].vendor == 0);
}

std::string PciId(uint32_t domain, uint32_t bus, uint32_t dev, uint32_t func) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", domain, bus, dev, func);
  return buf;
}

std::string NormalizePciId(const std::string& text) {
  unsigned domain = 0, bus = 0, dev = 0, func = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%x:%x:%x.%x%c", &domain, &bus, &dev, &func, &tail) == 4)
    return PciId(domain, bus, dev, func);
  if (std::sscanf(text.c_str(), "%x:%x.%x%c", &bus, &dev, &func, &tail) == 3)
    return PciId(0, bus, dev, func);
  return "";
}

}  // namespace weft
