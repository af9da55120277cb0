// Reduction ops a communicator's user creates (weftRedOpCreatePreMulSum), as NCCL's: each
// is numbered from weftNumOps up, is valid on its communicator only, and with its datatype
// only. A PreMulSum multiplies every rank's input by a scalar before the sum.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "common/status.h"
#include "weft/weft.h"

namespace weft {

struct PreMulSum {
  weftDataType_t type = weftFloat32;
  // weftScalarHostImmediate: the scalar's bytes, read at creation. weftScalarDevice: the
  // scalar stays in device memory and is read when each collective runs.
  bool device_scalar = false;
  std::array<uint8_t, 8> value{};
  const void* device_ptr = nullptr;
};

class UserOps {
 public:
  // At most this many live ops per communicator (NCCL's limit is of the same order).
  static constexpr size_t kMaxLive = 1 << 16;

  static bool IsUserOp(weftRedOp_t op) { return static_cast<int>(op) >= weftNumOps; }

  Status Create(const PreMulSum& op, weftRedOp_t* out);
  Status Destroy(weftRedOp_t op);
  // The PreMulSum behind `op` (created here and not destroyed), checked against the type of
  // the call that uses it.
  Status Find(weftRedOp_t op, weftDataType_t type, PreMulSum* out) const;

 private:
  // Where a live op is in ops_, or -1.
  long LiveIndex(weftRedOp_t op) const;

  mutable std::mutex mutex_;
  std::vector<std::optional<PreMulSum>> ops_;  // index: op - weftNumOps; freed slots reused
};

}  // namespace weft
