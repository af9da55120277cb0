#include <cuda_runtime.h>

#include "collectives/device/kernel_preload.cuh"
#include "collectives/device/one_shot_kernel.h"
#include "collectives/reduce/device_formats.cuh"
#include "collectives/reduce/reduce_ops.h"

namespace weft {
namespace {

template <typename F, typename Op>
__global__ void OneShotKernel(proto::OneShotArgs args, uint32_t* status) {
  const proto::WaitResult r = proto::OneShot<F, Op>(args, threadIdx.x, blockDim.x);
  // A store, not an atomic: `status` may be mapped host memory, where read-modify-writes
  // need the platform's support. Any thread's failure will do.
  if (r != proto::WaitResult::kReady) proto::StoreRelease(status, static_cast<uint32_t>(r));
  __syncthreads();
  if (threadIdx.x == 0) *args.epoch += 1;  // every thread has read it
}

// Calls fn(kernel) with the kernel of (type, op); cudaErrorInvalidValue for a type outside
// the API's.
template <typename Fn>
cudaError_t WithKernel(weftDataType_t type, weftRedOp_t op, Fn&& fn) {
  return VisitDeviceFormat(type, [&](auto f) {
    return VisitOp(op, [&](auto o) {
      return fn(OneShotKernel<typename decltype(f)::type, typename decltype(o)::type>);
    });
  });
}

}  // namespace

bool OneShotServes(weftDataType_t type) {
  return VisitDeviceFormat(type, [](auto) { return cudaSuccess; }) == cudaSuccess;
}

Status PreloadOneShotKernels() {
  return PreloadKernelFamily("one-shot", [](weftDataType_t type, weftRedOp_t op, auto fn) {
    return WithKernel(type, op, fn);
  });
}

Status LaunchOneShot(const proto::OneShotArgs& args, weftDataType_t type, weftRedOp_t op,
                     int threads, uint32_t* status, void* stream) {
  WEFT_REQUIRE(OneShotServes(type), weftInvalidArgument,
               "the one-shot kernel does not serve data type %d", static_cast<int>(type));
  WEFT_REQUIRE(threads >= 1 && threads <= 1024, weftInvalidArgument, "%d threads", threads);
  const cudaError_t e = WithKernel(type, op, [&](auto kernel) {
    kernel<<<1, threads, 0, static_cast<cudaStream_t>(stream)>>>(args, status);
    return cudaGetLastError();
  });
  WEFT_REQUIRE(e == cudaSuccess, weftUnhandledCudaError, "one-shot kernel launch: %s",
               cudaGetErrorString(e));
  return Status::Ok();
}

}  // namespace weft
