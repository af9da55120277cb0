// The tuner on synthetic jobs: one host x 8 GPUs on NVLink, 64 hosts x 8 GPUs on
// InfiniBand, CPU-only shared memory: the tree (or recursive doubling) for small messages
// on many ranks, the ring for large ones, the crossover where the model puts it, and
// WEFT_ALGO overrides winning.
#include <gtest/gtest.h>

#include "collectives/tuner.h"

namespace weft {
namespace {

Tuner Make(int nranks, TransportKind t, double gbps, const std::string& algo = "") {
  AlgoSpec spec;
  EXPECT_TRUE(ParseAlgoSpec(algo, &spec).ok());
  TunerInput in;
  in.nranks = nranks;
  in.transport = t;
  in.link_gbps = gbps;
  return Tuner(in, spec);
}

TEST(Tuner, ManyRanksOverInfiniBandTreeSmallRingLarge) {
  Tuner t = Make(512, TransportKind::kInfiniBand, 0, "^rd");
  EXPECT_EQ(Algo::kTree, t.Choose(CollType::kAllReduce, 8));
  EXPECT_EQ(Algo::kTree, t.Choose(CollType::kAllReduce, 64 << 10));
  EXPECT_EQ(Algo::kRing, t.Choose(CollType::kAllReduce, 1u << 30));
  // The crossover is where the two predictions meet.
  size_t lo = 8, hi = size_t{1} << 34;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    (t.Choose(CollType::kAllReduce, mid) == Algo::kTree ? lo : hi) = mid;
  }
  EXPECT_LE(t.Predict(Algo::kTree, CollType::kAllReduce, lo),
            t.Predict(Algo::kRing, CollType::kAllReduce, lo));
  EXPECT_GE(t.Predict(Algo::kTree, CollType::kAllReduce, hi),
            t.Predict(Algo::kRing, CollType::kAllReduce, hi));
}

TEST(Tuner, OneHostOfEightNvLinkGpus) {
  Tuner t = Make(8, TransportKind::kSharedMemory, 300.0);
  EXPECT_EQ(Algo::kRecursiveDoubling, t.Choose(CollType::kAllReduce, 8));
  EXPECT_EQ(Algo::kRing, t.Choose(CollType::kAllReduce, 64u << 20));
  EXPECT_EQ(Algo::kRing, t.Choose(CollType::kAllGather, 8));  // the only one it has
}

TEST(Tuner, CpuOnlySharedMemory) {
  Tuner t = Make(4, TransportKind::kSharedMemory, 0);
  EXPECT_EQ(Algo::kRecursiveDoubling, t.Choose(CollType::kAllReduce, 8));
  EXPECT_EQ(Algo::kRing, t.Choose(CollType::kAllReduce, 4u << 20));
  std::vector<Prediction> all;
  t.Choose(CollType::kAllReduce, 1024, &all);
  EXPECT_EQ(3u, all.size());
}

TEST(Tuner, OverridesWin) {
  EXPECT_EQ(
      Algo::kTree,
      Make(4, TransportKind::kSharedMemory, 0, "tree").Choose(CollType::kAllReduce, 1u << 30));
  EXPECT_EQ(Algo::kRing,
            Make(64, TransportKind::kInfiniBand, 0, "ring").Choose(CollType::kAllReduce, 8));
  EXPECT_EQ(Algo::kRing, Make(1, TransportKind::kSharedMemory, 0).Choose(CollType::kAllReduce, 8));
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// One-copy reads: never where they cannot run; with a core per rank the ring keeps the
// all-gather (its FIFOs stay in cache); with more ranks than cores the reads take large
// all-gathers; broadcasts stay on the chain unless forced.
TEST(Tuner, DirectReadsOnlyWhereTheyRunAndPay) {
  AlgoSpec all;
  TunerInput in;
  in.nranks = 4;
  in.transport = TransportKind::kSharedMemory;
  in.latency_us = 2.0;
  in.ranks_per_core = 2;
  EXPECT_EQ(Algo::kRing, Tuner(in, all).Choose(CollType::kAllGather, 8 << 20));
  in.one_copy = true;
  EXPECT_EQ(Algo::kRing, Tuner(in, all).Choose(CollType::kAllGather, 4 << 10));
  EXPECT_EQ(Algo::kDirect, Tuner(in, all).Choose(CollType::kAllGather, 8 << 20));
  EXPECT_NE(Algo::kDirect, Tuner(in, all).Choose(CollType::kBroadcast, 8 << 20));
  in.ranks_per_core = 1;
  EXPECT_EQ(Algo::kRing, Tuner(in, all).Choose(CollType::kAllGather, 8 << 20));
  AlgoSpec forced;
  ASSERT_TRUE(ParseAlgoSpec("direct", &forced).ok());
  EXPECT_EQ(Algo::kDirect, Tuner(in, forced).Choose(CollType::kBroadcast, 8));
  in.one_copy = false;  // forced but impossible: the ring
  EXPECT_EQ(Algo::kRing, Tuner(in, forced).Choose(CollType::kAllGather, 8 << 20));
}

}  // namespace
}  // namespace weft
