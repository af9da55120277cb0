// Which of a host's NICs carry collectives, as the user narrows it with NCCL's variables:
// WEFT_IB_HCA (NCCL_IB_HCA's syntax) over fabric NICs, by device name and port, and
// WEFT_SOCKET_IFNAME (NCCL_SOCKET_IFNAME's) over Ethernet rails, by interface name. Rails
// left out become management NICs: no rank binds to them (job_layout.h, RailNetDevice) and
// the ring does not plan its hops between hosts on them.
#pragma once

#include <string>

#include "common/status.h"
#include "topology/system_graph.h"

namespace weft {

// NCCL_IB_HCA's syntax: entries separated by commas, each a device name with an optional
// port ("mlx5_0:1"); names match as prefixes ("mlx5" is every mlx5 device) unless the list
// starts with '=' (whole names); '^' first excludes what matches instead. An entry with a
// port matches that port only. Empty: every device.
bool HcaAllowed(const std::string& spec, const std::string& device, int port);

// Narrows g->rails by `ib_hca` (fabric NICs) and `socket_ifname` (Ethernet rails: a rail is
// kept if any of its interfaces qualifies). `host` names the host in errors and in the
// note added to g->notes. An `ib_hca` that leaves none of the host's fabric rails is an
// error naming them (a typo would otherwise move the job to whatever UCX finds); an
// interface filter that leaves no Ethernet rail leaves them all, with a note (it also
// chooses the bootstrap's interface, which need not be a rail).
Status FilterRails(const std::string& ib_hca, const std::string& socket_ifname,
                   const std::string& host, SystemGraph* g);

}  // namespace weft
