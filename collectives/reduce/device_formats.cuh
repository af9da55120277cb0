// The device's formats of every API type (CUDA only): Native for the types computed as
// stored, and fp16, bf16 and fp8 computed in float32 and rounded once to nearest even (fp8
// saturating, CUDA's __NV_SATFINITE), as the host's formats (host_formats.h) round: what the
// reduction kernel and the device protocols' kernels compute with.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "collectives/reduce/native_format.h"

namespace weft {

struct DeviceHalf {
  using Stored = uint16_t;
  using Compute = float;
  __device__ static float Load(uint16_t v) { return __half2float(__ushort_as_half(v)); }
  __device__ static uint16_t Store(float v) { return __half_as_ushort(__float2half_rn(v)); }
};
struct DeviceBf16 {
  using Stored = uint16_t;
  using Compute = float;
  __device__ static float Load(uint16_t v) { return __bfloat162float(__ushort_as_bfloat16(v)); }
  __device__ static uint16_t Store(float v) { return __bfloat16_as_ushort(__float2bfloat16_rn(v)); }
};
template <__nv_fp8_interpretation_t kKind>
struct DeviceFp8 {
  using Stored = uint8_t;
  using Compute = float;
  __device__ static float Load(uint8_t v) {
    return __half2float(__half(__nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(v), kKind)));
  }
  __device__ static uint8_t Store(float v) {
    return static_cast<uint8_t>(__nv_cvt_float_to_fp8(v, __NV_SATFINITE, kKind));
  }
};

// Calls fn(TypeTag<F>{}) with the device format of `type`; cudaErrorInvalidValue for a type
// outside the API's.
template <typename Fn>
cudaError_t VisitDeviceFormat(weftDataType_t type, Fn&& fn) {
  switch (type) {
    case weftFloat16:
      return fn(TypeTag<DeviceHalf>{});
    case weftBfloat16:
      return fn(TypeTag<DeviceBf16>{});
    case weftFloat8e4m3:
      return fn(TypeTag<DeviceFp8<__NV_E4M3>>{});
    case weftFloat8e5m2:
      return fn(TypeTag<DeviceFp8<__NV_E5M2>>{});
    default:
      return VisitNativeType(type, cudaErrorInvalidValue, [&](auto t) {
        return fn(TypeTag<Native<typename decltype(t)::type>>{});
      });
  }
}

}  // namespace weft
