// The device kernels' head/body/tail split and launch shape, checked on the CPU: every
// element is covered exactly once and every vector access is 16-byte aligned, for every
// alignment of inputs and output and every element size.
#include "collectives/reduce/vector_split.h"

#include <cstdint>

#include "collectives/device/device_engine.h"

#include <gtest/gtest.h>

namespace weft {
namespace {

TEST(VectorSplit, CoversEveryElementOnceWithAlignedVectorsForEveryAlignment) {
  for (size_t esz : {1u, 2u, 4u, 8u}) {
    for (uintptr_t off = 0; off < 16; off += esz) {
      for (size_t count : {0u, 1u, 2u, 3u, 7u, 15u, 16u, 17u, 31u, 64u, 1000u, 4097u}) {
        const uintptr_t a[3] = {0x1000 + off, 0x7f0000 + off, 0x20000 + off};
        const VectorSplit s = SplitForVectors(a, 3, count, esz);
        const size_t per = 16 / esz;
        ASSERT_EQ(s.head + s.vectors * per + s.tail, count) << esz << " " << off << " " << count;
        if (s.vectors > 0) {
          for (uintptr_t p : a)
            EXPECT_EQ((p + s.head * esz) % 16, 0u);
          EXPECT_LT(s.head, per);
          EXPECT_LT(s.tail, per);
        }
        // Everything that can be vectorized is.
        if (count >= s.head + per && s.head < per) {
          EXPECT_GT(s.vectors, 0u);
        }
      }
    }
  }
}

TEST(VectorSplit, MixedAlignmentsFallBackToScalar) {
  const uintptr_t a[2] = {0x1000, 0x2004};
  const VectorSplit s = SplitForVectors(a, 2, 100, 4);
  EXPECT_EQ(s.head, 100u);
  EXPECT_EQ(s.vectors, 0u);
  EXPECT_EQ(s.tail, 0u);
}

TEST(VectorSplit, AHeadLongerThanTheArrayIsAllHead) {
  const uintptr_t a[2] = {0x1004, 0x2004};
  const VectorSplit s = SplitForVectors(a, 2, 2, 4);  // 3 elements to alignment, only 2
  EXPECT_EQ(s.head, 2u);
  EXPECT_EQ(s.vectors, 0u);
}

TEST(LaunchShape, FillsTheDeviceForLargeTasksAndStaysSmallForSmallOnes) {
  // 132 SMs (H100/H200): a 256 MiB task gets four blocks per SM.
  EXPECT_EQ(ChooseLaunch(132, 256u << 20, 1).blocks_per_task, 528);
  // Split over 4 tasks, the device is still filled once.
  EXPECT_EQ(ChooseLaunch(132, 256u << 20, 4).blocks_per_task, 132);
  // 8 bytes: one block; 100 KiB: four blocks of at least 32 KiB each.
  EXPECT_EQ(ChooseLaunch(132, 8, 1).blocks_per_task, 1);
  EXPECT_EQ(ChooseLaunch(132, 100 * 1024, 1).blocks_per_task, 4);
  EXPECT_EQ(ChooseLaunch(132, 0, 1).blocks_per_task, 1);
  // More tasks than SM slots, or a nonsense SM count: still at least one block each.
  EXPECT_EQ(ChooseLaunch(2, 1u << 30, 16).blocks_per_task, 1);
  EXPECT_EQ(ChooseLaunch(0, 1u << 30, 0).blocks_per_task, 4);
  EXPECT_EQ(ChooseLaunch(132, 1u << 20, 1).threads, 512);
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

TEST(DeviceLayout, ChunksCoverTheBufferOnceOnVectorBoundaries) {
  for (size_t esz : {1u, 2u, 4u, 8u}) {
    for (int n : {1, 2, 3, 4, 7, 16}) {
      for (size_t count : {0u, 1u, 5u, 16u, 17u, 100u, 4099u, 1000003u}) {
        size_t expect_begin = 0;
        for (int q = 0; q < n; ++q) {
          size_t b, e;
          ChunkRange(count, esz, n, q, &b, &e);
          ASSERT_EQ(b, expect_begin) << esz << " " << n << " " << count << " " << q;
          ASSERT_LE(b, e);
          if (e < count) {
            EXPECT_EQ(e * esz % 16, 0u);
          }
          expect_begin = e;
        }
        EXPECT_EQ(expect_begin, count);
      }
    }
  }
}

TEST(DeviceLayout, BytesPerCollectiveAndWhichBuffersARankUses) {
  CollArgs a;
  a.count = 10;
  a.type = weftFloat32;
  a.coll = CollType::kAllGather;
  CollBytes b = BytesOf(a, 1, 4);
  EXPECT_EQ(b.send, 40u);
  EXPECT_EQ(b.recv, 160u);
  a.coll = CollType::kReduceScatter;
  b = BytesOf(a, 1, 4);
  EXPECT_EQ(b.send, 160u);
  EXPECT_EQ(b.recv, 40u);
  a.coll = CollType::kBroadcast;
  a.root = 2;
  EXPECT_FALSE(BytesOf(a, 1, 4).uses_send);
  EXPECT_TRUE(BytesOf(a, 2, 4).uses_send);
  a.coll = CollType::kReduce;
  EXPECT_FALSE(BytesOf(a, 1, 4).uses_recv);
  EXPECT_TRUE(BytesOf(a, 2, 4).uses_recv);
}

}  // namespace
}  // namespace weft
