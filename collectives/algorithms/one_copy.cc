#include "collectives/algorithms/one_copy.h"

#include <algorithm>
#include <cmath>

#include "collectives/algorithms/algorithm.h"
#include "collectives/algorithms/ring_parts.h"

namespace weft {

Status BuildOneCopyAllGatherPlan(int rank, int nranks, size_t count, Plan* out) {
  WEFT_REQUIRE(nranks >= 1 && rank >= 0 && rank < nranks, weftInvalidArgument, "rank %d of %d",
               rank, nranks);
  Plan plan = Plan::Empty(CollType::kAllGather, rank, nranks, count, count * nranks, 1);
  ChannelPlan& ch = plan.channels[0];
  const Region in{BufferId::kInput, 0, count};
  if (count > 0) {
    for (int k = 1; k < nranks; ++k)
      ch.Add(StepKind::kPostAddress, (rank + k) % nranks, -1, in, {});
    ch.Add(StepKind::kCopy, -1, -1, in, {BufferId::kOutput, rank * count, count});
    // Start with the next rank's block: ranks read different peers at the same time.
    for (int k = 1; k < nranks; ++k) {
      const int peer = (rank + k) % nranks;
      ch.Add(StepKind::kReadPeer, -1, peer, {}, {BufferId::kOutput, peer * count, count});
    }
    for (int k = 1; k < nranks; ++k)
      ch.Add(StepKind::kSignal, (rank + k) % nranks, -1, {}, {});
    for (int k = 1; k < nranks; ++k)
      ch.Add(StepKind::kWaitSignal, -1, (rank + nranks - k) % nranks, {}, {});
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

Status BuildOneCopyAllReducePlan(int rank, int nranks, size_t count, size_t block, Plan* out) {
  WEFT_REQUIRE(nranks >= 1 && rank >= 0 && rank < nranks && block > 0, weftInvalidArgument,
               "rank %d of %d, blocks of %zu", rank, nranks, block);
  Plan plan = Plan::Empty(CollType::kAllReduce, rank, nranks, count, count, 1);
  ChannelPlan& ch = plan.channels[0];
  // This rank's slice: the segment the ring's reduce-scatter would leave it.
  const Piece slice = SplitEven(count, static_cast<size_t>(nranks), static_cast<size_t>(rank));
  const size_t begin = slice.offset, size = slice.size;
  auto peer_of = [&](int k) { return (rank + k) % nranks; };
  if (count > 0 && nranks == 1) {
    ch.Add(StepKind::kCopy, -1, -1, {BufferId::kInput, 0, count}, {BufferId::kOutput, 0, count})
        ->finalize = true;
  } else if (count > 0) {
    for (BufferId buf : {BufferId::kInput, BufferId::kOutput})
      for (int k = 1; k < nranks; ++k)
        ch.Add(StepKind::kPostAddress, peer_of(k), -1, {buf, 0, count}, {});
    for (BufferId buf : {BufferId::kInput, BufferId::kOutput})
      for (int k = 1; k < nranks; ++k)
        ch.Add(StepKind::kRecvAddress, -1, peer_of(k), {}, {})->peer_mem = {buf, 0, 0};
    for (size_t at = begin; at < begin + size; at += block) {
      const size_t len = std::min(block, begin + size - at);
      const Region in{BufferId::kInput, at, len}, mine{BufferId::kOutput, at, len};
      for (int k = 1; k < nranks; ++k) {  // mine = in op peer 1's op peer 2's ...
        Step* st = ch.Add(StepKind::kReducePeer, -1, -1, k == 1 ? in : mine, mine);
        st->mem_peer = peer_of(k);
        st->peer_mem = {BufferId::kInput, at, len};
        st->finalize = k == nranks - 1;
        st->peer_write = nranks == 2;
      }
      for (int k = 1; nranks > 2 && k < nranks; ++k) {
        Step* st = ch.Add(StepKind::kWritePeer, -1, -1, mine, {});
        st->mem_peer = peer_of(k);
        st->peer_mem = {BufferId::kOutput, at, len};
      }
    }
    for (int k = 1; k < nranks; ++k)
      ch.Add(StepKind::kSignal, peer_of(k), -1, {}, {});
    for (int k = 1; k < nranks; ++k)
      ch.Add(StepKind::kWaitSignal, -1, peer_of(nranks - k), {}, {});
    plan.scratch_count = std::min(block, size);
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

Status BuildOneCopyBroadcastPlan(int rank, int nranks, size_t count, int root, Plan* out) {
  WEFT_REQUIRE(nranks >= 1 && rank >= 0 && rank < nranks && root >= 0 && root < nranks,
               weftInvalidArgument, "rank %d, root %d of %d", rank, root, nranks);
  Plan plan = Plan::Empty(CollType::kBroadcast, rank, nranks, count, count, 1);
  ChannelPlan& ch = plan.channels[0];
  const Region in{BufferId::kInput, 0, count}, whole{BufferId::kOutput, 0, count};
  if (count > 0) {
    if (rank == root) {
      for (int k = 1; k < nranks; ++k)
        ch.Add(StepKind::kPostAddress, (rank + k) % nranks, -1, in, {});
      ch.Add(StepKind::kCopy, -1, -1, in, whole);
      for (int k = 1; k < nranks; ++k)
        ch.Add(StepKind::kWaitSignal, -1, (rank + k) % nranks, {}, {});
    } else {
      ch.Add(StepKind::kReadPeer, -1, root, {}, whole);
      ch.Add(StepKind::kSignal, root, -1, {}, {});
    }
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

}  // namespace weft

namespace weft {
namespace {

// All-gather by one-copy reads, per byte, against the ring's: each byte is copied once where
// a hop through a shared FIFO copies it twice, but pinning the peer's pages for
// process_vm_readv costs more than that saves while the FIFOs stay in cache: 1.3 with a core
// per rank (measured here, 256 KiB-16 MiB). With more ranks than cores the ring's chain of
// dependent hops stalls on the scheduler and the reads, which depend on nothing, win by
// about the number of ranks per core (3x at 4 ranks on 2 cores).
constexpr double kOneCopyTraffic = 1.3;
// All-reduce by kernel copies while the ranks' buffers (n inputs of s bytes, as many outputs)
// fit the last-level cache (32 MiB on the CI machine): about half the ring's cost there.
constexpr double kOneCopyCachedTraffic = 0.55;
constexpr double kOneCopyCachedBytes = 8.0 * (1 << 20);
// One process_vm_readv or _writev call, besides its bytes (pinning the pages, the address
// space's lock): about 4 us here (an 8-byte all-reduce by kernel copies takes 11 us on 2
// ranks, 2 calls and 3 hand-offs).
constexpr double kKernelCopyCallUs = 4.0;

Status BuildOneCopy(CollType coll, int rank, const PlanShapes& shapes, size_t count, int root,
                    const Chunking& chunking, Plan* out) {
  const int n = static_cast<int>(shapes.ring.size());
  switch (coll) {
    case CollType::kBroadcast:
      return BuildOneCopyBroadcastPlan(rank, n, count, root, out);
    case CollType::kAllReduce:
      // A chunk per block: read back for the peers' outputs (more than 2 ranks) while it is
      // still in cache.
      return BuildOneCopyAllReducePlan(rank, n, count, chunking.chunk_elems, out);
    default:
      return BuildOneCopyAllGatherPlan(rank, n, count, out);
  }
}

double PredictOneCopy(const CostModel& m, CollType coll, size_t bytes) {
  const double n = m.in.nranks, alpha = m.between.latency_us, s = static_cast<double>(bytes);
  // Two control hand-offs (address, done) and a read from each peer (a system call).
  if (coll == CollType::kBroadcast)  // every reader copies the root's whole buffer
    return 3 * alpha + (n - 1) * s * m.us_per_byte();
  // All-reduce: the addresses (input, output), the done signals, then each rank reads and
  // writes (n-1)/n of the vector in its peers' memory. The tuner does not know whether a
  // call's buffers are registered (the ranks would have to agree per call): it costs the
  // kernel copies, which beat the ring's two copies through FIFOs while every rank's input
  // and output stay in the last-level cache and lose beyond (2 ranks: 1.8-2x the ring at
  // 1-4 MiB, 0.7-0.9x at 16-64 MiB, docs/performance.md).
  if (coll == CollType::kAllReduce) {
    const double traffic = n * s <= kOneCopyCachedBytes ? kOneCopyCachedTraffic : kOneCopyTraffic;
    const double per_core = std::max(1.0, m.in.ranks_per_core);
    // A read and a write through the kernel per peer and block of the own slice.
    const double blocks = std::max(1.0, std::ceil(s / n / static_cast<double>(m.in.chunk_bytes)));
    return 3 * alpha + 2 * (n - 1) * blocks * kKernelCopyCallUs * per_core +
           2 * (n - 1) / n * traffic / per_core * s * m.us_per_byte();
  }
  return (n + 1) * alpha +
         (n - 1) / n * kOneCopyTraffic / std::max(1.0, m.in.ranks_per_core) * s * m.us_per_byte();
}

const char* RefusesOneCopy(const JobShape& job) {
  if (job.nhosts > 1) return "one-copy reads need every rank on one host";
  if (!job.one_copy) return "the ranks cannot read each other's memory (or WEFT_ONE_COPY=0)";
  return nullptr;
}

}  // namespace

extern const AlgorithmInfo kOneCopyAlgorithm{
    Algo::kDirect,
    "direct",
    "one-copy reads and writes of the peers' buffers, in place where registered "
    "(weftMemAlloc), else process_vm_readv/writev; ranks of one host",
    CollBit(CollType::kAllReduce) | CollBit(CollType::kAllGather) | CollBit(CollType::kBroadcast),
    BuildOneCopy,
    PredictOneCopy,
    RefusesOneCopy,
    false,
};

}  // namespace weft
