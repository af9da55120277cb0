// The low-latency (LL) protocol's line, NCCL's: 16 bytes carrying 8 bytes of data, each
// 8-byte word 4 bytes of data and a 4-byte flag stored in one go, so a reader that sees the
// flag it expects sees the data beside it: no fence, no separate counter, one hop. Half of
// the bytes are flags: for small messages, where the hop is the cost.
#pragma once

#include <cstddef>
#include <cstdint>

#include "collectives/device/proto/wait.h"

namespace weft::proto {

struct alignas(16) LlLine {
  uint64_t word[2];
};

constexpr size_t kLlDataBytes = 8;  // data bytes per line

// The flag of the epoch-th use of a line. Never 0, the value of memory never written, so
// that a line not yet written in this epoch cannot pass for one even when the epoch wraps;
// two uses of a slot two epochs apart (double buffering) always differ.
WEFT_HOST_DEVICE inline uint32_t LlFlag(uint32_t epoch) {
  return epoch % 0xffffffffu + 1;
}

WEFT_HOST_DEVICE inline void LlStore(LlLine* line, uint64_t data, uint32_t flag) {
  const uint64_t f = static_cast<uint64_t>(flag) << 32;
  StoreLine(line->word, f | (data & 0xffffffffu), f | (data >> 32));
}

// The line's data once both words carry `flag`; false if it has not arrived yet.
WEFT_HOST_DEVICE inline bool LlTryLoad(const LlLine* line, uint32_t flag, uint64_t* data) {
  uint64_t lo, hi;
  LoadLine(line->word, &lo, &hi);
  if (static_cast<uint32_t>(lo >> 32) != flag || static_cast<uint32_t>(hi >> 32) != flag)
    return false;
  *data = (lo & 0xffffffffu) | (hi << 32);
  return true;
}

// Looks once before setting up a wait: most lines a reader reaches have arrived.
WEFT_HOST_DEVICE inline WaitResult LlLoad(const LlLine* line, uint32_t flag, uint64_t* data,
                                          const WaitLimits& limits) {
  if (LlTryLoad(line, flag, data)) return WaitResult::kReady;
  return SpinUntil([&] { return LlTryLoad(line, flag, data); }, limits);
}

}  // namespace weft::proto
