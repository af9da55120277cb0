// Recursive-doubling all-reduce plans for N = 1..33 virtual ranks (powers of two and not)
// over the loopback transport, every type and op, in and out of place.
#include <gtest/gtest.h>

#include "collectives/algorithms/recursive_doubling.h"
#include "tests/unit/loopback_harness.h"

namespace weft {
namespace {

using testing::HarnessCase;

TEST(RecursiveDoubling, EveryRankCountUpTo33) {
  for (int n = 1; n <= 33; ++n) {
    for (size_t count : {size_t{0}, size_t{1}, size_t{3}, size_t{100}, size_t{4099}}) {
      for (bool in_place : {false, true}) {
        HarnessCase c;
        c.algorithm = Algo::kRecursiveDoubling;
        c.nranks = n;
        c.count = count;
        c.type = weftInt64;
        c.op = weftSum;
        c.in_place = in_place;
        c.eager_limit = 64;  // most messages rendezvous: the fence must hold
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(RecursiveDoubling, EveryTypeAndOp) {
  for (int n : {2, 3, 6, 8}) {
    for (int t = 0; t < weftNumTypes; ++t) {
      for (int op = 0; op < weftNumOps; ++op) {
        HarnessCase c;
        c.algorithm = Algo::kRecursiveDoubling;
        c.nranks = n;
        c.count = 37;
        c.type = static_cast<weftDataType_t>(t);
        c.op = static_cast<weftRedOp_t>(op);
        c.in_place = (t + op) % 2 == 0;
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(RecursiveDoubling, RoundsAreLogarithmic) {
  Plan p;
  ASSERT_TRUE(BuildRecursiveDoublingPlan(0, 8, 10, 1 << 20, &p).ok());
  EXPECT_EQ(6u, p.channels[0].steps.size());  // 3 rounds of send + receive-reduce
  ASSERT_TRUE(BuildRecursiveDoublingPlan(5, 6, 10, 1 << 20, &p).ok());  // beyond the power of two
  EXPECT_EQ(2u, p.channels[0].steps.size());  // hand over the input, get the result
  ASSERT_TRUE(BuildRecursiveDoublingPlan(1, 6, 10, 1 << 20, &p).ok());  // partner of rank 5
  EXPECT_EQ(6u, p.channels[0].steps.size());  // take 5's input, 2 rounds, give back
  EXPECT_FALSE(BuildRecursiveDoublingPlan(6, 6, 10, 1 << 20, &p).ok());
}

}  // namespace
}  // namespace weft
