// Tuner: picks the algorithm for each call from a cost model, NCCL-style:
//   time(algorithm) = steps(N) x latency(transport) + bytes x traffic(N) / bandwidth,
// over the algorithms WEFT_ALGO allows. The latency and bandwidth of each transport are
// in one table (kTransportCosts); the bandwidth of a job's bottleneck link, when the
// topology knows it, replaces the table's.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collectives/algo_spec.h"
#include "collectives/plan.h"
#include "collectives/tune_table.h"

namespace weft {

enum class TransportKind { kSharedMemory = 0, kTcp = 1, kInfiniBand = 2 };
const char* TransportKindName(TransportKind t);

struct TransportCost {
  double latency_us;  // one message between neighbours, end to end
  double gbps;        // sustained bandwidth of one link, GB/s
};

struct TunerInput {
  int nranks = 1;
  TransportKind transport = TransportKind::kSharedMemory;
  double link_gbps = 0;       // 0: the table's
  double latency_us = 0;      // 0: the table's
  bool one_copy = false;      // Algo::kDirect can run (every rank on one host, CMA works)
  double ranks_per_core = 1;  // on the busiest host; above 1, chains of hops stall
  // Hosts of the job. Above 1, `transport` (and link_gbps, latency_us) is what joins the
  // hosts and `inside` what joins the ranks of one host, and the model follows each
  // algorithm's hops onto the links they take (Tuner::PredictAcrossHosts).
  int nhosts = 1;
  TransportCost inside{0, 0};      // zeros: the shared-memory table's
  size_t chunk_bytes = 256 << 10;  // WEFT_CHUNK_SIZE: what a tree's pipeline moves per hop
  // Jobs of several hosts: the channels a ring runs (their steps share each rank's link,
  // and one channel's transfer fills the time another spends waiting and reducing), and
  // the rate at which a rank reduces or copies what arrives.
  int nchannels = 1;
  double reduce_gbps = 12.0;
  // The trees' longest root-to-leaf path and the most of its hops between hosts
  // (LongestPaths); zeros: estimated as log2 of the ranks and of the hosts.
  int tree_depth = 0;
  int tree_hops_between_hosts = 0;
  int tree_nic_edges = 0;  // the most tree edges through one NIC one way (0: one)
};

struct Prediction {
  Algo algo;
  double time_us;
};

class Tuner {
 public:
  // `measured` (WEFT_TUNE_FILE) wins over the model wherever it has a line for the call.
  Tuner(const TunerInput& input, const AlgoSpec& allowed, TuneTable measured = {});

  // The measured table's algorithm if it has one (and WEFT_ALGO allows it), else the
  // allowed algorithm with the smallest predicted time; every candidate's prediction for
  // logs, and whether the table decided.
  Algo Choose(CollType coll, size_t bytes, std::vector<Prediction>* candidates = nullptr,
              bool* from_table = nullptr) const;
  double Predict(Algo algo, CollType coll, size_t bytes) const;

 private:
  // WEFT_ALGO allows it, and it can run here.
  bool Usable(CollType coll, Algo algo) const;
  // Predict for jobs of several hosts: latencies summed along each algorithm's critical
  // path of hops inside and between hosts, bytes at the slower of the two links.
  double PredictAcrossHosts(Algo algo, CollType coll, size_t bytes) const;
  TunerInput input_;
  AlgoSpec allowed_;
  TransportCost cost_;    // between hosts (or, on one host, between its ranks)
  TransportCost inside_;  // between the ranks of one host, for jobs of several hosts
  TuneTable measured_;
};

// The table, per transport: measured here for shared memory (docs/performance.md), typical
// values for TCP and InfiniBand HDR.
TransportCost CostOf(TransportKind t);

}  // namespace weft
