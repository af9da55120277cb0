// The direct kernel alone on one GPU, ranks as threads of one process (one context: their
// blocks run at once), in both of its modes: reading the peers' buffers where they lie
// (threads of one process) and through every rank's staging (what ranks in several processes
// use; here the threads stand in for them, so the staged kernel is checked on a one-GPU
// host). Every collective exact against the rank-order reduction, 1 and 8 channels; the
// 256 MiB all-reduce's busbw of both modes printed for scripts/gpu-check.sh (figures, not
// pass conditions). Skipped without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "collectives/device/device_kernels.h"
#include "collectives/device/direct_kernel.h"
#include "collectives/device/proto/direct_staged.h"
#include "tests/gpu/gpu_ranks.h"

namespace weft {
namespace {

constexpr int kRanks = 4;

bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

int32_t Value(int rank, size_t i) {
  return static_cast<int32_t>((i * 7 + static_cast<size_t>(rank) * 13) % 11) - 3;
}

// Every rank's buffers, boards, epochs and (staged: bytes > 0) staging, on one GPU; with
// `windows`, every rank's input and output are registered windows (slots 0 and 1), so the
// staged kernel reads them where they lie.
struct GpuJob : GpuRanks<kRanks> {
  GpuJob(size_t bytes, size_t staging_bytes, bool windows = false)
      : GpuRanks(bytes), staging_bytes(staging_bytes), windows(windows) {
    proto::DirectBoard* boards[kRanks];
    void* staging[kRanks];
    std::vector<uint64_t> bases(size_t{proto::kDirectMaxWindows} * proto::kDirectMaxRanks, 0);
    for (int r = 0; r < kRanks; ++r) {
      boards[r] =
          Zeroed<proto::DirectBoard>(sizeof(proto::DirectBoard) * proto::kDirectMaxChannels);
      epochs[r] = Zeroed<uint64_t>(sizeof(uint64_t) * proto::kDirectMaxChannels);
      staging[r] =
          staging_bytes > 0 ? Zeroed<void>(staging_bytes * proto::kDirectMaxChannels) : nullptr;
      bases[r] = reinterpret_cast<uintptr_t>(in[r]);
      bases[proto::kDirectMaxRanks + r] = reinterpret_cast<uintptr_t>(out[r]);
    }
    board_table = Table(boards, kRanks);
    staging_table = Table(staging, kRanks);
    window_table = Table(bases.data(), bases.size());
    cudaDeviceSynchronize();
  }
  Status Launch(int r, proto::DeviceColl coll, int root, size_t count, weftDataType_t type,
                weftRedOp_t op, int channels) {
    proto::DirectArgs a;
    a.coll = coll;
    a.root = root;
    a.rank = r;
    a.nranks = kRanks;
    a.input = in[r];
    a.output = out[r];
    a.count = count;
    a.boards = board_table;
    a.channels = channels;
    a.epochs = epochs[r];
    a.limits.abort_flag = abort_dev;
    a.limits.timeout_ns = 20'000'000'000ull;
    if (staging_bytes > 0) {
      a.staging = staging_table;
      a.staging_bytes = staging_bytes;
      if (windows) {
        a.windows = window_table;
        a.input_window = proto::DirectWindowWord(0, 0);
        a.output_window = proto::DirectWindowWord(1, 0);
      }
    }
    return LaunchDirect(a, type, op, status[r], stream[r]);
  }
  size_t staging_bytes;
  bool windows;
  uint64_t* epochs[kRanks];
  proto::DirectBoard** board_table = nullptr;
  void** staging_table = nullptr;
  uint64_t* window_table = nullptr;
};

// One collective of int32 sum on every rank, checked bit for bit on every rank.
void CheckExact(GpuJob& job, proto::DeviceColl coll, int root, size_t count, int channels) {
  const bool blocks_in = coll == proto::DeviceColl::kReduceScatter;
  const bool blocks_out = coll == proto::DeviceColl::kAllGather;
  const size_t in_elems = blocks_in ? kRanks * count : count;
  const size_t out_elems = blocks_out ? kRanks * count : count;
  for (int r = 0; r < kRanks; ++r) {
    std::vector<int32_t> host(in_elems);
    for (size_t i = 0; i < in_elems; ++i)
      host[i] = Value(r, i);
    ASSERT_EQ(cudaSuccess,
              cudaMemcpy(job.in[r], host.data(), in_elems * 4, cudaMemcpyHostToDevice));
    ASSERT_EQ(cudaSuccess, cudaMemset(job.out[r], 0x7f, out_elems * 4));
  }
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  for (int r = 0; r < kRanks; ++r)
    ASSERT_TRUE(job.Launch(r, coll, root, count, weftInt32, weftSum, channels).ok());
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  auto sum = [](size_t i) {
    int32_t acc = 0;
    for (int q = 0; q < kRanks; ++q)
      acc += Value(q, i);
    return acc;
  };
  std::vector<int32_t> got(out_elems);
  for (int r = 0; r < kRanks; ++r) {
    uint32_t status = 99;
    ASSERT_EQ(cudaSuccess, cudaMemcpy(&status, job.status[r], 4, cudaMemcpyDeviceToHost));
    ASSERT_EQ(0u, status) << "rank " << r;
    ASSERT_EQ(cudaSuccess,
              cudaMemcpy(got.data(), job.out[r], out_elems * 4, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < out_elems; ++i) {
      int32_t expect = 0x7f7f7f7f;
      switch (coll) {
        case proto::DeviceColl::kAllReduce:
          expect = sum(i);
          break;
        case proto::DeviceColl::kReduceScatter:
          expect = sum(static_cast<size_t>(r) * count + i);
          break;
        case proto::DeviceColl::kAllGather:
          expect = Value(static_cast<int>(i / count), i % count);
          break;
        case proto::DeviceColl::kBroadcast:
          expect = Value(root, i);
          break;
        case proto::DeviceColl::kReduce:
          if (r == root) expect = sum(i);
          break;
      }
      ASSERT_EQ(expect, got[i]) << "coll " << static_cast<int>(coll) << ", rank " << r << ", count "
                                << count << ", " << channels << " channels, element " << i;
    }
  }
}

// (staging bytes per channel, 0: threads of one process; buffers in windows)
class DirectKernel : public ::testing::TestWithParam<std::pair<size_t, bool>> {};

TEST_P(DirectKernel, EveryCollectiveIsExactOnFourThreadRanks) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  ASSERT_TRUE(PreloadDirectKernels().ok());
  GpuJob job(size_t{4} * kRanks << 20, GetParam().first, GetParam().second);
  for (int channels : {1, 8}) {
    for (size_t count : {size_t{1}, size_t{1000}, size_t{300007}, size_t{1} << 20}) {
      for (proto::DeviceColl coll : {proto::DeviceColl::kAllReduce, proto::DeviceColl::kAllGather,
                                     proto::DeviceColl::kReduceScatter,
                                     proto::DeviceColl::kBroadcast, proto::DeviceColl::kReduce}) {
        CheckExact(job, coll, static_cast<int>(count % kRanks), count, channels);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// The 256 MiB all-reduce's busbw (4 ranks: 1.5 x bytes / time), calls queued back to back.
TEST_P(DirectKernel, AllReduceBusbw256MiB) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  if (GetParam().first > 0 && GetParam().first < kDirectStagingBytes)
    GTEST_SKIP() << "a test staging";
  ASSERT_TRUE(PreloadDirectKernels().ok());
  constexpr size_t kBytes = size_t{256} << 20;
  GpuJob job(kBytes, GetParam().first, GetParam().second);
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  const int channels = DirectMaxChannels(sms, kRanks);
  auto round = [&] {
    for (int r = 0; r < kRanks; ++r)
      ASSERT_TRUE(job.Launch(r, proto::DeviceColl::kAllReduce, 0, kBytes / 4, weftFloat32, weftSum,
                             channels)
                      .ok());
  };
  round();
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  constexpr int kIters = 10;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; ++i)
    round();
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kIters;
  std::printf(
      "FIGURE direct kernel alone, %s, all-reduce 256 MiB, 4 thread-ranks, %d blocks "
      "each: busbw %.1f GB/s\n",
      GetParam().first == 0 ? "reading the peers' buffers"
      : GetParam().second   ? "staged mode, buffers in windows"
                            : "through the staging",
      channels, kBytes * 1.5 / s / 1e9);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, DirectKernel,
    ::testing::Values(std::make_pair(size_t{0}, false), std::make_pair(kDirectStagingBytes, false),
                      std::make_pair(proto::DirectStagedMinBytes(kRanks) * 3, false),
                      std::make_pair(kDirectStagingBytes, true),
                      std::make_pair(proto::DirectStagedMinBytes(kRanks) * 3, true)));

}  // namespace
}  // namespace weft
