#include "collectives/rail_filter.h"

#include <cstdlib>
#include <vector>

#include "common/log.h"
#include "common/name_list.h"
#include "topology/link_facts.h"
#include "transport/bootstrap/socket.h"

namespace weft {
namespace {

std::string Names(const SystemGraph& g, const std::vector<int>& nics) {
  std::string out;
  for (int nic : nics)
    out += (out.empty() ? "" : ", ") + g.nodes[nic].name + ":" + std::to_string(g.NicPort(nic));
  return out;
}

}  // namespace

bool HcaAllowed(const std::string& spec, const std::string& device, int port) {
  return NameListAllows(spec, true, [&](const std::string& entry, bool exact) {
    const size_t colon = entry.find(':');
    return NameMatches(entry.substr(0, colon), device, exact) &&
           (colon == std::string::npos || std::atoi(entry.c_str() + colon + 1) == port);
  });
}

Status FilterRails(const std::string& ib_hca, const std::string& socket_ifname,
                   const std::string& host, SystemGraph* g) {
  std::vector<int> fabric, ethernet, kept_fabric, kept_ethernet;
  for (int nic : g->rails) {
    const TopoNode& n = g->nodes[nic];
    const bool is_fabric = IsFabricLinkLayer(n.link_layer);
    (is_fabric ? fabric : ethernet).push_back(nic);
    if (is_fabric) {
      if (HcaAllowed(ib_hca, n.name, g->NicPort(nic))) kept_fabric.push_back(nic);
      continue;
    }
    // Its interfaces (an NCCL file names the NIC by its one interface); nothing to match:
    // kept.
    const std::vector<std::string> names =
        n.netdevs.empty() ? std::vector<std::string>{n.name} : n.netdevs;
    bool allowed = names.size() == 1 && names[0].empty();
    for (const std::string& dev : names)
      allowed = allowed || InterfaceAllowed(socket_ifname, dev);
    if (allowed) kept_ethernet.push_back(nic);
  }
  WEFT_REQUIRE(fabric.empty() || !kept_fabric.empty(), weftInvalidArgument,
               "WEFT_IB_HCA='%s' leaves none of %s's NICs (%s)", ib_hca.c_str(), host.c_str(),
               Names(*g, fabric).c_str());
  if (!ethernet.empty() && kept_ethernet.empty()) {
    g->notes.push_back(
        Format("WEFT_SOCKET_IFNAME='%s' qualifies none of the Ethernet rails: all "
               "kept",
               socket_ifname.c_str()));
    kept_ethernet = ethernet;
  }
  std::vector<bool> kept(g->nodes.size(), false);
  for (const std::vector<int>* list : {&kept_fabric, &kept_ethernet})
    for (int nic : *list)
      kept[static_cast<size_t>(nic)] = true;
  std::vector<int> rails;
  for (int nic : g->rails) {
    g->nodes[nic].management = !kept[static_cast<size_t>(nic)];
    if (kept[static_cast<size_t>(nic)]) rails.push_back(nic);
  }
  if (rails.size() != g->rails.size())
    g->notes.push_back(Format("%zu of %zu rails by WEFT_IB_HCA='%s' and WEFT_SOCKET_IFNAME='%s'",
                              rails.size(), g->rails.size(), ib_hca.c_str(),
                              socket_ifname.c_str()));
  g->rails = std::move(rails);
  return Status::Ok();
}

}  // namespace weft
