#include "collectives/algorithms/recursive_doubling.h"

namespace weft {

Status BuildRecursiveDoublingPlan(int rank, int nranks, size_t count, Plan* out) {
  WEFT_REQUIRE(nranks >= 1 && rank >= 0 && rank < nranks, weftInvalidArgument, "rank %d of %d",
               rank, nranks);
  Plan plan = Plan::Empty(CollType::kAllReduce, rank, nranks, count, count, 1);
  ChannelPlan& channel = plan.channels[0];
  std::vector<Step>& steps = channel.steps;
  const Region in{BufferId::kInput, 0, count}, out_region{BufferId::kOutput, 0, count};
  auto step = [&](StepKind kind, int send_peer, int recv_peer, Region src, Region dst) {
    return channel.Add(kind, send_peer, recv_peer, src, dst);
  };
  if (count > 0) {
    int p2 = 1;
    while (p2 * 2 <= nranks)
      p2 *= 2;
    const int extra = nranks - p2;
    if (nranks == 1) {
      step(StepKind::kCopy, -1, -1, in, out_region)->finalize = true;
    } else if (rank >= p2) {
      // Hand the input to a partner inside the power of two; get the result back.
      step(StepKind::kSend, rank - p2, -1, in, {});
      step(StepKind::kRecv, -1, rank - p2, {}, out_region);
    } else {
      Region acc = in;  // where this rank's partial result is
      if (rank < extra) {
        step(StepKind::kRecvReduceCopy, -1, rank + p2, in, out_region);
        acc = out_region;
      }
      for (int dist = 1; dist < p2; dist *= 2) {
        const int partner = rank ^ dist;
        step(StepKind::kSend, partner, -1, acc, {});
        // Overwrites what the send above reads (in place, even in the first round): wait
        // for the send to complete (fence).
        step(StepKind::kRecvReduceCopy, -1, partner, acc, out_region)->fence = true;
        acc = out_region;
      }
      // The last reduction produced the final value.
      for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
        if (it->kind == StepKind::kRecvReduceCopy) {
          it->finalize = true;
          break;
        }
      }
      if (rank < extra) step(StepKind::kSend, rank + p2, -1, out_region, {});
    }
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

}  // namespace weft
