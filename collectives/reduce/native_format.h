// The element types arithmetic happens in as they are stored (the integers, fp32, fp64), for
// the host loops, the reduction kernel and the device protocols alike. Formats of this shape
// (Stored, Compute, Load, Store) also convert: fp16, bf16 and fp8 compute in float32.
#pragma once

#include <cstdint>

#include "collectives/reduce/reduce_ops.h"
#include "common/host_device.h"
#include "weft/weft.h"

namespace weft {

template <typename T>
struct Native {
  using Stored = T;
  using Compute = T;
  WEFT_HOST_DEVICE static Compute Load(T v) { return v; }
  WEFT_HOST_DEVICE static T Store(Compute v) { return v; }
};

// Calls fn(TypeTag<T>{}) with the C++ type of `type` if it is computed as itself, and
// returns what fn returns; returns `otherwise` for the types that convert.
template <typename R, typename Fn>
R VisitNativeType(weftDataType_t type, R otherwise, Fn&& fn) {
  switch (type) {
    case weftInt8:
      return fn(TypeTag<int8_t>{});
    case weftUint8:
      return fn(TypeTag<uint8_t>{});
    case weftInt32:
      return fn(TypeTag<int32_t>{});
    case weftUint32:
      return fn(TypeTag<uint32_t>{});
    case weftInt64:
      return fn(TypeTag<int64_t>{});
    case weftUint64:
      return fn(TypeTag<uint64_t>{});
    case weftFloat32:
      return fn(TypeTag<float>{});
    case weftFloat64:
      return fn(TypeTag<double>{});
    default:
      return otherwise;
  }
}

}  // namespace weft
