#include "collectives/tuner.h"

#include <algorithm>
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

// All-gather by one-copy reads, per byte, against the ring's: each byte is copied once where
// a hop through a shared FIFO copies it twice, but pinning the peer's pages for
// process_vm_readv costs more than that saves while the FIFOs stay in cache: 1.3 with a core
// per rank (measured here, 256 KiB-16 MiB). With more ranks than cores the ring's chain of
// dependent hops stalls on the scheduler and the reads, which depend on nothing, win by
// about the number of ranks per core (3x at 4 ranks on 2 cores).
constexpr double kOneCopyTraffic = 1.3;

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
      // With more ranks than cores the two trees' pipelines stall on the scheduler more
      // than the ring's single one: measured here, at 4 ranks per core the tree moved bytes
      // about 2x slower relative to the ring than with a core per rank.
      return 2 * Log2Ceil(input_.nranks) * alpha +
             kTreeTraffic * std::max(1.0, input_.ranks_per_core / 2) * s * us_per_byte;
    case Algo::kDirect:
      // Two control hand-offs (address, done) and a read from each peer (a system call).
      if (coll == CollType::kBroadcast)  // every reader copies the root's whole buffer
        return 3 * alpha + (n - 1) * s * us_per_byte;
      return (n + 1) * alpha +
             (n - 1) / n * kOneCopyTraffic / std::max(1.0, input_.ranks_per_core) * s * us_per_byte;
    case Algo::kRecursiveDoubling:
      // log2(N) rounds (plus one each way for ranks beyond 2^k), each sending and reducing
      // the whole buffer: twice the bytes of a plain transfer.
      return (Log2Ceil(input_.nranks) + ((input_.nranks & (input_.nranks - 1)) ? 2 : 0)) *
             (alpha + 2 * s * us_per_byte);
  }
  return 0;
}

bool Tuner::Usable(CollType coll, Algo algo) const {
  return allowed_.Allows(coll, algo) && (algo != Algo::kDirect || input_.one_copy);
}

Algo Tuner::Choose(CollType coll, size_t bytes, std::vector<Prediction>* candidates,
                   bool* from_table) const {
  if (from_table) *from_table = false;
  Algo best = Algo::kRing;
  double best_time = -1;
  for (int a = 0; a < kNumAlgos; ++a) {
    const Algo algo = static_cast<Algo>(a);
    if (!Usable(coll, algo)) continue;
    const double t = Predict(algo, coll, bytes);
    if (candidates) candidates->push_back({algo, t});
    if (best_time < 0 || t < best_time) best = algo, best_time = t;
  }
  Algo measured;
  if (measured_.Lookup(coll, input_.nranks, bytes, &measured) && Usable(coll, measured)) {
    if (from_table) *from_table = true;
    return measured;
  }
  return best;
}

}  // namespace weft
