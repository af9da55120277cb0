// The tuner on synthetic jobs: one host x 8 GPUs on NVLink, 64 hosts x 8 GPUs on
// InfiniBand, CPU-only shared memory: the tree (or recursive doubling) for small messages
// on many ranks, the ring for large ones, the crossover where the model puts it, and
// WEFT_ALGO overrides winning.
#include <gtest/gtest.h>

#include "collectives/device/device_kernels.h"
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
  EXPECT_EQ(4u, all.size());  // ring, tree, rd, hier (one copy does not all-reduce)
  // On one host the hierarchical algorithm is the ring: never picked over it.
  for (size_t bytes : {size_t{8}, size_t{1} << 20, size_t{64} << 20})
    EXPECT_NE(Algo::kHier, t.Choose(CollType::kAllReduce, bytes));
}

// The one-shot all-reduce, where its scratch is mapped (one host, a core per rank): the
// smallest calls, then recursive doubling; never a call beyond its scratch; never with more
// ranks than cores (every rank must run before any ends).
TEST(Tuner, OneShotForTheSmallestCallsItTakes) {
  AlgoSpec spec;
  TunerInput in;
  in.nranks = 2;
  in.latency_us = 0.3;  // the FIFOs' hand-off, as the communicator measures it
  in.one_shot_max_bytes = 64 << 10;
  Tuner t(in, spec);
  EXPECT_EQ(Algo::kOneShot, t.Choose(CollType::kAllReduce, 8, nullptr, nullptr, weftFloat32));
  EXPECT_EQ(Algo::kOneShot, t.Choose(CollType::kAllReduce, 64, nullptr, nullptr, weftInt64));
  EXPECT_EQ(Algo::kOneShot, t.Choose(CollType::kAllReduce, 8, nullptr, nullptr, weftBfloat16));
  EXPECT_NE(Algo::kOneShot, t.Choose(CollType::kAllReduce, 4096, nullptr, nullptr, weftFloat32));
  EXPECT_EQ(Algo::kOneShot, t.Choose(CollType::kAllGather, 8, nullptr, nullptr, weftFloat32));
  // All-gather's size is its output: 2 blocks of 64 KiB fit, 2 of 64 KiB + 8 do not.
  ASSERT_TRUE(ParseAlgoSpec("oneshot", &spec).ok());
  EXPECT_EQ(Algo::kOneShot,
            Tuner(in, spec).Choose(CollType::kAllGather, 128 << 10, nullptr, nullptr, weftFloat32));
  EXPECT_NE(Algo::kOneShot, Tuner(in, spec).Choose(CollType::kAllGather, (128 << 10) + 16, nullptr,
                                                   nullptr, weftFloat32));
  // Forced, it still takes only what it can.
  ASSERT_TRUE(ParseAlgoSpec("oneshot", &spec).ok());
  Tuner forced(in, spec);
  EXPECT_EQ(Algo::kOneShot,
            forced.Choose(CollType::kAllReduce, 64 << 10, nullptr, nullptr, weftFloat32));
  EXPECT_NE(Algo::kOneShot,
            forced.Choose(CollType::kAllReduce, (64 << 10) + 1, nullptr, nullptr, weftFloat32));
  EXPECT_EQ(Algo::kOneShot, forced.Choose(CollType::kAllReduce, 8, nullptr, nullptr, weftFloat16));
  EXPECT_NE(Algo::kOneShot, forced.Choose(CollType::kAllReduce, 8, nullptr, nullptr,
                                          static_cast<weftDataType_t>(weftNumTypes)));
  // Ranks sharing cores.
  in.ranks_per_core = 2;
  in.latency_us = 2;
  EXPECT_NE(Algo::kOneShot,
            Tuner(in, AlgoSpec()).Choose(CollType::kAllReduce, 8, nullptr, nullptr, weftFloat32));
  // No scratch: never.
  in.ranks_per_core = 1;
  in.latency_us = 0.3;
  in.one_shot_max_bytes = 0;
  EXPECT_FALSE(Tuner(in, AlgoSpec()).Usable(CollType::kAllReduce, Algo::kOneShot));
}

// On device buffers (CUDA IPC path) the one-shot kernel takes the small collectives with a
// built-in op; everything else stays on the gated path.
TEST(DeviceOneShot, TakesSmallCallsWithBuiltInOps) {
  CollArgs a;
  a.coll = CollType::kAllReduce;
  a.count = 2;
  a.type = weftFloat32;
  a.op = weftSum;
  EXPECT_TRUE(DeviceOneShotTakes(a, 4, 64 << 10));
  a.count = 16 << 10;  // 64 KiB
  EXPECT_TRUE(DeviceOneShotTakes(a, 4, 64 << 10));
  a.count += 1;
  EXPECT_FALSE(DeviceOneShotTakes(a, 4, 64 << 10));
  a.count = 0;
  EXPECT_FALSE(DeviceOneShotTakes(a, 4, 64 << 10));
  a.count = 2;
  for (weftRedOp_t op : {weftProd, weftMax, weftMin}) {
    a.op = op;
    EXPECT_TRUE(DeviceOneShotTakes(a, 4, 64 << 10)) << op;
  }
  a.op = weftAvg;
  EXPECT_TRUE(DeviceOneShotTakes(a, 4, 64 << 10));
  a.op = static_cast<weftRedOp_t>(weftNumOps);  // a PreMulSum's handle
  EXPECT_FALSE(DeviceOneShotTakes(a, 4, 64 << 10));
  a.op = weftSum;
  a.type = weftBfloat16;
  EXPECT_TRUE(DeviceOneShotTakes(a, 2, 64 << 10));
  a.type = weftInt64;
  EXPECT_TRUE(DeviceOneShotTakes(a, 8, 64 << 10));
  EXPECT_FALSE(DeviceOneShotTakes(a, 8, 0));
  for (CollType c :
       {CollType::kAllGather, CollType::kReduceScatter, CollType::kBroadcast, CollType::kReduce}) {
    a.coll = c;
    EXPECT_TRUE(DeviceOneShotTakes(a, 8, 64 << 10)) << CollName(c);
  }
}

// The largest power-of-two block up to 1 MiB for which the one-shot kernel is cheaper.
size_t OneShotCrossover(CollType coll, int nranks, bool staged, const DeviceCostTerms& t) {
  size_t last = 0;
  for (size_t b = 1; b <= (size_t{1} << 20); b *= 2)
    if (OneShotCheaper(coll, b, nranks, staged, t)) last = b;
  return last;
}

// Where both kernels could take a call, the cheaper does: one-shot's bytes grow with the
// ranks (every peer's copy of the block) and direct's flag rounds do not, so the crossover
// falls as the ranks grow; with 2 ranks one-shot wins up to its scratch's 64 KiB; through the
// staging (processes) direct pays a copy more, so one-shot keeps larger blocks.
TEST(DeviceCost, TheCheaperKernelTakesTheCall) {
  const DeviceCostTerms t;
  for (CollType c : {CollType::kAllReduce, CollType::kAllGather, CollType::kReduceScatter,
                     CollType::kBroadcast, CollType::kReduce}) {
    size_t previous = SIZE_MAX;
    for (int n = 2; n <= 16; ++n) {
      const size_t crossover = OneShotCrossover(c, n, false, t);
      EXPECT_LE(crossover, previous) << CollName(c) << " " << n << " ranks";
      EXPECT_GE(OneShotCrossover(c, n, true, t), crossover) << CollName(c) << " " << n;
      EXPECT_GE(crossover, size_t{1024}) << CollName(c) << " " << n << ": small calls one-shot";
      previous = crossover;
      for (size_t b = 8; b <= (size_t{1} << 20); b *= 4)
        EXPECT_EQ(OneShotCheaper(c, b, n, false, t),
                  OneShotCostUs(b, n, t) <= DirectCostUs(c, b, n, false, t));
    }
  }
  EXPECT_GE(OneShotCrossover(CollType::kAllReduce, 2, false, t), size_t{64} << 10);
  EXPECT_LT(OneShotCrossover(CollType::kAllReduce, 8, false, t), size_t{64} << 10);
  // More ranks move more bytes in one-shot; direct's rounds stay three.
  EXPECT_GT(OneShotCostUs(4096, 8, t), OneShotCostUs(4096, 2, t));
  EXPECT_DOUBLE_EQ(DirectCostUs(CollType::kAllReduce, 0, 8, false, t), 3 * t.flag_round_us);
  EXPECT_DOUBLE_EQ(DirectCostUs(CollType::kAllGather, 0, 8, false, t), 2 * t.flag_round_us);
}

// The kernel for a call: one-shot within its scratch's limit where it is cheaper or direct
// is not allowed; direct past it where allowed; else none (the gated path).
TEST(DeviceCost, KernelForACall) {
  const DeviceCostTerms t;
  CollArgs a;
  a.coll = CollType::kAllReduce;
  a.type = weftFloat32;
  a.op = weftSum;
  const size_t cap = 64 << 10;
  a.count = 2;
  EXPECT_EQ(DeviceKernel::kOneShot, DeviceKernelFor(a, 4, cap, 8, true, false, t));
  a.count = (48 << 10) / 4;  // 48 KiB on 8 ranks: past the crossover, within the scratch
  EXPECT_EQ(DeviceKernel::kDirect, DeviceKernelFor(a, 4, cap, 8, true, false, t));
  EXPECT_EQ(DeviceKernel::kOneShot, DeviceKernelFor(a, 4, cap, 8, false, false, t));
  EXPECT_EQ(DeviceKernel::kOneShot, DeviceKernelFor(a, 4, cap, 2, true, false, t));
  a.count = (1 << 20) / 4;  // past the scratch
  EXPECT_EQ(DeviceKernel::kDirect, DeviceKernelFor(a, 4, cap, 2, true, false, t));
  EXPECT_EQ(DeviceKernel::kNone, DeviceKernelFor(a, 4, cap, 2, false, false, t));
  a.count = 2;
  EXPECT_EQ(DeviceKernel::kDirect, DeviceKernelFor(a, 4, 0, 2, true, false, t));  // no scratch
  a.op = static_cast<weftRedOp_t>(weftNumOps);  // a PreMulSum's handle
  EXPECT_EQ(DeviceKernel::kNone, DeviceKernelFor(a, 4, cap, 2, true, false, t));
}

// Past the one-shot size, the direct kernel takes every call the kernels serve (where the job
// allows it), with one block per MiB of data, as many as the busiest GPU's share of SMs allows.
TEST(DeviceDirect, TakesLargeCallsWithChannelsBySize) {
  CollArgs a;
  a.coll = CollType::kAllReduce;
  a.count = size_t{64} << 20;
  a.type = weftFloat32;
  a.op = weftSum;
  EXPECT_TRUE(DeviceDirectTakes(a));
  EXPECT_FALSE(DeviceOneShotTakes(a, 4, 64 << 10));
  a.op = static_cast<weftRedOp_t>(weftNumOps);  // a PreMulSum's handle: the gated path
  EXPECT_FALSE(DeviceDirectTakes(a));
  a.op = weftAvg;
  EXPECT_TRUE(DeviceDirectTakes(a));
  a.count = 0;
  EXPECT_FALSE(DeviceDirectTakes(a));

  EXPECT_EQ(1, DirectChannelsFor(1, 16));
  EXPECT_EQ(1, DirectChannelsFor(size_t{1} << 20, 16));
  EXPECT_EQ(2, DirectChannelsFor((size_t{1} << 20) + 1, 16));
  EXPECT_EQ(16, DirectChannelsFor(size_t{256} << 20, 16));
  EXPECT_EQ(3, DirectChannelsFor(size_t{256} << 20, 3));

  // An H100 (132 SMs) shared by 4 thread-ranks: 16 blocks each, 64 of 132 SMs in all; one
  // rank per GPU: capped at 32; a tiny GPU still gets one.
  EXPECT_EQ(16, DirectMaxChannels(132, 4));
  EXPECT_EQ(proto::kDirectMaxChannels, DirectMaxChannels(132, 1));
  EXPECT_EQ(8, DirectMaxChannels(132, 8));
  EXPECT_EQ(1, DirectMaxChannels(2, 4));
  EXPECT_EQ(proto::kDirectMaxChannels, DirectMaxChannels(132, 0));
}

// Across hosts whose links the network limits, the rails move 1/L of what the flat ring
// sends through each host's NIC: hier wins large all-reduces and all-gathers; on hosts of
// different sizes it cannot run.
TEST(Tuner, HierWhereTheNetworkIsTheLimit) {
  TunerInput in;
  in.nranks = 16;
  in.nhosts = 4;
  in.transport = TransportKind::kTcp;
  in.nchannels = 2;
  Tuner t(in, AlgoSpec());
  EXPECT_EQ(Algo::kHier, t.Choose(CollType::kAllReduce, 64u << 20));
  EXPECT_EQ(Algo::kHier, t.Choose(CollType::kAllGather, 64u << 20));
  // What crosses each host's NIC: 2(H-1)/H of the buffer against the ring's 2(N-1)/N.
  EXPECT_NEAR(t.Predict(Algo::kHier, CollType::kAllReduce, 64u << 20) /
                  t.Predict(Algo::kRing, CollType::kAllReduce, 64u << 20),
              (3.0 / 4) / (15.0 / 16), 0.05);
  in.uniform_hosts = false;
  EXPECT_NE(Algo::kHier, Tuner(in, AlgoSpec()).Choose(CollType::kAllReduce, 64u << 20));
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
