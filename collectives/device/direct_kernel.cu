#include <cuda_runtime.h>

#include "collectives/device/direct_kernel.h"
#include "collectives/device/kernel_preload.cuh"
#include "collectives/device/one_shot_kernel.h"
#include "collectives/device/proto/direct_staged.h"
#include "collectives/reduce/device_formats.cuh"
#include "collectives/reduce/reduce_ops.h"

namespace weft {
namespace {

template <typename F, typename Op>
__global__ void __launch_bounds__(kDirectThreads)
    DirectKernel(proto::DirectArgs args, uint32_t* status) {
  __shared__ uint32_t shared;
  const int channel = static_cast<int>(blockIdx.x);
  const proto::WaitResult r =
      args.staging != nullptr
          ? proto::DirectStaged<F, Op>(args, channel, threadIdx.x, blockDim.x, &shared)
          : proto::Direct<F, Op>(args, channel, threadIdx.x, blockDim.x, &shared);
  // A store, not an atomic (mapped host memory); every thread of the block saw the same r.
  if (r != proto::WaitResult::kReady && threadIdx.x == 0)
    proto::StoreRelease(status, static_cast<uint32_t>(r));
}

template <typename Fn>
cudaError_t WithKernel(weftDataType_t type, weftRedOp_t op, Fn&& fn) {
  return VisitDeviceFormat(type, [&](auto f) {
    return VisitOp(op, [&](auto o) {
      return fn(DirectKernel<typename decltype(f)::type, typename decltype(o)::type>);
    });
  });
}

}  // namespace

Status PreloadDirectKernels() {
  return PreloadKernelFamily("direct", [](weftDataType_t type, weftRedOp_t op, auto fn) {
    return WithKernel(type, op, fn);
  });
}

Status LaunchDirect(const proto::DirectArgs& args, weftDataType_t type, weftRedOp_t op,
                    uint32_t* status, void* stream) {
  WEFT_REQUIRE(OneShotServes(type), weftInvalidArgument,
               "the direct kernel does not serve data type %d", static_cast<int>(type));
  WEFT_REQUIRE(args.channels >= 1 && args.channels <= proto::kDirectMaxChannels &&
                   args.nranks >= 1 && args.nranks <= proto::kDirectMaxRanks,
               weftInvalidArgument, "direct kernel: %d channels, %d ranks", args.channels,
               args.nranks);
  WEFT_REQUIRE(
      args.staging == nullptr || args.staging_bytes >= proto::DirectStagedMinBytes(args.nranks),
      weftInvalidArgument, "direct kernel: %zu bytes of staging per channel for %d ranks",
      args.staging_bytes, args.nranks);
  const cudaError_t e = WithKernel(type, op, [&](auto kernel) {
    kernel<<<args.channels, kDirectThreads, 0, static_cast<cudaStream_t>(stream)>>>(args, status);
    return cudaGetLastError();
  });
  WEFT_REQUIRE(e == cudaSuccess, weftUnhandledCudaError, "direct kernel launch: %s",
               cudaGetErrorString(e));
  return Status::Ok();
}

}  // namespace weft
