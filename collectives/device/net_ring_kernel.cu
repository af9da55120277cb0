#include <cuda_runtime.h>

#include "collectives/device/net_ring_kernel.h"
#include "collectives/device/one_shot_kernel.h"
#include "collectives/reduce/device_formats.cuh"
#include "collectives/reduce/reduce_ops.h"

namespace weft {
namespace {

template <typename F, typename Op>
__global__ void __launch_bounds__(kNetRingThreads)
    NetRingKernel(proto::NetRingArgs args, uint32_t* status, uint32_t* finished) {
  __shared__ uint32_t shared;
  const proto::WaitResult r =
      proto::NetRing<F, Op>(args, static_cast<int>(blockIdx.x), threadIdx.x, blockDim.x, &shared);
  if (threadIdx.x == 0) {
    if (r != proto::WaitResult::kReady) proto::StoreRelease(status, static_cast<uint32_t>(r));
    // The block's status and its output before the proxy learns it has returned.
    __threadfence_system();
    atomicAdd_system(finished, 1u);
  }
}

template <typename Fn>
cudaError_t WithKernel(weftDataType_t type, weftRedOp_t op, Fn&& fn) {
  return VisitDeviceFormat(type, [&](auto f) {
    return VisitOp(op, [&](auto o) {
      return fn(NetRingKernel<typename decltype(f)::type, typename decltype(o)::type>);
    });
  });
}

}  // namespace

Status LaunchNetRing(const proto::NetRingArgs& args, weftDataType_t type, weftRedOp_t op,
                     uint32_t* status, uint32_t* finished, void* stream) {
  WEFT_REQUIRE(OneShotServes(type), weftInvalidArgument,
               "the ring kernel does not serve data type %d", static_cast<int>(type));
  WEFT_REQUIRE(
      args.channels >= 1 && args.channels <= proto::kNetRingMaxChannels && args.nranks >= 1,
      weftInvalidArgument, "ring kernel: %d channels, %d ranks", args.channels, args.nranks);
  const cudaError_t e = WithKernel(type, op, [&](auto kernel) {
    kernel<<<args.channels, kNetRingThreads, 0, static_cast<cudaStream_t>(stream)>>>(args, status,
                                                                                     finished);
    return cudaGetLastError();
  });
  WEFT_REQUIRE(e == cudaSuccess, weftUnhandledCudaError, "ring kernel launch: %s",
               cudaGetErrorString(e));
  return Status::Ok();
}

}  // namespace weft
