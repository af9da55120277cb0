#include "collectives/algorithms/one_shot.h"

#include <algorithm>
#include <limits>

#include "collectives/algorithms/algorithm.h"
#include "collectives/collective.h"
#include "collectives/reduce/host_formats.h"
#include "collectives/reduce/reduce_ops.h"

namespace weft {

size_t OneShotScratch::Bytes(int nranks, size_t max_bytes) {
  return 2 * static_cast<size_t>(nranks) * proto::OneShotLines(max_bytes) * sizeof(proto::LlLine);
}

proto::OneShotColl ToOneShotColl(CollType c) {
  static_assert(
      static_cast<int>(CollType::kReduce) == static_cast<int>(proto::OneShotColl::kReduce),
      "the protocol numbers the collectives as CollType does");
  return static_cast<proto::OneShotColl>(static_cast<int>(c));
}

Status BuildOneShotPlan(CollType coll, int rank, int nranks, size_t count, int root, Plan* out) {
  WEFT_REQUIRE(nranks >= 1 && rank >= 0 && rank < nranks && root >= 0 && root < nranks,
               weftInvalidArgument, "rank %d, root %d of %d", rank, root, nranks);
  Plan plan = Plan::Empty(coll, rank, nranks, InputCount(coll, count, nranks),
                          OutputCount(coll, count, nranks), 1);
  plan.root = root;
  if (count > 0) {
    Step* st =
        plan.channels[0].Add(StepKind::kOneShot, -1, -1, {BufferId::kInput, 0, plan.input_count},
                             {BufferId::kOutput, 0, plan.output_count});
    st->count = count;  // one block
    st->finalize = true;
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

bool OneShotTakesType(weftDataType_t type) {
  return VisitHostFormat(type, false, [](auto) { return true; });
}

proto::WaitResult RunOneShotOnHost(weftDataType_t type, weftRedOp_t op,
                                   const proto::OneShotArgs& a) {
  return VisitHostFormat(type, proto::WaitResult::kAborted, [&](auto f) {
    return VisitOp(op, [&](auto o) {
      using F = typename decltype(f)::type;
      using Op = typename decltype(o)::type;
      return proto::OneShot<F, Op>(a, 0, 1);
    });
  });
}

namespace {

// Measured here (2 ranks, a core each; docs/performance.md): an 8-byte call takes 0.30 us,
// where recursive doubling's one hop through the FIFOs takes 0.41-0.50 us; each further
// line costs about 10 ns per peer (its two 8-byte stores into the peer's scratch, the
// peer's loads and flag checks, all scalar), where the FIFOs move whole cache lines.
constexpr double kLlHopShare = 0.7;  // of a FIFO hand-off
constexpr double kLlLinePerPeerUs = 0.010;
// With more ranks than cores, a line costs a scheduler's turn more often than not.
constexpr double kLlLinePerPeerSharedCoresUs = 0.1;

Status BuildOneShot(CollType coll, int rank, const PlanShapes& shapes, size_t count, int root,
                    const Chunking&, Plan* out) {
  return BuildOneShotPlan(coll, rank, static_cast<int>(shapes.ring.size()), count, root, out);
}

// The bytes of one rank's block in a call of `bytes` (CallBytes: all-gather's output,
// reduce-scatter's input are n blocks).
size_t BlockBytes(const CostModel& m, CollType coll, size_t bytes) {
  return CountForBytes(coll, bytes, 1, m.in.nranks);
}

double PredictOneShot(const CostModel& m, CollType coll, size_t bytes) {
  const double n = m.in.nranks;
  const double lines = static_cast<double>(proto::OneShotLines(BlockBytes(m, coll, bytes)));
  // With more ranks than cores every rank must have run its stores before any finishes,
  // and the waiters only yield (nothing announces an LL line): a round of the scheduler per
  // rank (4 ranks on 2 cores: 28 us for 8 bytes, where the trees take 3.3 us).
  if (m.in.ranks_per_core > 1)
    return n * n * m.between.latency_us + lines * (n - 1) * kLlLinePerPeerSharedCoresUs;
  // Every collective stores and loads about (n-1) blocks of lines at its busiest rank (the
  // root of a broadcast stores them, the root of a reduce loads them). The rooted ones wait
  // for the tokens too: a whole hand-off (2 ranks, 8 bytes: broadcast 0.33 us, reduce 0.31,
  // where the chain's one message takes 0.33 and 0.28).
  const bool rooted = coll == CollType::kBroadcast || coll == CollType::kReduce;
  return (rooted ? 1.0 : kLlHopShare) * m.between.latency_us + lines * (n - 1) * kLlLinePerPeerUs;
}

const char* RefusesOneShot(const JobShape& job) {
  if (job.nhosts > 1) return "the one-shot scratch is shared memory: every rank on one host";
  if (!job.one_shot)
    return "no one-shot scratch (more than 8 ranks, no shared memory, or "
           "WEFT_ONE_SHOT_MAX_BYTES=0)";
  return nullptr;
}

bool TakesOneShot(const CostModel& m, CollType coll, size_t bytes, weftDataType_t type) {
  return BlockBytes(m, coll, bytes) <= m.in.one_shot_max_bytes && OneShotTakesType(type);
}

}  // namespace

extern const AlgorithmInfo kOneShotAlgorithm{
    Algo::kOneShot,
    "oneshot",
    "one hop: every rank stores what each peer needs of its input as LL lines into the "
    "peer's scratch, and each builds its output from them (reductions in rank order); "
    "ranks of one host, small calls (WEFT_ONE_SHOT_MAX_BYTES per block)",
    CollBit(CollType::kAllReduce) | CollBit(CollType::kAllGather) |
        CollBit(CollType::kReduceScatter) | CollBit(CollType::kBroadcast) |
        CollBit(CollType::kReduce),
    BuildOneShot,
    PredictOneShot,
    RefusesOneShot,
    false,
    TakesOneShot,
};

}  // namespace weft
