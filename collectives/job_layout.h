// How a job's ranks are laid out for its plans: the ring (hosts one after another; inside a
// host, ranks with a GPU in the order of the host's best GPU ring, the others by NUMA node),
// the trees over that ring, each host's ranks, and the rail (NIC) each rank uses between
// hosts. The communicator cuts every plan from this at init, and weft-topo prints it for a
// job it imagines from a machine file: one code path, so the rings shown are the rings run.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "collectives/algorithms/algorithm.h"
#include "topology/job_topology.h"

namespace weft {

// Where one rank runs: its NUMA node (-1: unknown) and its GPU's PCI address (empty: none).
struct RankPlace {
  int numa = -1;
  std::string gpu_pci;
};

// A ring edge between two hosts. The rank leaving host A and the rank entering host B use the
// same rail index k (NIC k to NIC k, as NCCL's rails): the entering rank's own rail.
struct RailHop {
  int from = -1, to = -1;        // ranks
  int rail = -1;                 // index into each host's rails; -1: a host without rails
  std::string from_nic, to_nic;  // SystemGraph::NicId on each side ("" without rails)
};

struct JobLayout {
  PlanShapes shapes;
  std::vector<int> rail_of;        // rank -> index into its host's rails, -1 without
  std::vector<RailHop> ring_hops;  // the ring's edges between hosts, in ring order
};

// `ranks[r]` for every rank of `job` (whose hosts hold each host's graph).
JobLayout LayOutJob(const JobTopology& job, const std::vector<RankPlace>& ranks);

// A job weft-topo imagines: `nhosts` hosts shaped like `g`, `ranks_per_host` ranks each
// (rank = host * ranks_per_host + local). Local rank l drives the host's NVIDIA GPU
// l % GPUs (as launchers bind a local rank to a device) and runs on that GPU's NUMA node;
// without GPUs, ranks fill the NUMA nodes in blocks (as binding by socket does).
void ImagineJob(const SystemGraph& g, int nhosts, int ranks_per_host, JobTopology* job,
                std::vector<RankPlace>* ranks);

// The UCX network device of `rank`'s rail, to bind its endpoints to ("mlx5_0:1" for an RDMA
// port, the interface name for Ethernet or Slingshot), or "" where UCX should choose: a host
// with one rail or none, or a device `present` does not find in this rank's namespace (a
// topology file of another machine, a network namespace). *why says which, for the log.
std::string RailNetDevice(const JobTopology& job, const JobLayout& layout, int rank,
                          const std::function<bool(const std::string& device)>& present,
                          std::string* why);

// Text for logs and weft-topo: the ring (with the rails between hosts), the two trees, and
// the hierarchical algorithm's rings between hosts (one per local index, each on its rail).
std::string DescribeLayout(const JobTopology& job, const JobLayout& layout);

}  // namespace weft
