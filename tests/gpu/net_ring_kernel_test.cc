// The ring kernel across hosts (collectives/device/net_ring_kernel.h) on one GPU, ranks as
// threads of one process, each with a NetProxy whose FIFOs are pinned host memory mapped
// into the device (AllocateMappedRegion), moved over the loopback transport by this thread:
// the kernel reduces and writes the FIFOs, the proxy only moves slots. Every collective,
// float and int32, sum and max, exact against the ring-order fold; then the time of a
// 64 MiB all-reduce, printed as a figure for scripts/gpu-check.sh (the loopback transport
// copies on one host thread, so it is the protocol's cost here, not a network's). Skipped
// without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "collectives/device/cuda_device.h"
#include "collectives/device/net_proxy.h"
#include "collectives/device/net_ring_kernel.h"
#include "tests/gpu/gpu_ranks.h"
#include "transport/loopback/loopback.h"

namespace weft {
namespace {

constexpr int kRanks = 4;
constexpr int kChannels = 2;

bool HaveGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

struct Job : GpuRanks<kRanks> {
  explicit Job(size_t max_bytes) : GpuRanks(max_bytes), fabric(kRanks, 1 << 20) {
    std::vector<int> ring(kRanks);
    std::iota(ring.begin(), ring.end(), 0);
    for (int r = 0; r < kRanks; ++r) {
      NetProxyOptions o;
      o.ring = ring;
      o.rank = r;
      o.channels = kChannels;
      o.first_tag_channel = kProxyFirstTagChannel;
      o.shape.slot_bytes = 512 << 10;
      o.shape.nslots = 4;
      o.allocate = AllocateMappedRegion;
      Status s = NetProxy::Create(fabric.transport(r), o, &proxy[r]);
      EXPECT_TRUE(s.ok()) << s.message();
    }
  }
  ~Job() { cudaDeviceSynchronize(); }

  // Launches every rank's kernel and drives the proxies until each is done.
  Status Run(proto::DeviceColl coll, size_t count, int root, weftDataType_t type, weftRedOp_t op) {
    for (int r = 0; r < kRanks; ++r) {
      NetProxy* p = proxy[r].get();
      p->Start();
      CollArgs call;
      call.send = in[r];
      call.recv = out[r];
      call.count = count;
      call.root = root;
      proto::NetRingArgs a = p->KernelArgs(call, 20'000);
      a.coll = coll;  // the protocol's names, as the test lists its calls
      WEFT_CHECK(LaunchNetRing(a, type, op, p->kernel_status(), p->kernel_finished(), stream[r]));
    }
    bool done[kRanks] = {};
    for (int left = kRanks; left > 0;) {
      for (int r = 0; r < kRanks; ++r) {
        if (done[r]) continue;
        Status s = proxy[r]->Advance(&done[r]);
        if (!s.ok()) {
          for (auto& p : proxy)
            p->Abort();
          cudaDeviceSynchronize();
          return s;
        }
        if (done[r]) --left;
      }
    }
    return cudaDeviceSynchronize() == cudaSuccess ? Status::Ok()
                                                  : InternalError("the ring kernel failed");
  }

  LoopbackFabric fabric;
  std::unique_ptr<NetProxy> proxy[kRanks];
};

template <typename T>
T Value(int rank, size_t i) {
  return static_cast<T>(static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13) % 11) - 3);
}

// Sum and max of small integers are exact in any order, so the fold's order does not show.
template <typename T>
void CheckEveryCollective(Job& job, weftDataType_t type, weftRedOp_t op, size_t count) {
  const bool max = op == weftMax;
  auto reduce = [&](size_t i, size_t block) {
    T acc = Value<T>(0, block * count + i);
    for (int r = 1; r < kRanks; ++r) {
      const T v = Value<T>(r, block * count + i);
      acc = max ? (v > acc ? v : acc) : static_cast<T>(acc + v);
    }
    return acc;
  };
  for (proto::DeviceColl coll :
       {proto::DeviceColl::kAllReduce, proto::DeviceColl::kReduceScatter,
        proto::DeviceColl::kAllGather, proto::DeviceColl::kBroadcast, proto::DeviceColl::kReduce}) {
    const size_t in_elems = coll == proto::DeviceColl::kReduceScatter ? kRanks * count : count;
    const size_t out_elems = coll == proto::DeviceColl::kAllGather ? kRanks * count : count;
    for (int r = 0; r < kRanks; ++r) {
      std::vector<T> v(in_elems);
      for (size_t i = 0; i < in_elems; ++i)
        v[i] = Value<T>(r, i);
      cudaMemcpy(job.in[r], v.data(), in_elems * sizeof(T), cudaMemcpyHostToDevice);
      cudaMemset(job.out[r], 0, out_elems * sizeof(T));
    }
    const int root = 1;
    const Status s = job.Run(coll, count, root, type, op);
    ASSERT_TRUE(s.ok()) << s.message();
    for (int r = 0; r < kRanks; ++r) {
      std::vector<T> got(out_elems);
      cudaMemcpy(got.data(), job.out[r], out_elems * sizeof(T), cudaMemcpyDeviceToHost);
      for (size_t i = 0; i < out_elems; ++i) {
        T want{};
        switch (coll) {
          case proto::DeviceColl::kAllReduce:
            want = reduce(i, 0);
            break;
          case proto::DeviceColl::kReduceScatter:
            want = reduce(i, static_cast<size_t>(r));
            break;
          case proto::DeviceColl::kAllGather:
            want = Value<T>(static_cast<int>(i / count), i % count);
            break;
          case proto::DeviceColl::kBroadcast:
            want = Value<T>(root, i);
            break;
          case proto::DeviceColl::kReduce:
            if (r != root) continue;
            want = reduce(i, 0);
            break;
        }
        ASSERT_EQ(want, got[i]) << "coll " << static_cast<int>(coll) << " rank " << r << " element "
                                << i;
      }
    }
  }
}

TEST(NetRingKernel, EveryCollectiveIsExact) {
  if (!HaveGpu()) GTEST_SKIP() << "no GPU";
  Job job(size_t{4} * 1000003 * sizeof(double));
  for (size_t count : {size_t{1}, size_t{1000}, size_t{1000003}}) {
    CheckEveryCollective<float>(job, weftFloat32, weftSum, count);
    CheckEveryCollective<int32_t>(job, weftInt32, weftMax, count);
  }
}

TEST(NetRingKernel, AllReduceTimeOverLoopback) {
  if (!HaveGpu()) GTEST_SKIP() << "no GPU";
  const size_t bytes = size_t{64} << 20;
  Job job(bytes);
  ASSERT_TRUE(job.Run(proto::DeviceColl::kAllReduce, bytes / 4, 0, weftFloat32, weftSum).ok());
  const auto start = std::chrono::steady_clock::now();
  constexpr int kIters = 5;
  for (int i = 0; i < kIters; ++i)
    ASSERT_TRUE(job.Run(proto::DeviceColl::kAllReduce, bytes / 4, 0, weftFloat32, weftSum).ok());
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kIters;
  const double busbw = 2.0 * (kRanks - 1) / kRanks * static_cast<double>(bytes) / s / 1e9;
  std::printf(
      "FIGURE net-ring kernel + proxy over loopback, all-reduce 64 MiB, %d thread-ranks: "
      "%.2f ms, busbw %.2f GB/s (one host thread copies every message)\n",
      kRanks, s * 1e3, busbw);
}

}  // namespace
}  // namespace weft
