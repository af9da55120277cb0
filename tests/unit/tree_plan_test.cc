// Double-binary-tree all-reduce plans for N = 1..33 virtual ranks over the loopback
// transport: every type and op, in and out of place, counts 0, 1, < N, large, tight
// staging and rendezvous-sized messages; trees across hosts with chains inside.
#include <gtest/gtest.h>

#include "collectives/algorithms/tree.h"
#include "tests/unit/loopback_harness.h"

namespace weft {
namespace {

using testing::HarnessCase;

TEST(TreePlan, EveryRankCountUpTo33) {
  for (int n = 1; n <= 33; ++n) {
    for (size_t count : {size_t{0}, size_t{1}, static_cast<size_t>(n > 1 ? n - 1 : 1), size_t{1000},
                         size_t{65537}}) {
      if (count == 65537 && n % 8 != 1) continue;  // large counts: a few sizes suffice
      for (bool in_place : {false, true}) {
        HarnessCase c;
        c.algorithm = Algo::kTree;
        c.nranks = n;
        c.count = count;
        c.type = weftInt32;
        c.op = weftSum;
        c.in_place = in_place;
        c.chunking.chunk_elems = 1 + count / 7;
        c.eager_limit = 128;  // most messages take the rendezvous path
        c.fifo_slots = 2;     // the tightest
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(TreePlan, EveryTypeAndOp) {
  for (int n : {2, 5, 8, 13}) {
    for (int t = 0; t < weftNumTypes; ++t) {
      for (int op = 0; op < weftNumOps; ++op) {
        HarnessCase c;
        c.algorithm = Algo::kTree;
        c.nranks = n;
        c.count = 301;
        c.type = static_cast<weftDataType_t>(t);
        c.op = static_cast<weftRedOp_t>(op);
        c.chunking.chunk_elems = 32;
        c.in_place = (t + op) % 2 == 1;
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(TreePlan, AcrossHostsWithChains) {
  for (int hosts : {1, 2, 3, 5}) {
    for (int per_host : {1, 2, 4}) {
      HarnessCase c;
      c.algorithm = Algo::kTree;
      c.nranks = hosts * per_host;
      c.tree_ranks_per_host = per_host;
      c.count = 10007;
      c.type = weftFloat32;
      c.op = weftAvg;
      c.chunking.chunk_elems = 500;
      ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c) << " hosts=" << hosts;
    }
  }
}

TEST(TreePlan, BroadcastFromEveryRoot) {
  for (int n = 1; n <= 17; ++n) {
    for (int root = 0; root < n; ++root) {
      for (bool in_place : {false, true}) {
        HarnessCase c;
        c.algorithm = Algo::kTree;
        c.coll = CollType::kBroadcast;
        c.nranks = n;
        c.root = root;
        c.count = 1000 + static_cast<size_t>(root);
        c.type = weftInt32;
        c.in_place = in_place;
        c.chunking.chunk_elems = 97;
        c.eager_limit = 64;
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(TreePlan, ReduceToEveryRootEveryOp) {
  for (int n = 1; n <= 17; ++n) {
    for (int root = 0; root < n; ++root) {
      for (int op = 0; op < weftNumOps; ++op) {
        HarnessCase c;
        c.algorithm = Algo::kTree;
        c.coll = CollType::kReduce;
        c.nranks = n;
        c.root = root;
        c.count = 700 + static_cast<size_t>(root);
        c.type = op % 2 ? weftFloat32 : weftInt64;
        c.op = static_cast<weftRedOp_t>(op);
        c.in_place = (root + op) % 2 == 1;
        c.chunking.chunk_elems = 97;
        c.eager_limit = 64;
        c.fifo_slots = 2;
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(TreePlan, RerootKeepsTheShape) {
  const std::vector<int> ring = {3, 0, 2, 1, 4};
  const Tree t = DoubleBinaryTrees(5)[0];
  for (int root = 0; root < 5; ++root) {
    Tree r = RerootTree(t, ring, root);
    EXPECT_EQ(root, r.root);
    EXPECT_EQ(-1, r.parent[root]);
    size_t edges = 0;
    for (const auto& kids : r.children)
      edges += kids.size();
    EXPECT_EQ(4u, edges);
  }
}

TEST(TreePlan, LatencyIsLogarithmic) {
  // One chunk, 32 ranks: the root's channel does at most 2 receives up and 2 sends down.
  Plan p;
  Chunking ch;
  ch.chunk_elems = 1 << 20;
  const auto trees = DoubleBinaryTrees(32);
  ASSERT_TRUE(BuildTreeAllReducePlan(trees[0].root, trees, 100, ch, &p).ok());
  EXPECT_LE(p.channels[0].steps.size(), 4u);
}

}  // namespace
}  // namespace weft
