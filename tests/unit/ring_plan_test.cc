// Ring plans of N = 1..16 virtual ranks executed over the loopback transport, checked
// element by element against the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "collectives/algorithms/registry.h"
#include "collectives/algorithms/ring.h"
#include "collectives/plan_builder.h"
#include "common/dtype.h"
#include "tests/unit/loopback_harness.h"

namespace weft {
namespace {

using testing::HarnessCase;
using testing::RunOnLoopback;

const CollType kAllColls[] = {CollType::kAllReduce, CollType::kAllGather, CollType::kReduceScatter,
                              CollType::kBroadcast, CollType::kReduce};

std::vector<size_t> CountsFor(int n) {
  std::vector<size_t> counts = {
      0, 1, static_cast<size_t>(n - 1 > 0 ? n - 1 : 2), static_cast<size_t>(n + 1), 13, 97, 1000};
  return counts;
}

TEST(RingPlan, EveryCollectiveEveryRankCountUpTo16) {
  for (int n = 1; n <= 16; ++n) {
    for (CollType coll : kAllColls) {
      for (size_t count : CountsFor(n)) {
        for (bool in_place : {false, true}) {
          HarnessCase c;
          c.coll = coll;
          c.nranks = n;
          c.count = count;
          c.type = weftInt32;
          c.op = weftSum;
          c.root = n > 2 ? n / 2 + 1 : 0;
          c.in_place = in_place;
          c.chunking.nchannels = 1 + static_cast<int>(count % 3);
          c.chunking.chunk_elems = 1 + count % 7;
          std::string err = RunOnLoopback(c);
          ASSERT_EQ("", err) << testing::CaseName(c);
        }
      }
    }
  }
}

// Results nothing reads again are marked for streaming stores: the ring all-reduce's
// reductions that finish a segment; not a result a later step sends on (hier's reduce-scatter
// inside a host, then its all-gather from the output).
TEST(RingPlan, MarksOnlyResultsNoLaterStepReads) {
  const PlanShapes shapes = MakePlanShapes({0, 1}, {0, 0});
  Chunking chunking;
  chunking.chunk_elems = 64;
  for (Algo algo : {Algo::kRing, Algo::kHier}) {
    Plan plan;
    ASSERT_TRUE(BuildPlan(algo, CollType::kAllReduce, 0, shapes, 1000, 0, chunking, &plan).ok());
    size_t reducing = 0, marked = 0;
    for (const Step& st : plan.channels[0].steps) {
      reducing += StepReduces(st.kind) && st.dst.buf == BufferId::kOutput;
      marked += st.stream;
      EXPECT_TRUE(!st.stream || StepReduces(st.kind)) << plan.Describe();
    }
    ASSERT_GT(reducing, 0u);
    EXPECT_EQ(algo == Algo::kRing ? reducing : 0u, marked) << AlgoName(algo) << plan.Describe();
  }
}

TEST(RingPlan, EveryTypeAndOpThroughAllReduceAndReduceScatter) {
  for (int n : {2, 3, 5}) {
    for (int t = 0; t < weftNumTypes; ++t) {
      for (int op = 0; op < weftNumOps; ++op) {
        for (CollType coll : {CollType::kAllReduce, CollType::kReduceScatter, CollType::kReduce}) {
          HarnessCase c;
          c.coll = coll;
          c.nranks = n;
          c.count = 211;
          c.type = static_cast<weftDataType_t>(t);
          c.op = static_cast<weftRedOp_t>(op);
          c.root = n - 1;
          c.chunking.nchannels = 2;
          c.chunking.chunk_elems = 16;
          ASSERT_EQ("", RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

TEST(RingPlan, LargeCountsWithRendezvousAndTightStaging) {
  for (int n : {2, 3, 4, 7}) {
    for (CollType coll : kAllColls) {
      HarnessCase c;
      c.coll = coll;
      c.nranks = n;
      c.count = coll == CollType::kAllGather || coll == CollType::kReduceScatter ? 150001
                                                                                 : (1u << 20) + 3;
      c.type = weftFloat32;
      c.op = weftSum;
      c.root = 1 % n;
      c.chunking.nchannels = 3;
      c.chunking.chunk_elems = 8191;
      c.eager_limit = 1024;  // most messages take the rendezvous path
      c.fifo_slots = 2;      // the tightest
      ASSERT_EQ("", RunOnLoopback(c)) << testing::CaseName(c);
    }
  }
}

TEST(RingPlan, AnyRingOrderGivesTheSameResult) {
  std::mt19937 gen(7);
  for (int n : {3, 6, 9}) {
    std::vector<int> ring(n);
    for (int i = 0; i < n; ++i)
      ring[i] = i;
    for (int trial = 0; trial < 4; ++trial) {
      std::shuffle(ring.begin(), ring.end(), gen);
      for (CollType coll : kAllColls) {
        for (bool in_place : {false, true}) {
          HarnessCase c;
          c.coll = coll;
          c.nranks = n;
          c.count = 101;
          c.type = weftFloat16;
          c.op = coll == CollType::kAllReduce ? weftAvg : weftMax;
          c.root = trial % n;
          c.ring = ring;
          c.in_place = in_place;
          c.chunking.chunk_elems = 9;
          ASSERT_EQ("", RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

TEST(RingPlan, PrimesAndNonDivisibleCounts) {
  for (int n : {4, 8, 16}) {
    for (size_t count : {size_t{2}, size_t{3}, size_t{5}, size_t{7}, size_t{1009}, size_t{65537}}) {
      HarnessCase c;
      c.coll = CollType::kAllReduce;
      c.nranks = n;
      c.count = count;
      c.type = weftBfloat16;
      c.op = weftSum;
      c.chunking.nchannels = 4;
      c.chunking.chunk_elems = 1024;
      ASSERT_EQ("", RunOnLoopback(c)) << testing::CaseName(c);
    }
  }
}

TEST(RingPlan, RejectsBadInput) {
  Plan p;
  Chunking ch;
  EXPECT_EQ(weftInternalError, BuildRingPlan(CollType::kAllReduce, 0, {0, 0}, 4, 0, ch, &p).code());
  EXPECT_EQ(weftInvalidArgument,
            BuildRingPlan(CollType::kBroadcast, 0, {0, 1}, 4, 2, ch, &p).code());
  ch.nchannels = 0;
  EXPECT_EQ(weftInvalidArgument,
            BuildRingPlan(CollType::kAllReduce, 0, {0, 1}, 4, 0, ch, &p).code());
  ch.nchannels = 1;
  ch.chunk_elems = 1;
  // More messages on one link than a tag can number.
  EXPECT_EQ(weftInvalidArgument,
            BuildRingPlan(CollType::kAllGather, 0, {0, 1}, size_t{1} << 23, 0, ch, &p).code());
}

TEST(RingPlan, AllReduceStepShape) {
  // 4 ranks, one channel, one chunk per segment: 3 reduce-scatter steps, 3 all-gather steps.
  Plan p;
  Chunking ch;
  ch.chunk_elems = 1000;
  ASSERT_TRUE(BuildRingPlan(CollType::kAllReduce, 1, {0, 1, 2, 3}, 8, 0, ch, &p).ok());
  const auto& s = p.channels[0].steps;
  ASSERT_EQ(7u, s.size());  // Send, 2 x RecvReduceSend, RecvReduceCopySend, 2 x RecvCopySend, Recv
  EXPECT_EQ(StepKind::kSend, s[0].kind);
  EXPECT_EQ(StepKind::kRecvReduceSend, s[1].kind);
  EXPECT_EQ(StepKind::kRecvReduceCopySend, s[3].kind);
  EXPECT_TRUE(s[3].finalize);
  EXPECT_EQ(StepKind::kRecv, s[6].kind);
  for (const Step& st : s) {
    if (StepSends(st.kind)) {
      EXPECT_EQ(2, st.send_peer);
    }
    if (StepReceives(st.kind)) {
      EXPECT_EQ(0, st.recv_peer);
    }
  }
}

}  // namespace
}  // namespace weft
