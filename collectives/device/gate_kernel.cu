// The stream gate's fallback where the driver has no stream wait-value: one thread that
// polls the gate counter in pinned host memory, sleeping between reads.
#include <cuda_runtime.h>

#include <cstdint>

#include "collectives/device/gate_kernel.h"

namespace weft {
namespace {

__global__ void GateSpinKernel(const volatile uint32_t* gate, uint32_t value) {
  // Wrap-around safe, as cuStreamWaitValue32's GEQ: (int32)(*gate - value) >= 0.
  while (static_cast<int32_t>(*gate - value) < 0)
    __nanosleep(2000);
}

}  // namespace

int LaunchGateSpin(const volatile uint32_t* gate, uint32_t value, void* stream) {
  GateSpinKernel<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>(gate, value);
  return static_cast<int>(cudaGetLastError());
}

int PreloadGateKernel() {
  cudaFuncAttributes attr;
  return static_cast<int>(cudaFuncGetAttributes(&attr, GateSpinKernel));
}

}  // namespace weft
