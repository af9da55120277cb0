// The one-shot LL all-reduce kernel on one GPU, ranks as threads of one process (one
// context: peers' scratch by raw pointer, kernels on their own streams run at once):
// exact against the rank-order reduction, and its 8-byte latency printed for
// scripts/gpu-check.sh (a figure, not a pass condition). Skipped without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "collectives/device/one_shot_kernel.h"
#include "tests/gpu/gpu_ranks.h"

namespace weft {
namespace {

constexpr int kRanks = 4;
constexpr int kThreads = 256;

template <typename T>
T Value(int rank, size_t i) {
  return static_cast<T>(static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13) % 11) - 3);
}

// Every rank's device memory, and the job's mapped abort flag.
struct GpuJob : GpuRanks<kRanks> {
  explicit GpuJob(size_t max_bytes) : GpuRanks(max_bytes), lines(proto::OneShotLines(max_bytes)) {
    proto::LlLine* scratch[kRanks];
    for (int r = 0; r < kRanks; ++r) {
      scratch[r] = Zeroed<proto::LlLine>(2 * kRanks * lines * sizeof(proto::LlLine));
      epoch[r] = Zeroed<uint32_t>(sizeof(uint32_t));
    }
    table = Table(scratch, kRanks);
  }
  Status Launch(int r, size_t count, weftDataType_t type, weftRedOp_t op) {
    proto::OneShotArgs a;
    a.rank = r;
    a.nranks = kRanks;
    a.input = in[r];
    a.output = out[r];
    a.count = count;
    a.scratch = table;
    a.lines = lines;
    a.epoch = epoch[r];
    a.limits.abort_flag = abort_dev;
    a.limits.timeout_ns = 20'000'000'000ull;
    return LaunchOneShot(a, type, op, kThreads, status[r], stream[r]);
  }
  size_t lines;
  uint32_t* epoch[kRanks];
  proto::LlLine** table = nullptr;
};

template <typename T, typename Op>
void CheckExact(GpuJob& job, weftDataType_t type, weftRedOp_t op, size_t count) {
  std::vector<std::vector<T>> inputs(kRanks, std::vector<T>(count));
  std::vector<T> expect(count);
  for (int r = 0; r < kRanks; ++r)
    for (size_t i = 0; i < count; ++i)
      inputs[r][i] = Value<T>(r, i);
  for (size_t i = 0; i < count; ++i) {
    T acc = inputs[0][i];
    for (int r = 1; r < kRanks; ++r)
      acc = Op::Apply(acc, inputs[r][i]);
    expect[i] = acc;
  }
  for (int r = 0; r < kRanks; ++r)
    ASSERT_EQ(cudaSuccess,
              cudaMemcpy(job.in[r], inputs[r].data(), count * sizeof(T), cudaMemcpyHostToDevice));
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  for (int r = 0; r < kRanks; ++r)
    ASSERT_TRUE(job.Launch(r, count, type, op).ok());
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  std::vector<T> got(count);
  for (int r = 0; r < kRanks; ++r) {
    uint32_t status = 99;
    ASSERT_EQ(cudaSuccess, cudaMemcpy(&status, job.status[r], 4, cudaMemcpyDeviceToHost));
    ASSERT_EQ(0u, status) << "rank " << r;
    ASSERT_EQ(cudaSuccess,
              cudaMemcpy(got.data(), job.out[r], count * sizeof(T), cudaMemcpyDeviceToHost));
    ASSERT_EQ(0, std::memcmp(expect.data(), got.data(), count * sizeof(T)))
        << "rank " << r << ", count " << count;
  }
}

bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

TEST(OneShotKernel, FourThreadRanksOnOneGpuAreExact) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  ASSERT_TRUE(PreloadOneShotKernels().ok());
  GpuJob job(1 << 20);
  for (size_t count : {1, 2, 1000, 65536, 1, 100003}) {
    CheckExact<float, SumOp>(job, weftFloat32, weftSum, count);
    CheckExact<int32_t, MaxOp>(job, weftInt32, weftMax, count);
    CheckExact<double, ProdOp>(job, weftFloat64, weftProd, count);
    CheckExact<uint8_t, SumOp>(job, weftUint8, weftSum, count);
  }
}

// Printed for gpu-check.sh: calls queued back to back on each rank's stream, no host
// synchronization between them.
TEST(OneShotKernel, EightByteLatencyFourThreadRanks) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  ASSERT_TRUE(PreloadOneShotKernels().ok());
  GpuJob job(64);
  constexpr int kWarmup = 100, kCalls = 2000;
  for (int i = 0; i < kWarmup; ++i)
    for (int r = 0; r < kRanks; ++r)
      ASSERT_TRUE(job.Launch(r, 2, weftFloat32, weftSum).ok());
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i)
    for (int r = 0; r < kRanks; ++r)
      ASSERT_TRUE(job.Launch(r, 2, weftFloat32, weftSum).ok());
  ASSERT_EQ(cudaSuccess, cudaDeviceSynchronize());
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kCalls;
  for (int r = 0; r < kRanks; ++r) {
    uint32_t status = 99;
    ASSERT_EQ(cudaSuccess, cudaMemcpy(&status, job.status[r], 4, cudaMemcpyDeviceToHost));
    ASSERT_EQ(0u, status) << "rank " << r;
  }
  std::printf(
      "FIGURE one-shot kernel 8-byte all-reduce, 4 thread-ranks on one GPU: %.2f us "
      "per call (goal <= 15 us)\n",
      us);
}

// An abort raised in mapped host memory ends a kernel whose peers never come.
TEST(OneShotKernel, AbortEndsAWaitingKernel) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  ASSERT_TRUE(PreloadOneShotKernels().ok());
  GpuJob job(64);
  ASSERT_TRUE(job.Launch(0, 2, weftFloat32, weftSum).ok());  // ranks 1-3 never launch
  __atomic_store_n(job.abort_host, 1u, __ATOMIC_RELEASE);
  ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(job.stream[0]));
  uint32_t status = 0;
  ASSERT_EQ(cudaSuccess, cudaMemcpy(&status, job.status[0], 4, cudaMemcpyDeviceToHost));
  EXPECT_EQ(static_cast<uint32_t>(proto::WaitResult::kAborted), status);
}

}  // namespace
}  // namespace weft
