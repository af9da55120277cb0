#include "topology/hwloc_loader.h"

#include <hwloc.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include "common/log.h"
#include "topology/link_facts.h"
#include "topology/nvml.h"

namespace weft {
namespace {

// Owns an hwloc topology.
class HwlocTopology {
 public:
  HwlocTopology() { hwloc_topology_init(&topo_); }
  ~HwlocTopology() { hwloc_topology_destroy(topo_); }
  HwlocTopology(const HwlocTopology&) = delete;
  HwlocTopology& operator=(const HwlocTopology&) = delete;
  hwloc_topology_t get() const { return topo_; }

 private:
  hwloc_topology_t topo_;
};

const char* Info(hwloc_obj_t obj, const char* name) {
  const char* v = hwloc_obj_get_info_by_name(obj, name);
  return v ? v : "";
}

// NVIDIA's display controllers, and AMD's (display or processing accelerator; an MI250X
// is 0x0380) read so that their files make sense, though Weft drives NVIDIA's only.
bool IsGpu(hwloc_obj_t o) {
  if (o->type != HWLOC_OBJ_PCI_DEVICE) return false;
  const unsigned base = o->attr->pcidev.class_id >> 8;
  if (o->attr->pcidev.vendor_id == 0x10de) return base == 0x03;
  return o->attr->pcidev.vendor_id == 0x1002 && (base == 0x03 || base == 0x12);
}

bool IsNvSwitch(hwloc_obj_t o) {
  if (o->type != HWLOC_OBJ_PCI_DEVICE) return false;
  // One DGX-2 switch has an all-zero vendor/device id in its file: trust the subtype too.
  return (o->subtype != nullptr && std::strcmp(o->subtype, "NVSwitch") == 0) ||
         (o->attr->pcidev.vendor_id == 0x10de && o->attr->pcidev.class_id == 0x0680);
}

bool HasOsDevice(hwloc_obj_t o, hwloc_obj_osdev_type_t type) {
  for (hwloc_obj_t c = o->io_first_child; c != nullptr; c = c->next_sibling)
    if (c->type == HWLOC_OBJ_OS_DEVICE && c->attr->osdev.type == type) return true;
  return false;
}

// NCCL's <cpu> attributes for a NUMA node: its CPUs as NCCL writes a mask (32-bit hex words,
// most significant first) and the identity of the package holding them (hwloc's CPU infos),
// which NCCL reads to rate the links between sockets.
std::vector<std::pair<std::string, std::string>> CpuAttributes(hwloc_topology_t topo,
                                                               hwloc_obj_t numa) {
  std::vector<std::pair<std::string, std::string>> out;
  if (numa->cpuset != nullptr && !hwloc_bitmap_iszero(numa->cpuset)) {
    const int last = hwloc_bitmap_last(numa->cpuset);
    std::string mask;
    for (int word = last / 32; word >= 0; --word) {
      uint32_t bits = 0;
      for (int b = 0; b < 32; ++b)
        if (hwloc_bitmap_isset(numa->cpuset, static_cast<unsigned>(word * 32 + b))) bits |= 1u << b;
      mask += Format("%s%08x", mask.empty() ? "" : ",", bits);
    }
    out.emplace_back("affinity", mask);
  }
  const char* arch = Info(hwloc_get_root_obj(topo), "Architecture");
  if (*arch) out.emplace_back("arch", arch);
  for (hwloc_obj_t pkg = nullptr;
       (pkg = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PACKAGE, pkg)) != nullptr;) {
    if (numa->cpuset == nullptr || pkg->cpuset == nullptr ||
        !hwloc_bitmap_intersects(pkg->cpuset, numa->cpuset))
      continue;
    for (auto [info, attr] :
         {std::pair{"CPUVendor", "vendor"}, std::pair{"CPUFamilyNumber", "familyid"},
          std::pair{"CPUModelNumber", "modelid"}})
      if (*Info(pkg, info)) out.emplace_back(attr, Info(pkg, info));
    break;
  }
  return out;
}

class Builder {
 public:
  Builder(hwloc_topology_t topo, SystemGraph* g, bool live) : topo_(topo), g_(g), live_(live) {}

  Status Build() {
    TopoNode machine;
    machine.kind = NodeKind::kMachine;
    g_->Add(machine);
    for (hwloc_obj_t numa = nullptr;
         (numa = hwloc_get_next_obj_by_type(topo_, HWLOC_OBJ_NUMANODE, numa)) != nullptr;) {
      TopoNode n;
      n.kind = NodeKind::kNuma;
      n.parent = 0;
      n.numa = static_cast<int>(numa->os_index);
      n.device_attrs = CpuAttributes(topo_, numa);
      numa_node_[numa->os_index] = g_->Add(n);
    }
    WEFT_CHECK(WalkNormal(hwloc_get_root_obj(topo_)));
    g_->Finish();  // the GPU list, for ReadNvLinks
    WEFT_CHECK(ReadNvLinks());
    g_->Finish();
    return Status::Ok();
  }

 private:
  // Normal (CPU-side) objects: their I/O children hang under their NUMA node.
  Status WalkNormal(hwloc_obj_t obj) {
    for (hwloc_obj_t io = obj->io_first_child; io != nullptr; io = io->next_sibling)
      WEFT_CHECK(WalkIo(io, AttachPoint(obj)));
    for (unsigned i = 0; i < obj->arity; ++i)
      WEFT_CHECK(WalkNormal(obj->children[i]));
    return Status::Ok();
  }

  // The graph node I/O under `obj` attaches to: the NUMA node if the object covers one.
  int AttachPoint(hwloc_obj_t obj) const {
    if (obj->nodeset != nullptr && hwloc_bitmap_weight(obj->nodeset) == 1) {
      auto it = numa_node_.find(static_cast<unsigned>(hwloc_bitmap_first(obj->nodeset)));
      if (it != numa_node_.end()) return it->second;
    }
    return 0;
  }

  Status WalkIo(hwloc_obj_t obj, int parent) {
    int id = parent;
    if (obj->type == HWLOC_OBJ_BRIDGE) {
      TopoNode n;
      n.parent = parent;
      n.kind = obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST ? NodeKind::kHostBridge
                                                                        : NodeKind::kBridge;
      if (obj->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI) {
        const auto& p = obj->attr->bridge.upstream.pci;
        n.pci = PciId(p.domain, p.bus, p.dev, p.func);
        n.link_gbps = p.linkspeed;
      }
      id = g_->Add(n);
    } else if (obj->type == HWLOC_OBJ_PCI_DEVICE) {
      const auto& p = obj->attr->pcidev;
      TopoNode n;
      n.parent = parent;
      n.pci = PciId(p.domain, p.bus, p.dev, p.func);
      n.link_gbps = p.linkspeed;
      n.pci_class = static_cast<uint32_t>(p.class_id) << 8;
      n.vendor = p.vendor_id;
      n.device = p.device_id;
      if (IsGpu(obj)) {
        n.kind = NodeKind::kGpu;
        n.name = GpuName(obj);
      } else if (IsNvSwitch(obj)) {
        n.kind = NodeKind::kNvSwitch;
      } else if (HasOsDevice(obj, HWLOC_OBJ_OSDEV_OPENFABRICS) || (p.class_id >> 8) == 0x02) {
        n.kind = NodeKind::kNic;
        n.link_layer = LinkLayerFromPci(n.pci_class, n.vendor, n.device);
      } else {
        n.kind = NodeKind::kOtherPci;
      }
      id = g_->Add(n);
      pci_of_obj_[obj] = id;
    } else if (obj->type == HWLOC_OBJ_OS_DEVICE) {
      return OsDevice(obj, parent);
    }
    for (hwloc_obj_t c = obj->io_first_child; c != nullptr; c = c->next_sibling)
      WEFT_CHECK(WalkIo(c, id));
    return Status::Ok();
  }

  std::string GpuName(hwloc_obj_t pci) const {
    for (hwloc_obj_t c = pci->io_first_child; c != nullptr; c = c->next_sibling) {
      const char* model = Info(c, "GPUModel");
      if (*model) return model;
    }
    const char* name = Info(pci, "PCIDevice");
    if (*name) return name;
    const bool amd = pci->attr->pcidev.vendor_id == 0x1002;
    return Format("%s %04x:%04x", amd ? "AMD" : "NVIDIA", pci->attr->pcidev.vendor_id,
                  pci->attr->pcidev.device_id);
  }

  Status OsDevice(hwloc_obj_t obj, int parent) {
    TopoNode* pci = parent >= 0 ? &g_->nodes[parent] : nullptr;
    const bool under_pci = obj->parent != nullptr && obj->parent->type == HWLOC_OBJ_PCI_DEVICE;
    if (obj->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
      if (!under_pci) {
        return InvalidArgument(Format("NIC %s has no PCI device above it", obj->name));
      }
      pci->kind = NodeKind::kNic;
      pci->name = obj->name ? obj->name : "";
      // Files: the link layer from the port's LID (InfiniBand subnets assign one).
      const char* lid = Info(obj, "Port1LID");
      if (*lid && std::strtoul(lid, nullptr, 0) != 0) pci->link_layer = "ib";
      // An RDMA device on a ConnectX's Ethernet port is RoCE whatever its vendor id says.
      if (pci->link_layer == "ethernet") pci->link_layer = "roce";
      const char* state = Info(obj, "Port1State");
      if (*state) pci->state = std::strcmp(state, "4") == 0 ? "active" : "down";
      // NCCL writes the node GUID as one hex number ("ec0d:9a03:..." in hwloc).
      std::string guid = Info(obj, "NodeGUID");
      guid.erase(std::remove(guid.begin(), guid.end(), ':'), guid.end());
      if (!guid.empty()) pci->device_attrs.emplace_back("guid", "0x" + guid);
      pci->device_attrs.emplace_back("port", "1");  // the port Weft reads
      if (live_) ReadSysfsPort(pci);
    } else if (obj->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK && under_pci) {
      pci->netdevs.push_back(obj->name ? obj->name : "");
      if (pci->kind == NodeKind::kOtherPci) pci->kind = NodeKind::kNic;
      if (pci->name.empty() && pci->kind == NodeKind::kNic &&
          !HasOsDevice(obj->parent, HWLOC_OBJ_OSDEV_OPENFABRICS))
        pci->name = obj->name ? obj->name : "";
    }
    return Status::Ok();
  }

  // Live NICs: link layer, rate and state from sysfs (hwloc does not report them).
  static void ReadSysfsPort(TopoNode* nic) {
    const std::string base = "/sys/class/infiniband/" + nic->name + "/ports/1/";
    std::string text;
    // Under /sys/class/infiniband every port is RDMA: an Ethernet one is RoCE.
    if (std::ifstream(base + "link_layer") >> text)
      nic->link_layer = text == "InfiniBand" ? "ib" : text == "Ethernet" ? "roce" : "unknown";
    double rate;
    if (std::ifstream(base + "rate") >> rate) nic->speed_gbps = rate;
    std::string state_line;
    if (std::getline(std::ifstream(base + "state"), state_line))
      nic->state = state_line.find("ACTIVE") != std::string::npos ? "active" : "down";
    if (nic->name.rfind("efa", 0) == 0 || nic->name.rfind("rdmap", 0) == 0) nic->link_layer = "efa";
  }

  int NodeOfObj(hwloc_obj_t o) {
    if (o == nullptr) return -1;
    if (o->type == HWLOC_OBJ_OS_DEVICE) o = o->parent;
    auto it = pci_of_obj_.find(o);
    if (it != pci_of_obj_.end()) return it->second;
    if (o->type == HWLOC_OBJ_NUMANODE || o->type == HWLOC_OBJ_PACKAGE) {
      int first = o->nodeset ? hwloc_bitmap_first(o->nodeset) : -1;
      auto n = numa_node_.find(static_cast<unsigned>(first));
      if (first >= 0 && n != numa_node_.end()) return n->second;
    }
    return -1;
  }

  // NVLinkBandwidth (MB/s between GPUs, NVSwitches and CPUs) and AMD's XGMIBandwidth, when
  // the file has them. hwloc before 2.5 (and builds without its NVML plugin) writes no
  // NVLink matrix: then the file does not say.
  Status ReadNvLinks() {
    bool nvidia = false;
    for (int gpu : g_->gpus)
      nvidia = nvidia || g_->IsNvidiaGpu(gpu);
    if (!ReadLinkMatrix("NVLinkBandwidth", false) && nvidia && !live_) g_->nvlinks_known = false;
    ReadLinkMatrix("XGMIBandwidth", true);
    return Status::Ok();
  }

  bool ReadLinkMatrix(const char* name, bool xgmi) {
    unsigned nr = 1;
    hwloc_distances_s* dist = nullptr;
    if (hwloc_distances_get_by_name(topo_, name, &nr, &dist, 0) != 0 || nr == 0) return false;
    const unsigned n = dist->nbobjs;
    for (unsigned i = 0; i < n; ++i) {
      for (unsigned j = i + 1; j < n; ++j) {
        const uint64_t mbps = std::max(dist->values[i * n + j], dist->values[j * n + i]);
        if (mbps == 0) continue;
        const int a = NodeOfObj(dist->objs[i]), b = NodeOfObj(dist->objs[j]);
        if (a < 0 || b < 0 || a == b) continue;
        // Per-link bandwidth by generation: P100 (NVLink1) 20 GB/s, later 25 GB/s. xGMI:
        // one connection per pair.
        const uint16_t dev = g_->nodes[g_->nodes[a].kind == NodeKind::kGpu ? a : b].device;
        const bool p100 = dev == 0x15f7 || dev == 0x15f8 || dev == 0x15f9;
        NvLink l;
        l.a = a;
        l.b = b;
        l.gbps = static_cast<double>(mbps) / 1000.0;
        l.count = xgmi ? 1 : std::max(1, static_cast<int>(mbps / (p100 ? 20000 : 25000)));
        l.xgmi = xgmi;
        g_->nvlinks.push_back(l);
      }
    }
    hwloc_distances_release(topo_, dist);
    return true;
  }

  hwloc_topology_t topo_;
  SystemGraph* g_;
  bool live_;
  std::map<unsigned, int> numa_node_;
  std::map<hwloc_obj_t, int> pci_of_obj_;
};

}  // namespace

Status LoadHwlocTopology(const std::string& xml_path, SystemGraph* out) {
  HwlocTopology topo;
  // Without an I/O filter hwloc drops every PCI and OS device (and their distance rows).
  hwloc_topology_set_io_types_filter(topo.get(), HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  const bool live = xml_path.empty();
  if (!live) {
    std::ifstream probe(xml_path);
    if (!probe) return InvalidArgument(Format("%s: cannot open the file", xml_path.c_str()));
    // hwloc prints its own diagnostics; make it quiet and report one clear error instead.
    setenv("HWLOC_XML_VERBOSE", "0", 0);
    if (hwloc_topology_set_xml(topo.get(), xml_path.c_str()) != 0)
      return InvalidArgument(Format("%s: hwloc cannot read it as XML", xml_path.c_str()));
  }
  // Live discovery reads PCI devices through libudev, whose process-wide state is not
  // thread-safe (ThreadSanitizer caught two communicators of one process racing in it):
  // one live load at a time per process.
  static std::mutex live_load_mutex;
  std::unique_lock<std::mutex> live_lock(live_load_mutex, std::defer_lock);
  if (live) live_lock.lock();
  if (hwloc_topology_load(topo.get()) != 0) {
    return InvalidArgument(
        Format("%s: hwloc cannot load it (not hwloc XML 1.x/2.x: hwloc %s refuses XML 3.0 and "
               "truncated or malformed files)",
               live ? "this host" : xml_path.c_str(), HWLOC_VERSION));
  }
  SystemGraph g;
  g.source = live ? "hwloc" : "hwloc XML " + xml_path;
  Status s = Builder(topo.get(), &g, live).Build();
  if (!s.ok()) return s.WithContext(live ? "this host" : xml_path);
  // hwloc's NVLink matrix needs its NVML plugin, which Debian lacks: ask NVML ourselves.
  if (live && g.nvlinks.empty()) WEFT_CHECK(AddNvmlNvLinks(&g));
  if (live && g.gpus.empty())
    WEFT_INFO(kLogTopo, "no NVIDIA GPU found: host memory only (%zu NICs)", g.nics.size());
  *out = std::move(g);
  return Status::Ok();
}

}  // namespace weft
