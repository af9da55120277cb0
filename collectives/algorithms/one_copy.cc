#include "collectives/algorithms/one_copy.h"

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
