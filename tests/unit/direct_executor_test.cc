// Ring plans on the shared-FIFO DirectExecutor, with the FIFOs in this process's memory:
// N = 2..16 ranks, every collective, the tightest FIFO (2 slots), any ring order, and
// several collectives back to back on the same FIFOs (their counters carry over).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "collectives/algorithms/ring.h"
#include "collectives/direct_executor.h"
#include "tests/unit/loopback_harness.h"

namespace weft {
namespace {

using testing::HarnessCase;

const CollType kAllColls[] = {CollType::kAllReduce, CollType::kAllGather, CollType::kReduceScatter,
                              CollType::kBroadcast, CollType::kReduce};

TEST(DirectExecutor, EveryCollectiveEveryRankCount) {
  for (int n = 2; n <= 16; ++n) {
    for (CollType coll : kAllColls) {
      for (size_t count : {size_t{1}, static_cast<size_t>(n - 1), static_cast<size_t>(n + 1),
                           size_t{97}, size_t{5000}}) {
        for (bool in_place : {false, true}) {
          HarnessCase c;
          c.direct = true;
          c.coll = coll;
          c.nranks = n;
          c.count = count;
          c.type = weftInt32;
          c.op = weftSum;
          c.root = n / 2;
          c.in_place = in_place;
          c.chunking.nchannels = 1 + static_cast<int>(count % 2);
          c.chunking.chunk_elems = 1 + count % 13;
          c.fifo_slots = 2 + static_cast<int>(count % 3);
          ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

TEST(DirectExecutor, EveryTypeAndOpAnyRing) {
  std::mt19937 gen(11);
  for (int n : {2, 3, 5}) {
    std::vector<int> ring(n);
    for (int i = 0; i < n; ++i)
      ring[i] = i;
    std::shuffle(ring.begin(), ring.end(), gen);
    for (int t = 0; t < weftNumTypes; ++t) {
      for (int op = 0; op < weftNumOps; ++op) {
        HarnessCase c;
        c.direct = true;
        c.nranks = n;
        c.ring = ring;
        c.count = 1001;
        c.type = static_cast<weftDataType_t>(t);
        c.op = static_cast<weftRedOp_t>(op);
        c.chunking.chunk_elems = 64;
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(DirectExecutor, RejectsPlansItCannotRun) {
  Plan p;
  Chunking ch;
  ch.chunk_elems = 100;
  ASSERT_TRUE(BuildRingPlan(CollType::kAllReduce, 0, {0, 1, 2}, 1000, 0, ch, &p).ok());
  EXPECT_TRUE(DirectExecutor::CanRun(p, 2, 1, 400, weftFloat32));
  EXPECT_FALSE(DirectExecutor::CanRun(p, 2, 1, 399, weftFloat32));  // chunk > slot
  EXPECT_FALSE(DirectExecutor::CanRun(p, 1, 2, 400, weftFloat32));  // other neighbours
}

}  // namespace
}  // namespace weft
