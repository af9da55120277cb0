// An algorithm, as the registry (registry.h) knows it: its name, the collectives it serves,
// how it builds a rank's plan, what it costs, and where it cannot run. Each algorithm is one
// file of this folder that defines one of these; the tuner, WEFT_ALGO, weft-info,
// weft-perf --compare algos / --tune and weft-sim all read them through the registry.
#pragma once

#include <cstdint>
#include <vector>

#include "collectives/cost_model.h"
#include "collectives/plan.h"
#include "common/status.h"
#include "topology/trees.h"

namespace weft {

// The registry's index of each algorithm (its line in registry.cc).
enum class Algo : uint8_t {
  kRing = 0,
  kTree = 1,
  kRecursiveDoubling = 2,
  kDirect = 3,   // one-copy reads of the peers' buffers, ranks of one host
  kHier = 4,     // inside each host, then between hosts on one rail per local rank, then inside
  kOneShot = 5,  // every rank stores its input into every peer's LL scratch; one hop
};
constexpr int kNumAlgos = 6;

// What every plan of a communicator is cut from.
struct PlanShapes {
  std::vector<int> ring;    // every rank once, in locality order (hosts one after another)
  std::vector<Tree> trees;  // the two all-reduce trees, indexed by rank
  // Each host's ranks in ring order, and each rank's host (its index there). A job on one
  // host has one.
  std::vector<std::vector<int>> hosts;
  std::vector<int> host_of;
  // Every host has as many ranks (what the hierarchical algorithms need).
  bool uniform_hosts() const;
};

// The shapes for `ring` and each rank's host (empty: one host): the trees laid over the ring
// (TreesOverRing), the hosts' parts of the ring.
PlanShapes MakePlanShapes(const std::vector<int>& ring, const std::vector<int>& host_of);

// Who the job is, for an algorithm's constraints.
struct JobShape {
  int nranks = 1;
  int nhosts = 1;
  bool uniform_hosts = true;
  bool one_copy = false;  // every rank may read every other's memory (one host)
  bool one_shot = false;  // every rank's one-shot scratch is mapped into every peer
};

struct AlgorithmInfo {
  Algo id;
  const char* name;     // as WEFT_ALGO, tune files, weft-info and weft-perf spell it
  const char* summary;  // one line, for weft-info
  uint32_t colls;       // bit per CollType it serves
  // `rank`'s plan; `count` is the C API's count, `root` matters for broadcast and reduce.
  Status (*build)(CollType coll, int rank, const PlanShapes& shapes, size_t count, int root,
                  const Chunking& chunking, Plan* out);
  // Predicted time (us) of a call of `bytes` (CallBytes) in this job.
  double (*predict)(const CostModel& model, CollType coll, size_t bytes);
  // Null where it can run in this job; else why not (for logs and WEFT_ALGO errors).
  const char* (*refuses)(const JobShape& job);
  // Its messages travel on the shallow FIFOs of tree edges and pairs inside a host: chunks
  // are cut to fit them (kDirectOtherSlotBytes).
  bool shallow_links;
  // Null where it takes every call of the collectives it serves; else whether it takes one
  // of `bytes` (CallBytes) in `type` (a size beyond its scratch, a type its protocol does not
  // compute): the tuner gives the calls it does not take to another.
  bool (*takes)(const CostModel& model, CollType coll, size_t bytes, weftDataType_t type) = nullptr;

  bool Serves(CollType c) const { return (colls >> static_cast<int>(c)) & 1u; }
  bool Takes(const CostModel& model, CollType coll, size_t bytes, weftDataType_t type) const {
    return takes == nullptr || takes(model, coll, bytes, type);
  }
};

constexpr uint32_t CollBit(CollType c) {
  return 1u << static_cast<int>(c);
}

}  // namespace weft
