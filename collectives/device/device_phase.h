// What one launch of the device reduction kernel does, as plain data. The host fills it in
// memory the GPU can read (pinned, mapped) before it opens the stream gate in front of the
// launch, so a kernel queued before the peers' buffer addresses were known still finds them.
#pragma once

#include <cstdint>

namespace weft {

constexpr int kMaxDeviceInputs = 16;  // inputs of one task: the ranks of one host at most
constexpr int kMaxDeviceTasks = 16;   // tasks of one launch

// out[i] = in[0][i] op in[1][i] op ... for i < count; one input is a copy.
struct DeviceTask {
  uint32_t ninputs = 0;
  uint32_t reserved = 0;
  uint64_t count = 0;
  const void* in[kMaxDeviceInputs] = {};
  void* out = nullptr;
};

struct DevicePhase {
  // Non-zero: the kernel returns at once. Set when the collective failed (a peer died, a
  // timeout), so a stream that was already queued drains without touching user memory.
  uint32_t skip = 0;
  uint32_t ntasks = 0;
  int32_t divisor = 0;  // > 0: divide each result by it (weftAvg), after rounding the sum
  uint32_t reserved = 0;
  DeviceTask task[kMaxDeviceTasks];
};

}  // namespace weft
