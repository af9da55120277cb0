// Runs the Plans of N virtual ranks over the loopback transport in one thread and checks
// every rank's output against the reference (common/pattern.h).
#pragma once

#include <string>
#include <vector>

#include "collectives/algorithms/algorithm.h"
#include "collectives/plan.h"

namespace weft::testing {

struct HarnessCase {
  Algo algorithm = Algo::kRing;
  CollType coll = CollType::kAllReduce;
  int nranks = 2;
  size_t count = 1;
  weftDataType_t type = weftFloat32;
  weftRedOp_t op = weftSum;
  int root = 0;
  bool in_place = false;
  Chunking chunking;
  std::vector<int> ring;     // empty: 0..N-1
  size_t eager_limit = 256;  // larger messages use the rendezvous path
  // Results the plan marks (Step::stream) are written with streaming stores from this many
  // bytes of output: here every one, so plan tests cover that path (the communicator's
  // default, 8 MiB, leaves the small calls of the integration tests on cached stores).
  size_t stream_min_bytes = 1;
  // Ranks of one host share FIFOs in this process's memory (DirectLinkMap's); every other
  // link goes over the loopback transport's messages. Without `shm`, every link does.
  bool shm = false;
  int ranks_per_host = 0;        // ranks r / ranks_per_host share a host (0: all one host)
  int tree_ranks_per_host = 0;   // kTree: 0 = DoubleBinaryTrees(n), else HostTrees
  int fifo_slots = 2;            // every link's depth (shared FIFOs and network links)
  int direct_all_pairs_max = 8;  // shm: DirectLinkConfig::all_pairs_max
  // Every rank's buffers come from weftMemAlloc and are registered: one-copy plans map them
  // (otherwise they read and write them with process_vm_readv/writev).
  bool shared_buffers = false;
};

// Returns "" on success, else a description of the first problem.
std::string RunOnLoopback(const HarnessCase& c);

std::string CaseName(const HarnessCase& c);

}  // namespace weft::testing
