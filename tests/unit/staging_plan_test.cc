// Staging plans run on host arrays: N simulated ranks copy each piece in, run the piece's
// collective on the staging regions, and copy it out through the copy-out tasks; the user's
// receive buffers must then equal the collective on the whole buffers, exactly.
#include "collectives/device/staging_plan.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "collectives/device/device_engine.h"

namespace weft {
namespace {

using Buffer = std::vector<int32_t>;
constexpr int32_t kUntouched = -7;

// The collective itself (int32 sum) on N ranks' buffers: `count` has the API's meaning.
void Reference(CollType coll, int root, size_t count, const std::vector<const int32_t*>& send,
               const std::vector<int32_t*>& recv) {
  const size_t n = send.size();
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < count; ++i) {
      int32_t sum = 0;
      switch (coll) {
        case CollType::kAllReduce:
          for (size_t q = 0; q < n; ++q)
            sum += send[q][i];
          recv[r][i] = sum;
          break;
        case CollType::kReduce:
          for (size_t q = 0; q < n; ++q)
            sum += send[q][i];
          if (r == static_cast<size_t>(root)) recv[r][i] = sum;
          break;
        case CollType::kReduceScatter:
          for (size_t q = 0; q < n; ++q)
            sum += send[q][r * count + i];
          recv[r][i] = sum;
          break;
        case CollType::kAllGather:
          for (size_t q = 0; q < n; ++q)
            recv[r][q * count + i] = send[q][i];
          break;
        case CollType::kBroadcast:
          recv[r][i] = send[static_cast<size_t>(root)][i];
          break;
      }
    }
  }
}

void ApplyCopy(const StagingCopy& c, const std::byte* from, size_t from_offset, size_t from_pitch,
               std::byte* to, size_t to_offset, size_t to_pitch) {
  for (size_t i = 0; i < c.rows; ++i)
    std::memcpy(to + to_offset + i * to_pitch, from + from_offset + i * from_pitch, c.bytes);
}

struct Case {
  CollType coll;
  int nranks;
  size_t count;
  size_t piece_bytes;
};

// Runs `c` through its staging plans on every simulated rank; returns the number of pieces.
size_t RunStaged(const Case& c) {
  const int n = c.nranks, root = n > 1 ? 1 : 0;
  const size_t un = static_cast<size_t>(n);
  CollArgs a{c.coll, nullptr, nullptr, c.count, weftInt32, weftSum, root, nullptr};
  const CollBytes bytes = BytesOf(a, 0, n);
  std::vector<Buffer> send(un), recv(un), expect(un);
  std::vector<StagingPlan> plans;
  std::vector<std::vector<std::byte>> host_send(un), host_recv(un);
  for (size_t r = 0; r < un; ++r) {
    send[r].resize(bytes.send / 4);
    for (size_t i = 0; i < send[r].size(); ++i)
      send[r][i] = static_cast<int32_t>(r * 1000003 + i * 7 + 1);
    recv[r].assign(bytes.recv / 4, kUntouched);
    expect[r] = recv[r];
    plans.push_back(PlanStaging(a, static_cast<int>(r), n, c.piece_bytes));
    host_send[r].resize(plans[r].send_bytes);
    host_recv[r].resize(plans[r].recv_bytes);
  }
  {
    std::vector<const int32_t*> s;
    std::vector<int32_t*> d;
    for (size_t r = 0; r < un; ++r) {
      s.push_back(send[r].data());
      d.push_back(expect[r].data());
    }
    Reference(c.coll, root, c.count, s, d);
  }
  const size_t npieces = plans[0].pieces.size();
  EXPECT_LE(npieces, kMaxStagingPieces);
  for (size_t k = 0; k < npieces; ++k) {
    std::vector<const int32_t*> s;
    std::vector<int32_t*> d;
    for (size_t r = 0; r < un; ++r) {
      EXPECT_EQ(plans[r].pieces.size(), npieces) << "rank " << r;
      const StagingPiece& p = plans[r].pieces[k];
      EXPECT_EQ(p.count, plans[0].pieces[k].count) << "every rank runs the same collective";
      for (const StagingCopy& in : p.in)
        ApplyCopy(in, reinterpret_cast<const std::byte*>(send[r].data()), in.device_offset,
                  in.device_pitch, host_send[r].data(), in.host_offset, in.host_pitch);
      s.push_back(reinterpret_cast<const int32_t*>(host_send[r].data() + p.send_offset));
      d.push_back(reinterpret_cast<int32_t*>(host_recv[r].data() + p.recv_offset));
    }
    Reference(c.coll, root, plans[0].pieces[k].count, s, d);
    for (size_t r = 0; r < un; ++r) {
      const StagingPiece& p = plans[r].pieces[k];
      for (size_t launch = 0; launch < CopyOutLaunches(p); ++launch) {
        DevicePhase phase;
        const size_t largest =
            FillCopyOut(p, launch, host_recv[r].data(), recv[r].data(), sizeof(int32_t), &phase);
        EXPECT_GE(phase.ntasks, 1u);
        EXPECT_LE(phase.ntasks, static_cast<uint32_t>(kMaxDeviceTasks));
        for (uint32_t t = 0; t < phase.ntasks; ++t) {
          EXPECT_EQ(phase.task[t].ninputs, 1u);
          EXPECT_LE(phase.task[t].count, largest);
          std::memcpy(phase.task[t].out, phase.task[t].in[0], phase.task[t].count * 4);
        }
      }
    }
  }
  for (size_t r = 0; r < un; ++r)
    EXPECT_EQ(recv[r], expect[r]) << CollName(c.coll) << " rank " << r << " of " << n << ", count "
                                  << c.count << ", pieces of " << c.piece_bytes << " bytes";
  return npieces;
}

TEST(StagingPlan, EveryCollectiveInPiecesEqualsTheWholeCollective) {
  for (CollType coll : {CollType::kAllReduce, CollType::kAllGather, CollType::kReduceScatter,
                        CollType::kBroadcast, CollType::kReduce}) {
    for (int n : {1, 2, 3, 5, 17}) {
      for (size_t count : {size_t{0}, size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{37},
                           size_t{1000}, size_t{4099}}) {
        for (size_t piece : {size_t{0}, size_t{1}, size_t{16}, size_t{100}, size_t{4096}}) {
          RunStaged({coll, n, count, piece});
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST(StagingPlan, PiecesAreAboutThePieceSizeWholeVectorsAndAtMost64) {
  const size_t count = size_t{1} << 20;  // 4 MiB of int32 per rank
  CollArgs a{CollType::kAllReduce, nullptr, nullptr, count, weftInt32, weftSum, 0, nullptr};
  EXPECT_EQ(PlanStaging(a, 0, 4, 4 << 20).pieces.size(), 1u);
  EXPECT_EQ(PlanStaging(a, 0, 4, 0).pieces.size(), 1u);
  const StagingPlan quarter = PlanStaging(a, 0, 4, 1 << 20);
  ASSERT_EQ(quarter.pieces.size(), 4u);
  for (const StagingPiece& p : quarter.pieces)
    EXPECT_EQ(p.count, count / 4);
  EXPECT_EQ(PlanStaging(a, 0, 4, 1024).pieces.size(), kMaxStagingPieces);
  // All-gather and reduce-scatter size pieces by what the host collective moves: N rows.
  a.coll = CollType::kAllGather;
  EXPECT_EQ(PlanStaging(a, 0, 4, 4 << 20).pieces.size(), 4u);
  // Every piece but the last holds whole 16-byte vectors, so its rows stay aligned.
  a.count = 1001;
  a.type = weftFloat16;
  const StagingPlan odd = PlanStaging(a, 0, 3, 100);
  ASSERT_GT(odd.pieces.size(), 2u);
  for (size_t k = 0; k + 1 < odd.pieces.size(); ++k)
    EXPECT_EQ(odd.pieces[k].count * 2 % 16, 0u) << "piece " << k;
}

TEST(StagingPlan, PinnedMemoryIsTwoPiecesWhateverTheSize) {
  CollArgs a{CollType::kAllReduce, nullptr, nullptr, size_t{64} << 20,
             weftFloat32,          weftSum, 0,       nullptr};  // 256 MiB per rank
  const StagingPlan big = PlanStaging(a, 0, 4, 4 << 20);
  EXPECT_EQ(big.pieces.size(), 64u);
  EXPECT_EQ(big.slots, 2u);
  EXPECT_EQ(big.send_bytes, size_t{8} << 20);
  EXPECT_EQ(big.recv_bytes, size_t{8} << 20);
  for (size_t k = 0; k < big.pieces.size(); ++k)
    EXPECT_EQ(big.pieces[k].slot, k % 2);
  // All-gather: a piece's receive side is N rows.
  a.coll = CollType::kAllGather;
  a.count = size_t{16} << 20;  // 64 MiB per rank, 256 MiB gathered
  const StagingPlan gather = PlanStaging(a, 0, 4, 4 << 20);
  EXPECT_EQ(gather.recv_bytes, size_t{8} << 20);
  EXPECT_EQ(gather.send_bytes, size_t{2} << 20);
  // One piece, or fewer pieces than slots: no slot is reused.
  EXPECT_EQ(PlanStaging(a, 0, 4, 0).slots, 1u);
  a.count = size_t{1} << 20;  // 4 pieces of 1 MiB per rank
  EXPECT_EQ(PlanStaging(a, 0, 4, 4 << 20, 64).slots, 4u);
}

TEST(StagingPlan, RanksThatDoNotSendOrReceiveCopyNothing) {
  CollArgs a{CollType::kBroadcast, nullptr, nullptr, 1000, weftFloat32, weftSum, 2, nullptr};
  for (const StagingPiece& p : PlanStaging(a, 0, 4, 256).pieces)
    EXPECT_TRUE(p.in.empty()) << "a broadcast's non-root has nothing to send";
  a.coll = CollType::kReduce;
  const StagingPlan plan = PlanStaging(a, 0, 4, 256);
  EXPECT_EQ(CopyOutLaunches(plan), 0u) << "a reduce's non-root receives nothing";
  EXPECT_GT(plan.pieces.size(), 1u) << "but still runs every piece with the others";
}

TEST(StagingPlan, WideGathersSplitTheirCopyOutOverLaunchesOf16Tasks) {
  CollArgs a{CollType::kAllGather, nullptr, nullptr, 64, weftInt32, weftSum, 0, nullptr};
  const StagingPlan plan = PlanStaging(a, 0, 40, 0);
  ASSERT_EQ(plan.pieces.size(), 1u);
  EXPECT_EQ(CopyOutLaunches(plan), 3u);  // 40 rows: 16 + 16 + 8
  EXPECT_EQ(RunStaged({CollType::kAllGather, 40, 64, 256}), 64u / 4u);
}

}  // namespace
}  // namespace weft
