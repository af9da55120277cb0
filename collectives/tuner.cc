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
  inside_ = CostOf(TransportKind::kSharedMemory);
  if (input.inside.gbps > 0) inside_.gbps = input.inside.gbps;
  if (input.inside.latency_us > 0) inside_.latency_us = input.inside.latency_us;
}

double Tuner::PredictAcrossHosts(Algo algo, CollType coll, size_t bytes) const {
  const int n = input_.nranks;
  const int hosts = std::min(input_.nhosts, n);
  const int per_host = (n + hosts - 1) / hosts;
  const double s = static_cast<double>(bytes);
  const double between = cost_.latency_us, within = inside_.latency_us;
  // Every algorithm's data crosses both kinds of link at their full rate, one stream per
  // link (the ring enters each host once; the trees' edges between hosts are few), so the
  // slower link sets the rate; the one exception is below (recursive doubling). With one
  // rank per host too: what arrives is still copied or reduced in host memory, at about
  // the rate of a hop inside a host.
  const double us_per_byte = 1.0 / (std::min(cost_.gbps, inside_.gbps) * 1e3);
  // A ring crosses `hosts` host boundaries per lap of n hops: the critical path of its
  // steps goes through the hops in that proportion.
  const double ring_hop = (hosts * between + (n - hosts) * within) / n;
  // The trees' longest path, its hops between hosts at the network's latency (as the
  // communicator counts them on its trees; without that, the trees over the ring order keep
  // about log2(per_host) levels inside each host and log2(hosts) above them).
  const int depth = input_.tree_depth > 0 ? input_.tree_depth : Log2Ceil(n);
  const int crossing = input_.tree_depth > 0 ? input_.tree_hops_between_hosts : Log2Ceil(hosts);
  const double tree_path = crossing * between + (depth - crossing) * within;
  switch (algo) {
    case Algo::kRing: {
      if (coll == CollType::kBroadcast || coll == CollType::kReduce)
        return (n - 1) * ring_hop + s * us_per_byte;
      // Each step moves a segment of s/n: each channel's share waits for the hop, crosses
      // the link and is reduced (or copied) before the next step sends it on, while the
      // other channels' shares keep the link busy. A step takes the longer of the link
      // time of all channels' shares and one channel's chain (weft-sim: within 2% of this
      // on 64 hosts of 8 ranks from 4 MiB up, where the flat sum of hop latencies and
      // transfer time was 22% over).
      // With one rank per host the NIC is the only link (the reduction, which the flat rate
      // above stands for, is in the chain here).
      const double link_us_per_byte = per_host > 1 ? us_per_byte : 1.0 / (cost_.gbps * 1e3);
      const int c = std::max(1, input_.nchannels);
      const double segment = s / n, share = segment / c;
      const double chain =
          ring_hop + share * link_us_per_byte + share / (std::max(0.1, input_.reduce_gbps) * 1e3);
      const double step = std::max(segment * link_us_per_byte, chain);
      return (coll == CollType::kAllReduce ? 2 : 1) * (n - 1) * step;
    }
    case Algo::kTree: {
      // Up and down (all-reduce: both, each tree carrying half of the buffer, so that each
      // rank sends and receives the buffer about twice, as in the ring: weft-sim), or one
      // way with two children to feed (broadcast, reduce). Each phase is a pipeline of
      // chunks log2(n) hops deep: until it fills, a chunk waits at every hop, which for a
      // buffer of a chunk or two costs more than the whole transfer.
      const bool one_way = coll == CollType::kBroadcast || coll == CollType::kReduce;
      const double piece = one_way ? s : s / 2;  // what one tree carries
      const double fill =
          depth * std::min(piece, static_cast<double>(input_.chunk_bytes)) * us_per_byte;
      if (one_way) return tree_path + fill + 2 * s * us_per_byte;
      // Per phase each rank moves about the buffer through its port, and each tree edge
      // between hosts carries its tree's half through a NIC shared with the host's other
      // such edges. On the way up, the interior rank of each tree reduces its two
      // children's halves besides (weft-sim: not hidden behind the transfers).
      const double nic = std::max(1, input_.tree_nic_edges) * piece / (cost_.gbps * 1e3);
      const double reduce = s / (std::max(0.1, input_.reduce_gbps) * 1e3);
      return 2 * (tree_path + fill + std::max(s * us_per_byte, nic)) + reduce;
    }
    case Algo::kRecursiveDoubling: {
      // Rounds with partners inside the host, then rounds between hosts, in which every
      // rank of a host sends its whole buffer through the host's one NIC at once: a round
      // takes the longer of the rank's port and that shared NIC (weft-sim: within 8% at
      // 2-32 KiB on 64 hosts of 8, where their sum was 41% high at 8 KiB).
      const int rounds = Log2Ceil(n) + ((n & (n - 1)) ? 2 : 0);
      const int across = std::min(rounds, Log2Ceil(hosts));
      const double port = s / (inside_.gbps * 1e3);
      const double inside_round = within + port;
      const double across_round = between + std::max(port, per_host * s / (cost_.gbps * 1e3));
      return (rounds - across) * inside_round + across * across_round;
    }
    case Algo::kDirect:
      break;  // one host only
  }
  return 0;
}

double Tuner::Predict(Algo algo, CollType coll, size_t bytes) const {
  const double n = input_.nranks;
  const double alpha = cost_.latency_us;
  const double us_per_byte = 1.0 / (cost_.gbps * 1e3);  // GB/s -> bytes per us
  const double s = static_cast<double>(bytes);
  if (input_.nranks <= 1) return 0;
  if (input_.nhosts > 1) return PredictAcrossHosts(algo, coll, bytes);
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
  return allowed_.Allows(coll, algo) &&
         (algo != Algo::kDirect || (input_.one_copy && input_.nhosts <= 1));
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
