#include "topology/nccl_xml_loader.h"

#include <pugixml.hpp>

#include <cstdint>
#include <initializer_list>

#include <cstdlib>
#include <cstring>

#include "topology/hwloc_loader.h"
#include "topology/link_facts.h"

namespace weft {
namespace {

uint32_t Hex(const pugi::xml_node& n, const char* attr) {
  return static_cast<uint32_t>(std::strtoul(n.attribute(attr).value(), nullptr, 16));
}

// "16.0 GT/s PCIe" or "16 GT/s" per lane, times the width, in GB/s after line encoding.
double PcieGbps(const char* speed, int width) {
  const double gts = std::atof(speed);
  if (gts <= 0 || width <= 0) return 0;
  const double efficiency = gts < 8 ? 0.8 : 128.0 / 130.0;  // 8b/10b, then 128b/130b
  return gts * efficiency / 8.0 * width;
}

NodeKind KindOfClass(uint32_t cls, uint16_t vendor) {
  if (cls == 0x060400) return NodeKind::kBridge;
  if (cls == 0x068000) return NodeKind::kNvSwitch;
  // Display controllers: NVIDIA's, AMD's, or of unknown vendor (cloud files often omit it).
  // A BMC's VGA (ASPEED, Matrox) is not a GPU to compute on. AMD's Instinct GPUs are
  // processing accelerators (0x12) in RCCL's files.
  if ((cls >> 16) == 0x03 && (vendor == 0x10de || vendor == 0x1002 || vendor == 0))
    return NodeKind::kGpu;
  if ((cls >> 16) == 0x12 && vendor == 0x1002) return NodeKind::kGpu;
  if ((cls >> 16) == 0x02) return NodeKind::kNic;
  return NodeKind::kOtherPci;
}

// The attributes of `x` not in `known`, in file order.
std::vector<std::pair<std::string, std::string>> OtherAttributes(
    const pugi::xml_node& x, std::initializer_list<const char*> known) {
  std::vector<std::pair<std::string, std::string>> out;
  for (pugi::xml_attribute a : x.attributes()) {
    bool is_known = false;
    for (const char* k : known)
      is_known = is_known || std::strcmp(a.name(), k) == 0;
    if (!is_known) out.emplace_back(a.name(), a.value());
  }
  return out;
}

struct PendingNvLink {
  int gpu;
  std::string target;
  int count;
  uint32_t tclass;
  double per_link;  // GB/s, from the GPU's generation
  double gbps;      // Weft's dumps: the total; else count x per_link
  bool xgmi;
};

class Reader {
 public:
  explicit Reader(SystemGraph* g) : g_(g) {}

  Status Read(const pugi::xml_node& system) {
    TopoNode machine;
    machine.kind = NodeKind::kMachine;
    g_->Add(machine);
    for (pugi::xml_node cpu : system.children("cpu")) {
      const int numa = cpu.attribute("numaid").as_int(-1);
      if (numa < 0) {  // devices of no NUMA node (Weft's dumps write them so)
        WEFT_CHECK(Children(cpu, 0));
        continue;
      }
      TopoNode n;
      n.kind = NodeKind::kNuma;
      n.parent = 0;
      n.numa = numa;
      n.device_attrs = OtherAttributes(cpu, {"numaid"});
      const int id = g_->Add(n);
      WEFT_CHECK(Children(cpu, id));
    }
    ResolveNvLinks();
    // A file that describes its GPUs (<gpu>) lists their NVLinks, none included; one of
    // bare <pci> nodes (NCCL adds GPUs at run time) says nothing about them.
    g_->nvlinks_known = described_gpus_ || !g_->nvlinks.empty();
    g_->Finish();
    return Status::Ok();
  }

 private:
  Status Children(const pugi::xml_node& parent_xml, int parent) {
    for (pugi::xml_node c : parent_xml.children()) {
      if (std::strcmp(c.name(), "pci") == 0) {
        WEFT_CHECK(Pci(c, parent));
      } else if (std::strcmp(c.name(), "nic") == 0) {
        Nic(c, parent);
      } else if (std::strcmp(c.name(), "gpu") == 0) {
        Gpu(c, parent);
      }
    }
    return Status::Ok();
  }

  Status Pci(const pugi::xml_node& x, int parent) {
    TopoNode n;
    n.parent = parent;
    n.pci = NormalizePciId(x.attribute("busid").value());
    WEFT_REQUIRE(!n.pci.empty(), weftInvalidArgument, "<pci busid=\"%s\"> is not a PCI address",
                 x.attribute("busid").value());
    n.pci_class = Hex(x, "class");
    n.vendor = static_cast<uint16_t>(Hex(x, "vendor"));
    n.device = static_cast<uint16_t>(Hex(x, "device"));
    n.kind = KindOfClass(n.pci_class, n.vendor);
    n.link_gbps = PcieGbps(x.attribute("link_speed").value(), x.attribute("link_width").as_int(0));
    if (x.attribute("gbps")) n.link_gbps = x.attribute("gbps").as_double();  // Weft's dumps
    n.pci_attrs = OtherAttributes(x, {"busid", "class", "vendor", "device", "gbps"});
    if (n.kind == NodeKind::kGpu && n.device != 0)
      n.name = Format("%s %04x:%04x", n.vendor == 0x1002 ? "AMD" : "NVIDIA",
                      n.vendor == 0 ? 0x10de : n.vendor, n.device);
    if (n.kind == NodeKind::kNic) n.link_layer = LinkLayerFromPci(n.pci_class, n.vendor, n.device);
    const int id = g_->Add(n);
    return Children(x, id);
  }

  // <nic> under a <pci> describes that device (its first <net>; further ports become NICs
  // below it); under a <cpu>, a NIC without PCI details.
  void Nic(const pugi::xml_node& x, int parent) {
    for (pugi::xml_node net : x.children("net")) {
      int target = parent;
      if (g_->nodes[parent].kind != NodeKind::kNic || !g_->nodes[parent].name.empty()) {
        TopoNode n;
        n.kind = NodeKind::kNic;
        n.parent = parent;
        if (g_->nodes[parent].kind == NodeKind::kNic) n.link_layer = g_->nodes[parent].link_layer;
        target = g_->Add(n);
      }
      TopoNode& nic = g_->nodes[target];
      nic.kind = NodeKind::kNic;
      nic.name = net.attribute("name").value();
      nic.device_attrs = OtherAttributes(net, {"name", "speed", "link_layer", "state", "netdevs"});
      const double mbps = net.attribute("speed").as_double(-1);
      nic.speed_gbps = mbps > 0 ? mbps / 1000.0 : -1;
      // Without PCI ids, the name says what it can.
      if (nic.link_layer == "unknown" &&
          (nic.name.rfind("eth", 0) == 0 || nic.name.rfind("en", 0) == 0))
        nic.link_layer = "ethernet";
      if (nic.name.rfind("efa", 0) == 0 || nic.name.rfind("rdmap", 0) == 0) nic.link_layer = "efa";
      // Weft's dumps carry what NCCL's format has no place for.
      if (net.attribute("link_layer")) nic.link_layer = net.attribute("link_layer").value();
      if (net.attribute("state")) nic.state = net.attribute("state").value();
      const std::string devs = net.attribute("netdevs").value();
      for (size_t at = 0; at < devs.size();) {
        size_t comma = devs.find(',', at);
        if (comma == std::string::npos) comma = devs.size();
        nic.netdevs.push_back(devs.substr(at, comma - at));
        at = comma + 1;
      }
    }
  }

  void Gpu(const pugi::xml_node& x, int parent) {
    TopoNode& gpu = g_->nodes[parent];
    gpu.kind = NodeKind::kGpu;
    if (x.attribute("name")) gpu.name = x.attribute("name").value();
    gpu.device_attrs = OtherAttributes(x, {"dev", "name", "nvlink"});
    // Weft's dumps of a source that did not list NVLinks say so.
    described_gpus_ = described_gpus_ || std::strcmp(x.attribute("nvlink").value(), "unknown") != 0;
    const int sm = x.attribute("sm").as_int(0);
    // RCCL's files: xGMI links, their speed by the GPU's gfx name.
    for (const char* kind : {"nvlink", "xgmi"}) {
      const bool xgmi = std::strcmp(kind, "xgmi") == 0;
      const double per_link =
          xgmi ? XgmiGbpsPerLink(x.attribute("gcn").value()) : NvLinkGbpsPerLink(sm);
      for (pugi::xml_node l : x.children(kind)) {
        const std::string target = l.attribute("target").value();
        pending_.push_back({parent, target.rfind("numa", 0) == 0 ? target : NormalizePciId(target),
                            l.attribute("count").as_int(0), Hex(l, "tclass"), per_link,
                            l.attribute("bw").as_double(0), xgmi});
      }
    }
  }

  // NVLink targets: another GPU, an NVSwitch (one node stands for all of them), or the
  // CPU. A link to the GPU itself (seen in Azure's NC A100 v4 file) is ignored. A GPU lists
  // one element per target with its count, and one per switch when it reaches several
  // (an H100: 5+5+4+4 links to 4 switches): the links a GPU lists to one node add up. A
  // link between two GPUs is listed by both; the second listing is the same link.
  void ResolveNvLinks() {
    std::vector<int> declared_by;  // per g_->nvlinks entry: the GPU that listed it
    for (const PendingNvLink& p : pending_) {
      if (p.count <= 0 || p.target == g_->nodes[p.gpu].pci) continue;
      int other = g_->FindPci(p.target);
      if (p.tclass == 0x068001) {  // the CPU: the GPU's NUMA node
        other = -1;
        for (size_t i = 0; i < g_->nodes.size(); ++i)
          if (g_->nodes[i].kind == NodeKind::kNuma && g_->NumaOf(p.gpu) == g_->nodes[i].numa)
            other = static_cast<int>(i);
        if (other < 0) continue;
      } else if (other < 0 ||
                 (p.tclass == 0x068000 && g_->nodes[other].kind != NodeKind::kNvSwitch)) {
        other = g_->NvSwitchFabric();
      }
      const double gbps = p.gbps > 0 ? p.gbps : p.count * p.per_link;
      bool listed = false;
      for (size_t i = 0; i < g_->nvlinks.size(); ++i) {
        NvLink& l = g_->nvlinks[i];
        if (!((l.a == p.gpu && l.b == other) || (l.a == other && l.b == p.gpu))) continue;
        listed = true;
        if (declared_by[i] == p.gpu) {  // another element of the same GPU: more links
          l.count += p.count;
          l.gbps += gbps;
        }
      }
      if (!listed) {
        g_->nvlinks.push_back({p.gpu, other, p.count, gbps, p.xgmi});
        declared_by.push_back(p.gpu);
      }
    }
  }

  SystemGraph* g_;
  std::vector<PendingNvLink> pending_;
  bool described_gpus_ = false;
};

}  // namespace

static Status ParseXmlFile(const std::string& path, pugi::xml_document* doc) {
  pugi::xml_parse_result r = doc->load_file(path.c_str());
  if (r.status == pugi::status_file_not_found || r.status == pugi::status_io_error)
    return InvalidArgument(Format("%s: cannot open the file", path.c_str()));
  if (!r)
    return InvalidArgument(
        Format("%s: XML error at byte %td: %s", path.c_str(), r.offset, r.description()));
  return Status::Ok();
}

static Status ReadSystem(const pugi::xml_document& doc, const std::string& source,
                         SystemGraph* out) {
  pugi::xml_node system = doc.child("system");
  WEFT_REQUIRE(system, weftInvalidArgument, "%s: no <system> element (not an NCCL topology)",
               source.c_str());
  SystemGraph g;
  g.source = "NCCL XML " + source;
  WEFT_CHECK(Reader(&g).Read(system).WithContext(source));
  *out = std::move(g);
  return Status::Ok();
}

Status LoadNcclTopology(const std::string& path, SystemGraph* out) {
  pugi::xml_document doc;
  WEFT_CHECK(ParseXmlFile(path, &doc));
  return ReadSystem(doc, path, out);
}

Status ParseNcclTopology(const std::string& xml, const std::string& source, SystemGraph* out) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size());
  if (!r)
    return InvalidArgument(
        Format("%s: XML error at byte %td: %s", source.c_str(), r.offset, r.description()));
  return ReadSystem(doc, source, out);
}

Status LoadTopologyFile(const std::string& path, SystemGraph* out) {
  pugi::xml_document doc;
  WEFT_CHECK(ParseXmlFile(path, &doc));
  if (doc.child("system")) return LoadNcclTopology(path, out);
  pugi::xml_node topo = doc.child("topology");
  WEFT_REQUIRE(topo, weftInvalidArgument,
               "%s: neither an hwloc topology (<topology>) nor an NCCL one (<system>)",
               path.c_str());
  const std::string version = topo.attribute("version").value();
  WEFT_REQUIRE(version.empty() || version[0] == '1' || version[0] == '2', weftInvalidArgument,
               "%s: hwloc XML version %s; this hwloc reads 1.x and 2.x (export with "
               "lstopo --of xml --export-xml-flags v2, or hwloc_topology_export_xml "
               "with HWLOC_TOPOLOGY_EXPORT_XML_FLAG_V2)",
               path.c_str(), version.c_str());
  return LoadHwlocTopology(path, out);
}

}  // namespace weft
