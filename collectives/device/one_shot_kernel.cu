#include <cuda_runtime.h>

#include "collectives/device/one_shot_kernel.h"
#include "collectives/reduce/reduce_ops.h"

namespace weft {
namespace {

template <typename T, typename Op>
__global__ void OneShotAllReduceKernel(proto::OneShotArgs args, uint32_t* status) {
  const proto::WaitResult r =
      proto::OneShotAllReduce<proto::Native<T>, Op>(args, threadIdx.x, blockDim.x);
  if (r != proto::WaitResult::kReady) atomicMax(status, static_cast<uint32_t>(r));
  __syncthreads();
  if (threadIdx.x == 0) *args.epoch += 1;  // every thread has read it
}

template <typename T>
cudaError_t LaunchFor(weftRedOp_t op, const proto::OneShotArgs& a, int threads, uint32_t* status,
                      cudaStream_t s) {
  return VisitOp(op, [&](auto tag) {
    using Op = typename decltype(tag)::type;
    OneShotAllReduceKernel<T, Op><<<1, threads, 0, s>>>(a, status);
    return cudaGetLastError();
  });
}

template <typename T>
cudaError_t PreloadFor() {
  for (weftRedOp_t op : {weftSum, weftProd, weftMax, weftMin}) {
    const cudaError_t e = VisitOp(op, [](auto tag) {
      using Op = typename decltype(tag)::type;
      cudaFuncAttributes attr;
      return cudaFuncGetAttributes(&attr, OneShotAllReduceKernel<T, Op>);
    });
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

}  // namespace

Status PreloadOneShotKernels() {
  for (cudaError_t e :
       {PreloadFor<int8_t>(), PreloadFor<uint8_t>(), PreloadFor<int32_t>(), PreloadFor<uint32_t>(),
        PreloadFor<int64_t>(), PreloadFor<uint64_t>(), PreloadFor<float>(), PreloadFor<double>()})
    WEFT_REQUIRE(e == cudaSuccess, weftUnhandledCudaError, "loading the one-shot kernels: %s",
                 cudaGetErrorString(e));
  return Status::Ok();
}

bool OneShotServes(weftDataType_t type) {
  switch (type) {
    case weftInt8:
    case weftUint8:
    case weftInt32:
    case weftUint32:
    case weftInt64:
    case weftUint64:
    case weftFloat32:
    case weftFloat64:
      return true;
    default:
      return false;
  }
}

Status LaunchOneShotAllReduce(const proto::OneShotArgs& args, weftDataType_t type, weftRedOp_t op,
                              int threads, uint32_t* status, void* stream) {
  WEFT_REQUIRE(OneShotServes(type), weftInvalidArgument,
               "the one-shot kernel does not serve data type %d", static_cast<int>(type));
  WEFT_REQUIRE(threads >= 1 && threads <= 1024, weftInvalidArgument, "%d threads", threads);
  auto s = static_cast<cudaStream_t>(stream);
  cudaError_t e = cudaErrorInvalidValue;
  switch (type) {
    case weftInt8:
      e = LaunchFor<int8_t>(op, args, threads, status, s);
      break;
    case weftUint8:
      e = LaunchFor<uint8_t>(op, args, threads, status, s);
      break;
    case weftInt32:
      e = LaunchFor<int32_t>(op, args, threads, status, s);
      break;
    case weftUint32:
      e = LaunchFor<uint32_t>(op, args, threads, status, s);
      break;
    case weftInt64:
      e = LaunchFor<int64_t>(op, args, threads, status, s);
      break;
    case weftUint64:
      e = LaunchFor<uint64_t>(op, args, threads, status, s);
      break;
    case weftFloat32:
      e = LaunchFor<float>(op, args, threads, status, s);
      break;
    case weftFloat64:
      e = LaunchFor<double>(op, args, threads, status, s);
      break;
    default:
      break;
  }
  WEFT_REQUIRE(e == cudaSuccess, weftUnhandledCudaError, "one-shot all-reduce launch: %s",
               cudaGetErrorString(e));
  return Status::Ok();
}

}  // namespace weft
