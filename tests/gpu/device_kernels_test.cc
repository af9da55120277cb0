// The GPU-driven collectives through the C API (collectives/device/device_kernels.h): 4 ranks
// as threads of one process on one GPU (one context, so their kernels run at once), each with
// its own communicator and stream, as a framework calls them. Small calls (the one-shot
// kernel) and large ones (the direct kernel): exact results for every collective, calls
// captured in a CUDA graph and replayed, a rank that never calls (the others' kernels time
// out, the error names it, the streams are released), and figures printed for
// scripts/gpu-check.sh (the 8-byte latency; the large calls' busbw beside their memory bound
// from the device copy measured in the same run): figures, not pass conditions. Skipped
// without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "collectives/communicator.h"
#include "weft/weft.h"

namespace {

constexpr int kRanks = 4;

bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// kRanks communicators made by kRanks threads; body(rank, comm, stream) runs on each.
void OnThreadRanks(int timeout_ms, const std::function<void(int, weftComm_t, cudaStream_t)>& body,
                   bool destroy = true) {
  weftUniqueId id;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  std::vector<std::thread> ranks;
  for (int r = 0; r < kRanks; ++r) {
    ranks.emplace_back([&, r] {
      weftConfig_t config = WEFT_CONFIG_INITIALIZER;
      config.timeoutMs = timeout_ms;
      weftComm_t comm = nullptr;
      ASSERT_EQ(weftSuccess, weftCommInitRankConfig(&comm, kRanks, id, r, &config))
          << weftGetLastError(nullptr);
      cudaStream_t stream = nullptr;
      ASSERT_EQ(cudaSuccess, cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
      body(r, comm, stream);
      if (destroy)
        EXPECT_EQ(weftSuccess, weftCommDestroy(comm)) << weftGetLastError(comm);
      else
        weftCommAbort(comm);
      cudaStreamDestroy(stream);
    });
  }
  for (std::thread& t : ranks)
    t.join();
}

int32_t Value(int rank, size_t i, int round) {
  return static_cast<int32_t>((i * 7 + static_cast<size_t>(rank) * 13 + round * 5) % 11) - 3;
}

TEST(DeviceOneShot, FourThreadRanksAreExact) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  OnThreadRanks(60000, [](int rank, weftComm_t comm, cudaStream_t stream) {
    for (size_t count : {size_t{1}, size_t{3}, size_t{1000}, size_t{16384}}) {
      for (weftRedOp_t op : {weftSum, weftMax}) {
        std::vector<int32_t> in(count), expect(count), got(count);
        for (size_t i = 0; i < count; ++i) {
          in[i] = Value(rank, i, 0);
          int32_t acc = Value(0, i, 0);
          for (int q = 1; q < kRanks; ++q)
            acc = op == weftSum ? acc + Value(q, i, 0) : std::max(acc, Value(q, i, 0));
          expect[i] = acc;
        }
        void *d_in = nullptr, *d_out = nullptr;
        ASSERT_EQ(cudaSuccess, cudaMalloc(&d_in, count * 4));
        ASSERT_EQ(cudaSuccess, cudaMalloc(&d_out, count * 4));
        ASSERT_EQ(cudaSuccess, cudaMemcpy(d_in, in.data(), count * 4, cudaMemcpyHostToDevice));
        ASSERT_EQ(weftSuccess, weftAllReduce(d_in, d_out, count, weftInt32, op, comm, stream))
            << weftGetLastError(comm);
        ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
        ASSERT_EQ(cudaSuccess, cudaMemcpy(got.data(), d_out, count * 4, cudaMemcpyDeviceToHost));
        EXPECT_EQ(0, std::memcmp(expect.data(), got.data(), count * 4))
            << "rank " << rank << ", count " << count << ", op " << op;
        cudaFree(d_in);
        cudaFree(d_out);
      }
    }
  });
}

// All-gather, reduce-scatter, broadcast and reduce as one kernel each, every root.
TEST(DeviceOneShot, OtherCollectivesAreExact) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  OnThreadRanks(60000, [](int rank, weftComm_t comm, cudaStream_t stream) {
    constexpr size_t kCount = 100;
    const size_t big = kCount * kRanks;
    void *d_in = nullptr, *d_out = nullptr;
    ASSERT_EQ(cudaSuccess, cudaMalloc(&d_in, big * 4));
    ASSERT_EQ(cudaSuccess, cudaMalloc(&d_out, big * 4));
    std::vector<int32_t> in(big), got(big);
    for (size_t i = 0; i < big; ++i)
      in[i] = Value(rank, i, 1);
    ASSERT_EQ(cudaSuccess, cudaMemcpy(d_in, in.data(), big * 4, cudaMemcpyHostToDevice));
    auto fetch = [&](size_t n) {
      ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
      ASSERT_EQ(cudaSuccess, cudaMemcpy(got.data(), d_out, n * 4, cudaMemcpyDeviceToHost));
    };
    ASSERT_EQ(weftSuccess, weftAllGather(d_in, d_out, kCount, weftInt32, comm, stream));
    fetch(big);
    for (size_t i = 0; i < big; ++i)
      ASSERT_EQ(Value(static_cast<int>(i / kCount), i % kCount, 1), got[i]) << "allgather " << i;
    ASSERT_EQ(weftSuccess,
              weftReduceScatter(d_in, d_out, kCount, weftInt32, weftSum, comm, stream));
    fetch(kCount);
    for (size_t i = 0; i < kCount; ++i) {
      int32_t expect = 0;
      for (int q = 0; q < kRanks; ++q)
        expect += Value(q, static_cast<size_t>(rank) * kCount + i, 1);
      ASSERT_EQ(expect, got[i]) << "reducescatter " << i;
    }
    for (int root = 0; root < kRanks; ++root) {
      ASSERT_EQ(weftSuccess, weftBroadcast(d_in, d_out, kCount, weftInt32, root, comm, stream));
      fetch(kCount);
      for (size_t i = 0; i < kCount; ++i)
        ASSERT_EQ(Value(root, i, 1), got[i]) << "broadcast from " << root << ", " << i;
      ASSERT_EQ(weftSuccess,
                weftReduce(d_in, d_out, kCount, weftInt32, weftSum, root, comm, stream));
      fetch(kCount);
      for (size_t i = 0; rank == root && i < kCount; ++i) {
        int32_t expect = 0;
        for (int q = 0; q < kRanks; ++q)
          expect += Value(q, i, 1);
        ASSERT_EQ(expect, got[i]) << "reduce to " << root << ", " << i;
      }
    }
    cudaFree(d_in);
    cudaFree(d_out);
  });
}

// `calls` all-reduces of `count` int32 captured in a graph, the graph replayed three times
// on new inputs, every output exact. Nothing of the call runs on the host, so the capture
// holds all of it (the kernels' epochs live on the device and advance on every replay).
// `path`: the device path the calls must take.
void CapturedAllReducesReplayExact(int calls, size_t count, const char* path) {
  OnThreadRanks(60000, [&](int rank, weftComm_t comm, cudaStream_t stream) {
    std::vector<void*> in(calls), out(calls);
    for (int c = 0; c < calls; ++c) {
      ASSERT_EQ(cudaSuccess, cudaMalloc(&in[c], count * 4));
      ASSERT_EQ(cudaSuccess, cudaMalloc(&out[c], count * 4));
    }
    // A first call outside the capture sets the device side up (memory, IPC).
    ASSERT_EQ(weftSuccess, weftAllReduce(in[0], out[0], count, weftInt32, weftSum, comm, stream));
    ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
    EXPECT_STREQ(path, comm->impl->DevicePath());
    cudaGraph_t graph = nullptr;
    ASSERT_EQ(cudaSuccess, cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int c = 0; c < calls; ++c)
      ASSERT_EQ(weftSuccess, weftAllReduce(in[c], out[c], count, weftInt32, weftSum, comm, stream))
          << weftGetLastError(comm);
    ASSERT_EQ(cudaSuccess, cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec = nullptr;
    ASSERT_EQ(cudaSuccess, cudaGraphInstantiate(&exec, graph, 0));
    std::vector<int32_t> host(count);
    for (int round = 1; round <= 3; ++round) {
      for (int c = 0; c < calls; ++c) {
        for (size_t i = 0; i < count; ++i)
          host[i] = Value(rank, i, round * calls + c);
        ASSERT_EQ(cudaSuccess, cudaMemcpy(in[c], host.data(), count * 4, cudaMemcpyHostToDevice));
      }
      ASSERT_EQ(cudaSuccess, cudaGraphLaunch(exec, stream));
      ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
      for (int c = 0; c < calls; ++c) {
        ASSERT_EQ(cudaSuccess, cudaMemcpy(host.data(), out[c], count * 4, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < count; ++i) {
          int32_t expect = 0;
          for (int q = 0; q < kRanks; ++q)
            expect += Value(q, i, round * calls + c);
          ASSERT_EQ(expect, host[i])
              << "rank " << rank << ", replay " << round << ", call " << c << ", element " << i;
        }
      }
    }
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    for (int c = 0; c < calls; ++c) {
      cudaFree(in[c]);
      cudaFree(out[c]);
    }
  });
}

// Issue 17's test: ten small all-reduces (the one-shot kernel) in a graph.
TEST(DeviceOneShot, TenCapturedAllReducesReplayThreeTimesExact) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  CapturedAllReducesReplayExact(10, 257, "oneshot-kernel");
}

TEST(DeviceOneShot, EightByteLatencyFourThreadRanks) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  constexpr int kIters = 2000;
  std::vector<double> us(kRanks, 0);
  OnThreadRanks(60000, [&](int rank, weftComm_t comm, cudaStream_t stream) {
    void *in = nullptr, *out = nullptr;
    ASSERT_EQ(cudaSuccess, cudaMalloc(&in, 8));
    ASSERT_EQ(cudaSuccess, cudaMalloc(&out, 8));
    for (int i = 0; i < 100; ++i)
      ASSERT_EQ(weftSuccess, weftAllReduce(in, out, 2, weftFloat32, weftSum, comm, stream));
    ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIters; ++i)
      ASSERT_EQ(weftSuccess, weftAllReduce(in, out, 2, weftFloat32, weftSum, comm, stream));
    ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
    us[rank] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                   .count() /
               kIters;
    cudaFree(in);
    cudaFree(out);
  });
  double worst = 0;
  for (double u : us)
    worst = std::max(worst, u);
  std::printf("FIGURE api 8-byte all-reduce, 4 thread-ranks on one GPU: %.2f us (goal <= 15 us)\n",
              worst);
}

// Rank 3 never calls a call of `count` int32 (and stays until the others are done): the
// others' kernels give up at WEFT_TIMEOUT_MS (2 s), their streams go on, and the
// communicator's error names rank 3.
void NeverCallingRankIsNamed(size_t count, const char* path) {
  std::atomic<int> done{0};
  OnThreadRanks(
      2000,
      [&](int rank, weftComm_t comm, cudaStream_t stream) {
        void *in = nullptr, *out = nullptr;
        ASSERT_EQ(cudaSuccess, cudaMalloc(&in, count * 4));
        ASSERT_EQ(cudaSuccess, cudaMalloc(&out, count * 4));
        // Everyone once (sets the device side up), then ranks 0-2 again.
        ASSERT_EQ(weftSuccess, weftAllReduce(in, out, count, weftInt32, weftSum, comm, stream));
        ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
        EXPECT_STREQ(path, comm->impl->DevicePath());
        if (rank != 3) {
          const auto start = std::chrono::steady_clock::now();
          ASSERT_EQ(weftSuccess, weftAllReduce(in, out, count, weftInt32, weftSum, comm, stream));
          EXPECT_EQ(cudaSuccess, cudaStreamSynchronize(stream));  // released
          EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
          weftResult_t async = weftSuccess;
          for (int i = 0; i < 100 && async == weftSuccess; ++i) {
            weftCommGetAsyncError(comm, &async);
            if (async == weftSuccess) std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          EXPECT_EQ(weftTimeout, async) << weftGetLastError(comm);
          EXPECT_NE(std::string::npos, std::string(weftGetLastError(comm)).find("rank 3"))
              << weftGetLastError(comm);
          ++done;
        } else {
          const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
          while (done.load() < 3 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::yield();
        }
        cudaFree(in);
        cudaFree(out);
      },
      false);
}

TEST(DeviceOneShot, ARankThatNeverCallsIsNamedAndTheStreamsReleased) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  NeverCallingRankIsNamed(16, "oneshot-kernel");
}

TEST(DeviceDirect, ARankThatNeverCallsIsNamedAndTheStreamsReleased) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  NeverCallingRankIsNamed(size_t{1} << 20, "direct-kernel");
}

// Past the one-shot size: every collective through the direct kernel, in and out of place,
// every root, counts that do and do not fill its 128-byte units, int32 and float (integer
// values: float sums are exact too).
TEST(DeviceDirect, EveryCollectiveIsExact) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  OnThreadRanks(60000, [](int rank, weftComm_t comm, cudaStream_t stream) {
    for (size_t count : {size_t{16385}, size_t{300007}, size_t{1} << 21}) {
      const size_t big = count * kRanks;
      void *d_in = nullptr, *d_out = nullptr;
      ASSERT_EQ(cudaSuccess, cudaMalloc(&d_in, big * 4));
      ASSERT_EQ(cudaSuccess, cudaMalloc(&d_out, big * 4));
      std::vector<int32_t> in(big), got(big);
      for (size_t i = 0; i < big; ++i)
        in[i] = Value(rank, i, 2);
      auto load = [&] {
        ASSERT_EQ(cudaSuccess, cudaMemcpy(d_in, in.data(), big * 4, cudaMemcpyHostToDevice));
        ASSERT_EQ(cudaSuccess, cudaMemset(d_out, 0xff, big * 4));
      };
      auto fetch = [&](const void* from, size_t n) {
        ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream)) << weftGetLastError(comm);
        EXPECT_STREQ("direct-kernel", comm->impl->DevicePath()) << "count " << count;
        ASSERT_EQ(cudaSuccess, cudaMemcpy(got.data(), from, n * 4, cudaMemcpyDeviceToHost));
      };
      auto sum = [&](size_t i) {
        int32_t acc = 0;
        for (int q = 0; q < kRanks; ++q)
          acc += Value(q, i, 2);
        return acc;
      };
      for (bool in_place : {false, true}) {
        SCOPED_TRACE(testing::Message() << "rank " << rank << ", count " << count
                                        << (in_place ? ", in place" : ", out of place"));
        void* out = in_place ? d_in : d_out;
        load();
        ASSERT_EQ(weftSuccess, weftAllReduce(d_in, out, count, weftInt32, weftSum, comm, stream))
            << weftGetLastError(comm);
        fetch(out, count);
        for (size_t i = 0; i < count; ++i)
          ASSERT_EQ(sum(i), got[i]) << "allreduce int32 " << i;
        // Float (integer values: exact sums), loaded in place of the int32 input.
        std::vector<float> in_float(count);
        for (size_t i = 0; i < count; ++i)
          in_float[i] = static_cast<float>(in[i]);
        ASSERT_EQ(cudaSuccess,
                  cudaMemcpy(d_in, in_float.data(), count * 4, cudaMemcpyHostToDevice));
        ASSERT_EQ(weftSuccess, weftAllReduce(d_in, out, count, weftFloat32, weftSum, comm, stream));
        fetch(out, count);
        for (size_t i = 0; i < count; ++i) {
          const float expect = static_cast<float>(sum(i));
          ASSERT_EQ(0, std::memcmp(&expect, &got[i], 4)) << "allreduce float " << i;
        }
        load();
        // In place, the rank's block sits at its place in the output (NCCL's layout).
        void* gather_in =
            in_place ? static_cast<void*>(static_cast<int32_t*>(d_in) + rank * count) : d_in;
        if (in_place) {
          ASSERT_EQ(cudaSuccess,
                    cudaMemcpy(gather_in, in.data(), count * 4, cudaMemcpyHostToDevice));
        }
        ASSERT_EQ(weftSuccess, weftAllGather(gather_in, out, count, weftInt32, comm, stream));
        fetch(out, big);
        for (size_t i = 0; i < big; ++i)
          ASSERT_EQ(Value(static_cast<int>(i / count), i % count, 2), got[i]) << "allgather " << i;
        load();
        void* scatter_out =
            in_place ? static_cast<void*>(static_cast<int32_t*>(d_in) + rank * count) : d_out;
        ASSERT_EQ(weftSuccess,
                  weftReduceScatter(d_in, scatter_out, count, weftInt32, weftSum, comm, stream));
        fetch(scatter_out, count);
        for (size_t i = 0; i < count; ++i)
          ASSERT_EQ(sum(static_cast<size_t>(rank) * count + i), got[i]) << "reducescatter " << i;
        for (int root = 0; root < kRanks; ++root) {
          load();
          ASSERT_EQ(weftSuccess, weftBroadcast(d_in, out, count, weftInt32, root, comm, stream));
          fetch(out, count);
          for (size_t i = 0; i < count; ++i)
            ASSERT_EQ(Value(root, i, 2), got[i]) << "broadcast from " << root << ", " << i;
          load();
          ASSERT_EQ(weftSuccess,
                    weftReduce(d_in, out, count, weftInt32, weftSum, root, comm, stream));
          fetch(out, count);
          for (size_t i = 0; rank == root && i < count; ++i)
            ASSERT_EQ(sum(i), got[i]) << "reduce to " << root << ", " << i;
        }
      }
      cudaFree(d_in);
      cudaFree(d_out);
    }
  });
}

// Large calls in a CUDA graph: three 4 MiB all-reduces (the direct kernel).
TEST(DeviceDirect, CapturedAllReducesReplayExact) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  CapturedAllReducesReplayExact(3, size_t{1} << 20, "direct-kernel");
}

// The staged mode and its buffer cache on one GPU (WEFT_CUDA_FORCE_STAGED: thread-ranks
// run what processes each on its own GPU run, peers' allocations reached by pointer). Four
// all-reduces of 4 MiB on the same buffers, each exact: the first goes through the staging
// and publishes the buffers; every peer maps them when it launches its second; from the
// third on, each rank's input is read where it lies. Then the input is freed and allocated
// again: published anew, staged first, exact throughout.
TEST(DeviceDirect, CachedBuffersAreReadInPlaceOnceEveryPeerHasMappedThem) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  setenv("WEFT_CUDA_FORCE_STAGED", "1", 1);
  constexpr size_t kCount = size_t{1} << 20;
  OnThreadRanks(60000, [](int rank, weftComm_t comm, cudaStream_t stream) {
    void *in = nullptr, *out = nullptr;
    ASSERT_EQ(cudaSuccess, cudaMalloc(&in, kCount * 4));
    ASSERT_EQ(cudaSuccess, cudaMalloc(&out, kCount * 4));
    std::vector<int32_t> host(kCount);
    std::vector<std::string> paths;
    auto call = [&](int round) {
      for (size_t i = 0; i < kCount; ++i)
        host[i] = Value(rank, i, round);
      ASSERT_EQ(cudaSuccess, cudaMemcpy(in, host.data(), kCount * 4, cudaMemcpyHostToDevice));
      ASSERT_EQ(weftSuccess, weftAllReduce(in, out, kCount, weftInt32, weftSum, comm, stream))
          << weftGetLastError(comm);
      paths.push_back(comm->impl->DevicePath());
      ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
      ASSERT_EQ(cudaSuccess, cudaMemcpy(host.data(), out, kCount * 4, cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < kCount; ++i) {
        int32_t expect = 0;
        for (int q = 0; q < kRanks; ++q)
          expect += Value(q, i, round);
        ASSERT_EQ(expect, host[i]) << "rank " << rank << ", round " << round << ", element " << i;
      }
    };
    for (int round = 0; round < 4; ++round)
      call(round);
    EXPECT_EQ("direct-staged-kernel", paths[0]);
    EXPECT_EQ("direct-inplace-kernel", paths[2]);
    EXPECT_EQ("direct-inplace-kernel", paths[3]);
    // Every rank is done with the old input before any frees it (peers read it in place).
    int32_t token = 0;
    ASSERT_EQ(weftSuccess, weftAllReduce(&token, &token, 1, weftInt32, weftSum, comm, nullptr));
    ASSERT_EQ(cudaSuccess, cudaFree(in));
    ASSERT_EQ(cudaSuccess, cudaMalloc(&in, kCount * 4));
    for (int round = 4; round < 8; ++round)
      call(round);
    EXPECT_EQ("direct-staged-kernel", paths[4]) << "the new allocation is published anew";
    EXPECT_EQ("direct-inplace-kernel", paths[7]);
    cudaFree(in);
    cudaFree(out);
  });
  unsetenv("WEFT_CUDA_FORCE_STAGED");
}

// The device-to-device copy's rate (bytes copied per second) over `bytes`, the memory bound's
// unit: a copy moves 2 bytes of HBM traffic per byte copied.
double CopyRate(size_t bytes) {
  void *a = nullptr, *b = nullptr;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess) return 0;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
  constexpr int kIters = 10;
  cudaEventRecord(start);
  for (int i = 0; i < kIters; ++i)
    cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
  cudaEventRecord(stop);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(a);
  cudaFree(b);
  return static_cast<double>(bytes) * kIters / (ms * 1e-3);
}

// Busbw of 256 MiB all-reduce, all-gather and reduce-scatter (nccl-tests' factors) with 4
// thread-ranks, beside each one's memory bound: the HBM traffic the direct kernel moves for
// all four ranks (all-reduce 11 x S: each rank reads S + 3S/4 and writes S; all-gather 8 x S;
// reduce-scatter 5 x S), at the rate of the copy measured here.
TEST(DeviceDirect, LargeCallsAgainstTheMemoryBound) {
  if (!HaveGpu()) GTEST_SKIP() << "no CUDA device";
  constexpr size_t kBytes = size_t{256} << 20;
  const double copy = CopyRate(kBytes);
  ASSERT_GT(copy, 0);
  std::printf("FIGURE device-to-device copy, 256 MiB: %.1f GB/s\n", copy / 1e9);
  struct Case {
    const char* name;
    double traffic;  // x S, all ranks together
    double bus;      // nccl-tests' bus factor for 4 ranks
    double goal;     // GB/s, issue 17 (0: only the 70 % of the bound)
  };
  for (const Case& c : {Case{"all-reduce", 11, 1.5, 400}, Case{"all-gather", 8, 0.75, 0},
                        Case{"reduce-scatter", 5, 0.75, 0}}) {
    constexpr int kIters = 10;
    std::vector<double> seconds(kRanks, 0);
    std::atomic<int> ready{0};
    OnThreadRanks(60000, [&](int rank, weftComm_t comm, cudaStream_t stream) {
      const size_t count = kBytes / 4;
      void *in = nullptr, *out = nullptr;
      ASSERT_EQ(cudaSuccess, cudaMalloc(&in, kBytes));
      ASSERT_EQ(cudaSuccess, cudaMalloc(&out, kBytes));
      auto call = [&] {
        const std::string name = c.name;
        if (name == "all-reduce")
          return weftAllReduce(in, out, count, weftFloat32, weftSum, comm, stream);
        if (name == "all-gather")
          return weftAllGather(in, out, count / kRanks, weftFloat32, comm, stream);
        return weftReduceScatter(in, out, count / kRanks, weftFloat32, weftSum, comm, stream);
      };
      for (int i = 0; i < 3; ++i)
        ASSERT_EQ(weftSuccess, call()) << weftGetLastError(comm);
      ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
      EXPECT_STREQ("direct-kernel", comm->impl->DevicePath());
      // Everyone starts timing together (the calls wait for each other anyway).
      ++ready;
      while (ready.load() < kRanks)
        std::this_thread::yield();
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kIters; ++i)
        ASSERT_EQ(weftSuccess, call());
      ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
      seconds[rank] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kIters;
      cudaFree(in);
      cudaFree(out);
    });
    const double t = *std::max_element(seconds.begin(), seconds.end());
    const double busbw = kBytes / t * c.bus / 1e9;
    const double bound = kBytes / (c.traffic * kBytes / (2 * copy)) * c.bus / 1e9;
    std::printf(
        "FIGURE direct %s 256 MiB, 4 thread-ranks: busbw %.1f GB/s, bound %.1f GB/s "
        "(%.0f x S at the copy's rate), %.0f%% of it (goal >= 70%%%s)\n",
        c.name, busbw, bound, c.traffic, 100 * busbw / bound, c.goal > 0 ? " and >= 400 GB/s" : "");
  }
}

}  // namespace
