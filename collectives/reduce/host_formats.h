// The host's formats of the types that convert (fp16, bf16, fp8 e4m3/e5m2: stored narrow,
// computed in float32, rounded once to nearest even, fp8 saturating), beside Native for the
// types computed as stored: what the host reductions and the host side of the device
// protocols compute with. The device's are in device_formats.cuh; both round alike.
#pragma once

#include <cstdint>

#include "collectives/reduce/native_format.h"
#include "common/float_formats.h"

namespace weft {

struct HostHalf {
  using Stored = uint16_t;
  using Compute = float;
  static float Load(uint16_t v) { return HalfToFloat(v); }
  static uint16_t Store(float v) { return FloatToHalf(v); }
};
struct HostBf16 {
  using Stored = uint16_t;
  using Compute = float;
  static float Load(uint16_t v) { return Bf16ToFloat(v); }
  static uint16_t Store(float v) { return FloatToBf16(v); }
};
struct HostE4m3 {
  using Stored = uint8_t;
  using Compute = float;
  static float Load(uint8_t v) { return E4m3ToFloat(v); }
  static uint8_t Store(float v) { return FloatToE4m3(v); }
};
struct HostE5m2 {
  using Stored = uint8_t;
  using Compute = float;
  static float Load(uint8_t v) { return E5m2ToFloat(v); }
  static uint8_t Store(float v) { return FloatToE5m2(v); }
};

// Calls fn(TypeTag<F>{}) with the host format of `type` and returns what it returns;
// `otherwise` for a type outside the API's.
template <typename R, typename Fn>
R VisitHostFormat(weftDataType_t type, R otherwise, Fn&& fn) {
  switch (type) {
    case weftFloat16:
      return fn(TypeTag<HostHalf>{});
    case weftBfloat16:
      return fn(TypeTag<HostBf16>{});
    case weftFloat8e4m3:
      return fn(TypeTag<HostE4m3>{});
    case weftFloat8e5m2:
      return fn(TypeTag<HostE5m2>{});
    default:
      return VisitNativeType(type, otherwise, [&](auto t) {
        return fn(TypeTag<Native<typename decltype(t)::type>>{});
      });
  }
}

}  // namespace weft
