#include "topology/nccl_xml_writer.h"

#include <pugixml.hpp>

#include <algorithm>
#include <cstdint>
#include <sstream>

namespace weft {
namespace {

std::string Hex(uint32_t v, int digits) {
  return Format("0x%0*x", digits, v);
}

// Appends the kept attributes `x` does not have yet.
void Keep(pugi::xml_node x, const std::vector<std::pair<std::string, std::string>>& attrs) {
  for (const auto& [name, value] : attrs)
    if (!x.attribute(name.c_str())) x.append_attribute(name.c_str()) = value.c_str();
}

class Writer {
 public:
  explicit Writer(const SystemGraph& g) : g_(g) {}

  void Write(pugi::xml_node system) {
    system.append_attribute("version") = 1;
    for (int child : g_.nodes[0].children) {
      const TopoNode& n = g_.nodes[child];
      if (n.kind == NodeKind::kNuma) {
        pugi::xml_node cpu = system.append_child("cpu");
        cpu.append_attribute("numaid") = n.numa;
        Keep(cpu, n.device_attrs);
        Children(cpu, child);
      }
    }
    // Devices hanging from the machine itself (no NUMA node) go under a cpu without id.
    bool loose = false;
    for (int child : g_.nodes[0].children)
      loose = loose || g_.nodes[child].kind != NodeKind::kNuma;
    if (loose) {
      pugi::xml_node cpu = system.append_child("cpu");
      cpu.append_attribute("numaid") = -1;
      for (int child : g_.nodes[0].children)
        if (g_.nodes[child].kind != NodeKind::kNuma && g_.nodes[child].kind != NodeKind::kNvSwitch)
          Node(cpu, child);
    }
  }

 private:
  void Children(pugi::xml_node parent, int id) {
    for (int c : g_.nodes[id].children)
      Node(parent, c);
  }

  void Node(pugi::xml_node parent, int id) {
    const TopoNode& n = g_.nodes[id];
    if (n.kind == NodeKind::kHostBridge) return Children(parent, id);  // flattened
    if (n.kind == NodeKind::kNic && n.pci.empty()) return Net(parent.append_child("nic"), id);
    if (n.pci.empty()) return Children(parent, id);
    pugi::xml_node pci = parent.append_child("pci");
    pci.append_attribute("busid") = n.pci.c_str();
    uint32_t cls = n.pci_class;
    if (n.kind == NodeKind::kBridge) cls = 0x060400;
    if (n.kind == NodeKind::kNvSwitch) cls = 0x068000;
    if (n.kind == NodeKind::kGpu && (cls >> 16) != 0x03) cls = 0x030200;
    if (n.kind == NodeKind::kNic && (cls >> 16) != 0x02)
      cls = n.link_layer == "ib" ? 0x020700 : 0x020000;
    pci.append_attribute("class") = Hex(cls, 6).c_str();
    pci.append_attribute("vendor") = Hex(n.vendor, 4).c_str();
    pci.append_attribute("device") = Hex(n.device, 4).c_str();
    // NCCL's link_speed/link_width as the source wrote them, else empty (as many real files
    // have them); the bandwidth the graph uses travels in `gbps`.
    Keep(pci, n.pci_attrs);
    if (!pci.attribute("link_speed")) pci.append_attribute("link_speed") = "";
    if (!pci.attribute("link_width")) pci.append_attribute("link_width") = 0;
    if (n.link_gbps > 0) pci.append_attribute("gbps") = n.link_gbps;
    if (n.kind == NodeKind::kGpu) Gpu(pci.append_child("gpu"), id);
    if (n.kind == NodeKind::kNic) Net(pci.append_child("nic"), id);
    Children(pci, id);
  }

  void Gpu(pugi::xml_node gpu, int id) {
    int index = 0;
    for (size_t i = 0; i < g_.gpus.size(); ++i)
      if (g_.gpus[i] == id) index = static_cast<int>(i);
    gpu.append_attribute("dev") = index;
    Keep(gpu, g_.nodes[id].device_attrs);
    if (!g_.nodes[id].name.empty()) gpu.append_attribute("name") = g_.nodes[id].name.c_str();
    // The source did not list NVLinks: keep "not known" apart from "none" across the trip.
    if (!g_.nvlinks_known) gpu.append_attribute("nvlink") = "unknown";
    for (const NvLink& l : g_.nvlinks) {
      if (l.a != id && l.b != id) continue;
      const TopoNode& other = g_.nodes[l.a == id ? l.b : l.a];
      pugi::xml_node nv = gpu.append_child(l.xgmi ? "xgmi" : "nvlink");
      const bool cpu = other.kind == NodeKind::kNuma;
      nv.append_attribute("target") = cpu                 ? Format("numa%d", other.numa).c_str()
                                      : other.pci.empty() ? "fffffff:ffff:ff"
                                                          : other.pci.c_str();
      nv.append_attribute("count") = l.count;
      nv.append_attribute("tclass") = cpu                                 ? "0x068001"
                                      : other.kind == NodeKind::kNvSwitch ? "0x068000"
                                                                          : "0x030200";
      nv.append_attribute("bw") = l.gbps;
    }
  }

  void Net(pugi::xml_node nic, int id) {
    const TopoNode& n = g_.nodes[id];
    pugi::xml_node net = nic.append_child("net");
    net.append_attribute("name") = n.name.c_str();
    // NCCL numbers its network devices; the source's number if it had one, else the order.
    for (const auto& [name, value] : n.device_attrs)
      if (name == "dev") net.append_attribute("dev") = value.c_str();
    if (!net.attribute("dev"))
      net.append_attribute("dev") =
          static_cast<int>(std::find(g_.nics.begin(), g_.nics.end(), id) - g_.nics.begin());
    net.append_attribute("speed") = n.speed_gbps > 0 ? static_cast<int>(n.speed_gbps * 1000) : 0;
    Keep(net, n.device_attrs);
    net.append_attribute("link_layer") = n.link_layer.c_str();
    if (!n.state.empty()) net.append_attribute("state") = n.state.c_str();
    std::string netdevs;
    for (const std::string& d : n.netdevs)
      netdevs += (netdevs.empty() ? "" : ",") + d;
    if (!netdevs.empty()) net.append_attribute("netdevs") = netdevs.c_str();
  }

  const SystemGraph& g_;
};

}  // namespace

std::string NcclTopologyXml(const SystemGraph& g) {
  pugi::xml_document doc;
  Writer(g).Write(doc.append_child("system"));
  std::ostringstream out;
  doc.save(out, "  ");
  return out.str();
}

Status WriteNcclTopology(const SystemGraph& g, const std::string& path) {
  pugi::xml_document doc;
  Writer(g).Write(doc.append_child("system"));
  if (!doc.save_file(path.c_str(), "  "))
    return SystemError(Format("%s: cannot write the topology dump", path.c_str()));
  return Status::Ok();
}

}  // namespace weft
