// SystemGraph: one host's hardware as Weft sees it, whatever the source (live hwloc, an
// hwloc XML file, an NCCL topology XML file). A tree (machine > NUMA nodes > PCI host
// bridges > bridges > devices) plus NVLink edges. Pure data: paths, classes and rings are
// computed from it by functions (topology/paths.h), testable without hardware.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft {

enum class NodeKind { kMachine, kNuma, kHostBridge, kBridge, kGpu, kNic, kNvSwitch, kOtherPci };
const char* NodeKindName(NodeKind k);

struct TopoNode {
  NodeKind kind = NodeKind::kOtherPci;
  int parent = -1;
  std::vector<int> children;
  std::string pci;         // "dddd:bb:dd.f", lowercase, for PCI objects
  int numa = -1;           // NUMA node (os index) the object is attached to
  double link_gbps = 0;    // bandwidth of the link to the parent, GB/s (0: unknown)
  uint32_t pci_class = 0;  // e.g. 0x030200
  uint16_t vendor = 0, device = 0;
  std::string name;  // GPU model, NIC device name (mlx5_0), ...
  // NICs
  std::string link_layer = "unknown";  // ib, roce, efa, slingshot, ethernet, unknown
  double speed_gbps = -1;              // -1: unknown
  std::string state;                   // "active", "down", "" (unknown)
  std::vector<std::string> netdevs;    // IP interfaces on the NIC (hsi0, eth0)
  // Not a rail: a plain Ethernet port beside fabric NICs, or one far slower than the host's
  // best (a 1 GbE management port). Set by SystemGraph::Finish.
  bool management = false;
  // NCCL topology XML attributes the graph has no field for, kept so that a dump carries
  // what NCCL's own dump has: of <pci> (subsystem ids, link_speed/link_width as written) in
  // pci_attrs; of <cpu> (affinity, arch, vendor, familyid, modelid) on NUMA nodes, of <gpu>
  // (sm, rank, gdr) or <net> (dev, port, guid, maxconn, gdr, latency) in device_attrs.
  // Read from NCCL files; from hwloc where it knows them (CPU identity, affinity, GUIDs).
  std::vector<std::pair<std::string, std::string>> pci_attrs, device_attrs;
};

// `count` NVLinks between two nodes (GPUs, NVSwitches, or a NUMA node for CPU links).
struct NvLink {
  int a = -1, b = -1;
  int count = 0;
  double gbps = 0;    // total over the links
  bool xgmi = false;  // AMD's xGMI (RCCL files, hwloc's XGMIBandwidth), not NVLink
};

struct SystemGraph {
  std::vector<TopoNode> nodes;  // nodes[0] is the machine
  std::vector<NvLink> nvlinks;
  std::vector<int> gpus;  // node indices, in PCI order
  std::vector<int> nics;
  // The NICs collectives use (rails), in PCI order: the fabric NICs (ib, roce, efa,
  // slingshot) if the host has any, else the Ethernet ports within a quarter of the fastest.
  // The others are marked `management`.
  std::vector<int> rails;
  std::string source;  // "hwloc", "hwloc XML FILE", "NCCL XML FILE"
  // False when the source cannot say which NVLinks exist (hwloc XML without an
  // NVLinkBandwidth matrix, an NCCL file of bare <pci> nodes): "not in file", not "none".
  bool nvlinks_known = true;
  // Where facts came from beyond `source` (live facts merged into a file), one line each.
  std::vector<std::string> notes;

  int Add(TopoNode node);                     // links it under node.parent
  int FindPci(const std::string& pci) const;  // -1 if absent
  // The node standing for NVSwitches not otherwise in the graph (created on first use).
  int NvSwitchFabric();
  // The NUMA node ancestor's os index, or -1.
  int NumaOf(int node) const;
  // Fills gpus/nics/rails (PCI order), marks management NICs, and sets every node's numa
  // from its ancestors.
  void Finish();

  // A NIC's PCI address: its own, or for a second port of a device, the device's ("" if none).
  std::string NicPci(int nic) const;
  // The port a NIC node serves: its <net port=...> (hwloc files get 1), else 1, NCCL's
  // default.
  int NicPort(int nic) const;
  // How JSON and logs name a NIC: its PCI address ("/2" added for a second port), else its
  // name. Unique within a host.
  std::string NicId(int nic) const;
  // NVIDIA's (or of unknown vendor, as in files that omit it): the GPUs Weft can drive.
  bool IsNvidiaGpu(int node) const;

 private:
  void ClassifyNics();
};

// "dddd:bb:dd.f" from parts; parses any of "d:b:d.f" spellings (NCCL's "ffff:ff:01.0"),
// returning "" if it is not a PCI address.
std::string PciId(uint32_t domain, uint32_t bus, uint32_t dev, uint32_t func);
std::string NormalizePciId(const std::string& text);

}  // namespace weft
