#pragma once

#include <cstdint>

namespace weft {
// Queues a one-thread kernel on `stream` that returns once *gate >= value (wrap-around
// safe). Returns the cudaError_t of the launch.
int LaunchGateSpin(const volatile uint32_t* gate, uint32_t value, void* stream);
}  // namespace weft
