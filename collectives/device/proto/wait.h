// The one wait every device protocol loop uses: spin until a condition holds, looking at the
// communicator's abort flag (mapped host memory: each look crosses PCIe) and the clock every
// kSpinsPerAbortCheck spins and before the first. A wait never spins forever:
// WEFT_TIMEOUT_MS becomes its timeout, weftCommAbort and peer death the flag.
#pragma once

#include <cstdint>

#include "collectives/device/proto/mem_ops.h"

namespace weft::proto {

// kNotYet: a polling caller's looks ran out (WaitLimits::max_looks); it comes back later.
enum class WaitResult : uint32_t { kReady = 0, kAborted = 1, kTimedOut = 2, kNotYet = 3 };

// Where a wait gives up. The timeout is relative (each side's clock is its own: the GPU's
// global timer is not the host's steady clock) and counts from the wait's first look.
struct WaitLimits {
  const uint32_t* abort_flag = nullptr;  // nonzero: give up (null: never)
  uint64_t timeout_ns = 0;               // 0: never
  // A caller that must not block (the host's plan runner, whose drive loop watches the
  // clock, aborts and peers) gives up after this many looks (0: never).
  uint32_t max_looks = 0;
};

constexpr uint32_t kSpinsPerAbortCheck = 1024;

template <typename Ready>
WEFT_HOST_DEVICE WaitResult SpinUntil(Ready ready, const WaitLimits& limits) {
  uint64_t start = 0;
  for (uint32_t spins = 0;; ++spins) {
    if (spins % kSpinsPerAbortCheck == 0) {
      if (spins > 0) Yield();
      if (limits.abort_flag != nullptr && LoadAcquire(limits.abort_flag) != 0)
        return WaitResult::kAborted;
      if (limits.timeout_ns != 0) {
        const uint64_t now = NowNs();
        if (spins == 0)
          start = now;
        else if (now - start >= limits.timeout_ns)
          return WaitResult::kTimedOut;
      }
    }
    if (ready()) return WaitResult::kReady;
    if (limits.max_looks != 0 && spins + 1 >= limits.max_looks) return WaitResult::kNotYet;
    Pause();
  }
}

}  // namespace weft::proto
