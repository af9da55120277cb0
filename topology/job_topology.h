// The job's view of its hosts: each host's graph (as the host's first rank discovered or
// loaded it, sent to every rank at init) and which host each rank is on. Every rank holds
// the same JobTopology, so every rank derives the same ring order and tuner inputs even
// when the hosts differ (a rank that judged the others by its own host could build another
// ring than its peers, and the job would hang).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "topology/system_graph.h"

namespace weft {

struct JobTopology {
  std::vector<SystemGraph> hosts;  // in order of each host's first rank
  std::vector<int> host_of;        // rank -> index into hosts
  std::vector<int> first_rank;     // host -> its lowest rank

  // Groups ranks by host identity, hosts numbered in order of their first rank; `hosts` is
  // left with one empty graph per host.
  static JobTopology Group(const std::vector<uint64_t>& host_hash);

  int nhosts() const { return static_cast<int>(hosts.size()); }
};

// For each rank with a GPU (its PCI id; empty without), the GPU's position in its own host's
// best GPU ring (SearchGpuRing), counted from the GPU that owns the host's first NIC; -1 for
// ranks without a GPU or with one the graph lacks.
std::vector<int> GpuRingPositions(const JobTopology& job, const std::vector<std::string>& gpu_pci);

// True if every host has an active InfiniBand NIC (then the network between hosts is IB).
bool EveryHostHasInfiniBand(const JobTopology& job);

// The network ports the rails of a job can spread over: the fewest active NICs of any host
// (at least 1: a host with none still reaches the others somehow).
int RailNics(const JobTopology& job);

// One line per host (no final newline): its ranks, GPUs, NICs and where its view came from.
std::string DescribeHosts(const JobTopology& job);

}  // namespace weft
