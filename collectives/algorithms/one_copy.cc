#include "collectives/algorithms/one_copy.h"

#include <algorithm>

#include "collectives/algorithms/algorithm.h"

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

Status BuildOneCopy(CollType coll, int rank, const PlanShapes& shapes, size_t count, int root,
                    const Chunking&, Plan* out) {
  const int n = static_cast<int>(shapes.ring.size());
  return coll == CollType::kBroadcast ? BuildOneCopyBroadcastPlan(rank, n, count, root, out)
                                      : BuildOneCopyAllGatherPlan(rank, n, count, out);
}

double PredictOneCopy(const CostModel& m, CollType coll, size_t bytes) {
  const double n = m.in.nranks, alpha = m.between.latency_us, s = static_cast<double>(bytes);
  // Two control hand-offs (address, done) and a read from each peer (a system call).
  if (coll == CollType::kBroadcast)  // every reader copies the root's whole buffer
    return 3 * alpha + (n - 1) * s * m.us_per_byte();
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
    "one-copy reads: each rank reads its peers' buffers (process_vm_readv); ranks of one host",
    CollBit(CollType::kAllGather) | CollBit(CollType::kBroadcast),
    BuildOneCopy,
    PredictOneCopy,
    RefusesOneCopy,
    false,
};

}  // namespace weft
