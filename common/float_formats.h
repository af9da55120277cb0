// Conversions between float32 and the narrow float formats (fp16, bf16, fp8 e4m3/e5m2).
// Branch-free so that loops over them vectorize. float -> narrow rounds to nearest even;
// fp8 saturates to the largest finite value (CUDA's __NV_SATFINITE), NaN stays NaN.
#pragma once

#include <cstdint>
#include <cstring>

namespace weft {

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// IEEE binary16.
inline float HalfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t em = h & 0x7fffu;
  // Rebias by scaling: exact for normals and subnormals alike.
  uint32_t scaled = FloatBits(BitsFloat(em << 13) * 0x1p112f);
  uint32_t special = (em << 13) | 0x7f800000u;  // inf and NaN keep their payload
  return BitsFloat((em >= 0x7c00u ? special : scaled) | sign);
}

inline uint16_t FloatToHalf(float f) {
  uint32_t x = FloatBits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  const uint32_t kF16MaxPlus = (127u + 16u) << 23;  // 65536: overflows to inf
  const uint32_t kDenormMagic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t overflow = x > 0x7f800000u ? 0x7e00u : 0x7c00u;
  uint32_t denorm = FloatBits(BitsFloat(x) + BitsFloat(kDenormMagic)) - kDenormMagic;
  uint32_t mant_odd = (x >> 13) & 1u;
  uint32_t normal = (x + ((15u - 127u) << 23) + 0xfffu + mant_odd) >> 13;
  uint32_t o = x >= kF16MaxPlus ? overflow : (x < (113u << 23) ? denorm : normal);
  return static_cast<uint16_t>(o | sign);
}

// bfloat16: the top half of a float32.
inline float Bf16ToFloat(uint16_t b) {
  return BitsFloat(static_cast<uint32_t>(b) << 16);
}

inline uint16_t FloatToBf16(float f) {
  uint32_t x = FloatBits(f);
  uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  uint32_t nan = (x >> 16) | 0x40u;
  return static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

// Generic float32 -> fp8 with kExp exponent bits, kMant mantissa bits and bias kBias.
// `max_code` is the largest finite encoding (without sign), `nan_code` the NaN encoding.
template <int kMant, int kBias>
inline uint8_t FloatToFp8(float f, uint32_t max_code, uint32_t nan_code, float max_value) {
  uint32_t x = FloatBits(f);
  uint32_t sign = (x >> 24) & 0x80u;
  x &= 0x7fffffffu;
  bool is_nan = x > 0x7f800000u;
  // Saturate before rounding so the arithmetic below cannot overflow.
  bool too_big = x >= FloatBits(max_value);
  const uint32_t kMinNormal = static_cast<uint32_t>(127 - kBias + 1) << 23;
  const uint32_t kDenormMagic = static_cast<uint32_t>((127 - kBias) + (23 - kMant) + 1) << 23;
  uint32_t denorm = FloatBits(BitsFloat(x) + BitsFloat(kDenormMagic)) - kDenormMagic;
  uint32_t mant_odd = (x >> (23 - kMant)) & 1u;
  uint32_t normal = (x + (static_cast<uint32_t>(kBias - 127) << 23) +
                     ((1u << (23 - kMant - 1)) - 1u) + mant_odd) >>
                    (23 - kMant);
  uint32_t o = x < kMinNormal ? denorm : normal;
  o = o > max_code ? max_code : o;
  o = too_big ? max_code : o;
  o = is_nan ? nan_code : o;
  return static_cast<uint8_t>(o | sign);
}

// OCP fp8 E4M3: bias 7, no infinity, NaN = 0x7f, max 448.
inline uint8_t FloatToE4m3(float f) {
  return FloatToFp8<3, 7>(f, 0x7eu, 0x7fu, 448.0f);
}
// OCP fp8 E5M2: bias 15, has infinity (0x7c), NaN 0x7f, max 57344.
inline uint8_t FloatToE5m2(float f) {
  return FloatToFp8<2, 15>(f, 0x7bu, 0x7fu, 57344.0f);
}

// Decoding is exact; a 256-entry table built once.
struct Fp8Tables {
  float e4m3[256];
  float e5m2[256];
  Fp8Tables();
};
const Fp8Tables& TheFp8Tables();

inline float E4m3ToFloat(uint8_t v) {
  return TheFp8Tables().e4m3[v];
}
inline float E5m2ToFloat(uint8_t v) {
  return TheFp8Tables().e5m2[v];
}

}  // namespace weft
