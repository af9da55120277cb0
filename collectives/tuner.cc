#include "collectives/tuner.h"

#include <cmath>

namespace weft {
namespace {

// latency (us), bandwidth (GB/s) per transport. Shared memory: measured on the CI-class
// machine (a ring step's hand-off through the shared FIFOs, and its sustained rate);
// TCP over 25 GbE and InfiniBand HDR: usual values.
const TransportCost kTransportCosts[] = {
    {1.0, 6.0},   // shared memory
    {25.0, 2.5},  // TCP
    {2.5, 23.0},  // InfiniBand
};

// Bytes a tree all-reduce moves per rank, in units of the buffer. In theory about 1.5 (an
// interior node of one tree sends its half down to two children; a leaf of the other sends
// a half up); in practice the up and down pipelines share each link and hosts' chains add
// a hop, and NCCL likewise rates the tree below the ring for bandwidth. A measured tuning
// table (WEFT_TUNE_FILE, to come) replaces this guess.
constexpr double kTreeTraffic = 3.0;

int Log2Ceil(int n) {
  int l = 0;
  while ((1 << l) < n)
    ++l;
  return l;
}

}  // namespace

const char* TransportKindName(TransportKind t) {
  switch (t) {
    case TransportKind::kSharedMemory:
      return "shm";
    case TransportKind::kTcp:
      return "tcp";
    case TransportKind::kInfiniBand:
      return "ib";
  }
  return "?";
}

TransportCost CostOf(TransportKind t) {
  return kTransportCosts[static_cast<int>(t)];
}

Tuner::Tuner(const TunerInput& input, const AlgoSpec& allowed, TuneTable measured)
    : input_(input),
      allowed_(allowed),
      cost_(CostOf(input.transport)),
      measured_(std::move(measured)) {
  if (input.link_gbps > 0) cost_.gbps = input.link_gbps;
  if (input.latency_us > 0) cost_.latency_us = input.latency_us;
}

double Tuner::Predict(Algo algo, CollType coll, size_t bytes) const {
  const double n = input_.nranks;
  const double alpha = cost_.latency_us;
  const double us_per_byte = 1.0 / (cost_.gbps * 1e3);  // GB/s -> bytes per us
  const double s = static_cast<double>(bytes);
  if (input_.nranks <= 1) return 0;
  switch (algo) {
    case Algo::kRing:
      if (coll == CollType::kAllReduce)
        return 2 * (n - 1) * alpha + 2 * (n - 1) / n * s * us_per_byte;
      if (coll == CollType::kBroadcast || coll == CollType::kReduce)
        return (n - 1) * alpha + s * us_per_byte;  // pipelined chain
      return (n - 1) * alpha + (n - 1) / n * s * us_per_byte;
    case Algo::kTree:
      // Down (broadcast) or up (reduce) one tree: interior ranks send to, or receive from,
      // two children.
      if (coll == CollType::kBroadcast || coll == CollType::kReduce)
        return Log2Ceil(input_.nranks) * alpha + 2 * s * us_per_byte;
      // Up and down two trees of depth log2(N), each carrying half.
      return 2 * Log2Ceil(input_.nranks) * alpha + kTreeTraffic * s * us_per_byte;
    case Algo::kRecursiveDoubling:
      // log2(N) rounds (plus one each way for ranks beyond 2^k), each sending and reducing
      // the whole buffer: twice the bytes of a plain transfer.
      return (Log2Ceil(input_.nranks) + ((input_.nranks & (input_.nranks - 1)) ? 2 : 0)) *
             (alpha + 2 * s * us_per_byte);
  }
  return 0;
}

Algo Tuner::Choose(CollType coll, size_t bytes, std::vector<Prediction>* candidates,
                   bool* from_table) const {
  if (from_table) *from_table = false;
  Algo best = Algo::kRing;
  double best_time = -1;
  for (int a = 0; a < kNumAlgos; ++a) {
    const Algo algo = static_cast<Algo>(a);
    if (!allowed_.Allows(coll, algo)) continue;
    const double t = Predict(algo, coll, bytes);
    if (candidates) candidates->push_back({algo, t});
    if (best_time < 0 || t < best_time) best = algo, best_time = t;
  }
  Algo measured;
  if (measured_.Lookup(coll, input_.nranks, bytes, &measured) && allowed_.Allows(coll, measured)) {
    if (from_table) *from_table = true;
    return measured;
  }
  return best;
}

}  // namespace weft
