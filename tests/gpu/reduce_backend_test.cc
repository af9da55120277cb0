// The plan runner's CUDA back-end (collectives/reduce/backend_cuda.cc) against the host's:
// the same copies and reductions on device buffers give bit-identical results. Skipped
// without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "collectives/reduce/backend.h"

namespace weft {
namespace {

TEST(CudaReduceBackend, MatchesTheHostBitForBit) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) GTEST_SKIP() << "no CUDA device";
  ReduceBackend* cuda = ReduceBackendFor(MemoryType::kCuda);
  ASSERT_NE(nullptr, cuda);
  ReduceBackend* host = HostReduceBackend();
  const size_t count = 100003;  // not a multiple of any vector width
  std::vector<float> a(count), b(count), want(count), want2(count), got(count), got2(count);
  for (size_t i = 0; i < count; ++i) {
    a[i] = static_cast<float>(i % 977) * 0.25f - 3.0f;
    b[i] = static_cast<float>((i * 7) % 1013) * 0.5f + 1.0f;
  }
  const size_t bytes = count * sizeof(float);
  float *da, *db, *dd, *dd2;
  ASSERT_EQ(cudaSuccess, cudaMalloc(&da, bytes));
  ASSERT_EQ(cudaSuccess, cudaMalloc(&db, bytes));
  ASSERT_EQ(cudaSuccess, cudaMalloc(&dd, bytes));
  ASSERT_EQ(cudaSuccess, cudaMalloc(&dd2, bytes));
  ASSERT_EQ(cudaSuccess, cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
  ASSERT_EQ(cudaSuccess, cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
  for (weftRedOp_t op : {weftSum, weftProd, weftMax, weftMin}) {
    ASSERT_TRUE(host->ReduceTwice(want.data(), want2.data(), a.data(), b.data(), count, weftFloat32,
                                  op, StoreHint::kStream)
                    .ok());
    ASSERT_TRUE(
        cuda->ReduceTwice(dd, dd2, da, db, count, weftFloat32, op, StoreHint::kCached).ok());
    ASSERT_EQ(cudaSuccess, cudaMemcpy(got.data(), dd, bytes, cudaMemcpyDeviceToHost));
    ASSERT_EQ(cudaSuccess, cudaMemcpy(got2.data(), dd2, bytes, cudaMemcpyDeviceToHost));
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), bytes)) << "op " << op;
    EXPECT_EQ(0, std::memcmp(want2.data(), got2.data(), bytes)) << "op " << op;
  }
  // Copy (exact), and the average's divide.
  ASSERT_TRUE(cuda->Copy(dd, da, bytes).ok());
  ASSERT_TRUE(cuda->Divide(dd, count, weftFloat32, 3).ok());
  ASSERT_TRUE(host->Copy(want.data(), a.data(), bytes).ok());
  ASSERT_TRUE(host->Divide(want.data(), count, weftFloat32, 3).ok());
  ASSERT_EQ(cudaSuccess, cudaMemcpy(got.data(), dd, bytes, cudaMemcpyDeviceToHost));
  // A divide may be a multiply by the reciprocal on one side: within 1 ulp.
  for (size_t i = 0; i < count; ++i)
    ASSERT_NEAR(want[i], got[i], std::abs(want[i]) * 1.2e-7f) << "element " << i;
  for (float* p : {da, db, dd, dd2})
    cudaFree(p);
}

}  // namespace
}  // namespace weft
