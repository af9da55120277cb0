// Collectives on device buffers through the C API, as a framework calls them: device
// pointers and a stream, no host synchronization between the work queued before the call,
// the call, and the work queued after it. Skipped without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "weft/weft.h"

namespace {

class DeviceSingleRank : public ::testing::Test {
 protected:
  void SetUp() override {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) GTEST_SKIP() << "no CUDA device";
    weftUniqueId id;
    ASSERT_EQ(weftGetUniqueId(&id), weftSuccess);
    ASSERT_EQ(weftCommInitRank(&comm_, 1, id, 0), weftSuccess);
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    if (comm_ != nullptr) {
      EXPECT_EQ(weftCommDestroy(comm_), weftSuccess);
    }
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    for (void* p : device_)
      cudaFree(p);
    for (void* p : pinned_)
      cudaFreeHost(p);
  }
  template <typename T>
  T* Device(size_t n) {
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, n * sizeof(T)), cudaSuccess);
    device_.push_back(p);
    return static_cast<T*>(p);
  }
  template <typename T>
  T* Pinned(size_t n) {
    void* p = nullptr;
    EXPECT_EQ(cudaHostAlloc(&p, n * sizeof(T), cudaHostAllocDefault), cudaSuccess);
    pinned_.push_back(p);
    return static_cast<T*>(p);
  }

  weftComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  std::vector<void*> device_, pinned_;
};

TEST_F(DeviceSingleRank, WorkBeforeIsSeenAndWorkAfterSeesTheResultWithoutHostSync) {
  const size_t n = (1u << 20) + 3;
  float* in = Device<float>(n);
  float* out = Device<float>(n);
  float* sevens = Pinned<float>(n);
  float* result = Pinned<float>(n);
  for (size_t i = 0; i < n; ++i) {
    sevens[i] = 7.0f + static_cast<float>(i % 1000);
    result[i] = -1.0f;
  }
  ASSERT_EQ(cudaMemsetAsync(out, 0xff, n * sizeof(float), stream_), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(in, sevens, n * sizeof(float), cudaMemcpyHostToDevice, stream_),
            cudaSuccess);
  ASSERT_EQ(weftAllReduce(in, out, n, weftFloat32, weftSum, comm_, stream_), weftSuccess);
  ASSERT_EQ(cudaMemcpyAsync(result, out, n * sizeof(float), cudaMemcpyDeviceToHost, stream_),
            cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(result[i], sevens[i]) << i;
  weftResult_t async = weftInternalError;
  EXPECT_EQ(weftCommGetAsyncError(comm_, &async), weftSuccess);
  EXPECT_EQ(async, weftSuccess);
}

TEST_F(DeviceSingleRank, EveryCollectiveInAndOutOfPlace) {
  const size_t n = 4099;
  int32_t* a = Device<int32_t>(n);
  int32_t* b = Device<int32_t>(n);
  std::vector<int32_t> host(n), back(n);
  for (size_t i = 0; i < n; ++i)
    host[i] = static_cast<int32_t>(i * 2654435761u);
  for (int in_place = 0; in_place < 2; ++in_place) {
    for (int c = 0; c < 5; ++c) {
      ASSERT_EQ(cudaMemcpy(a, host.data(), n * 4, cudaMemcpyHostToDevice), cudaSuccess);
      ASSERT_EQ(cudaMemset(b, 0x5a, n * 4), cudaSuccess);
      int32_t* out = in_place ? a : b;
      weftResult_t r = weftSuccess;
      switch (c) {
        case 0:
          r = weftAllReduce(a, out, n, weftInt32, weftAvg, comm_, stream_);
          break;
        case 1:
          r = weftAllGather(a, out, n, weftInt32, comm_, stream_);
          break;
        case 2:
          r = weftReduceScatter(a, out, n, weftInt32, weftMax, comm_, stream_);
          break;
        case 3:
          r = weftBroadcast(a, out, n, weftInt32, 0, comm_, stream_);
          break;
        case 4:
          r = weftReduce(a, out, n, weftInt32, weftProd, 0, comm_, stream_);
          break;
      }
      ASSERT_EQ(r, weftSuccess) << weftGetLastError(comm_);
      ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
      ASSERT_EQ(cudaMemcpy(back.data(), out, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
      EXPECT_EQ(back, host) << "collective " << c << " in place " << in_place;
    }
  }
}

// PyTorch creates a PreMulSum op, enqueues the collective and destroys the op at once, long
// before the stream reaches the work; NCCL allows it, and so must Weft.
TEST_F(DeviceSingleRank, PreMulSumOpMayBeDestroyedAsSoonAsTheCallReturns) {
  const size_t n = (1u << 20) + 5;
  std::vector<float> host(n);
  for (size_t i = 0; i < n; ++i)
    host[i] = static_cast<float>(i % 1000) - 500.0f;
  float* in = Device<float>(n);
  float* out = Device<float>(n);
  ASSERT_EQ(cudaMemcpy(in, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  for (int trial = 0; trial < 3; ++trial) {
    weftRedOp_t op;
    const float half = 0.5f;
    ASSERT_EQ(weftRedOpCreatePreMulSum(&op, const_cast<float*>(&half), weftFloat32,
                                       weftScalarHostImmediate, comm_),
              weftSuccess);
    ASSERT_EQ(weftAllReduce(in, out, n, weftFloat32, op, comm_, stream_), weftSuccess);
    ASSERT_EQ(weftRedOpDestroy(op, comm_), weftSuccess);
  }
  std::vector<float> got(n);
  ASSERT_EQ(cudaMemcpyAsync(got.data(), out, n * sizeof(float), cudaMemcpyDeviceToHost, stream_),
            cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  weftResult_t async = weftInternalError;
  ASSERT_EQ(weftCommGetAsyncError(comm_, &async), weftSuccess);
  ASSERT_EQ(async, weftSuccess) << weftGetLastError(comm_);
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(got[i], host[i] * 0.5f) << "element " << i;
}

TEST_F(DeviceSingleRank, MixedOrMisalignedBuffersAreRejectedClearly) {
  float* d = Device<float>(64);
  std::vector<float> h(64);
  EXPECT_EQ(weftAllReduce(h.data(), d, 64, weftFloat32, weftSum, comm_, stream_),
            weftInvalidArgument);
  EXPECT_NE(std::string(weftGetLastError(comm_)).find("mixes host and device"), std::string::npos);
  auto* odd = reinterpret_cast<float*>(reinterpret_cast<char*>(d) + 2);
  EXPECT_EQ(weftAllReduce(odd, odd, 8, weftFloat32, weftSum, comm_, stream_), weftInvalidArgument);
  EXPECT_NE(std::string(weftGetLastError(comm_)).find("not aligned"), std::string::npos);
  // The communicator is still usable.
  EXPECT_EQ(weftAllReduce(d, d, 64, weftFloat32, weftSum, comm_, stream_), weftSuccess);
  EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
}

}  // namespace
