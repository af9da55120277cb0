// Loading a kernel family's every instantiation at set-up. CUDA loads kernels lazily, at
// their first launch, and that load waits for the device: behind a kernel of a peer that
// spins waiting for this rank, it would never come (docs/cuda.md: lazy module loading).
#pragma once

#include <cuda_runtime.h>

#include "collectives/reduce/device_formats.cuh"
#include "common/status.h"

namespace weft {

// with_kernel(type, op, fn) calls fn with the family's kernel for (type, op), as each
// family's WithKernel does; `family` names it in the error.
template <typename WithKernel>
Status PreloadKernelFamily(const char* family, WithKernel&& with_kernel) {
  for (int t = 0; t < weftNumTypes; ++t) {
    const auto type = static_cast<weftDataType_t>(t);
    if (VisitDeviceFormat(type, [](auto) { return cudaSuccess; }) != cudaSuccess) continue;
    for (weftRedOp_t op : {weftSum, weftProd, weftMax, weftMin}) {
      const cudaError_t e = with_kernel(type, op, [](auto kernel) {
        cudaFuncAttributes attr;
        return cudaFuncGetAttributes(&attr, kernel);
      });
      WEFT_REQUIRE(e == cudaSuccess, weftUnhandledCudaError, "loading the %s kernels: %s", family,
                   cudaGetErrorString(e));
    }
  }
  return Status::Ok();
}

}  // namespace weft
