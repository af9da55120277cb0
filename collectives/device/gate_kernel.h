#pragma once

#include <cstdint>

namespace weft {
// Queues a one-thread kernel on `stream` that returns once *gate >= value (wrap-around
// safe). Returns the cudaError_t of the launch.
int LaunchGateSpin(const volatile uint32_t* gate, uint32_t value, void* stream);
// Loads the kernel now (see PreloadDeviceKernels); returns the cudaError_t.
int PreloadGateKernel();
}  // namespace weft
