#include "common/float_formats.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace weft {
namespace {

float DecodeFp8(uint8_t v, int mant_bits, int bias, bool has_inf) {
  int sign = v >> 7;
  int exp = (v >> mant_bits) & ((1 << (7 - mant_bits)) - 1);
  int mant = v & ((1 << mant_bits) - 1);
  int exp_max = (1 << (7 - mant_bits)) - 1;
  float value;
  if (has_inf && exp == exp_max) {
    value = mant == 0 ? std::numeric_limits<float>::infinity()
                      : std::numeric_limits<float>::quiet_NaN();
  } else if (!has_inf && exp == exp_max && mant == (1 << mant_bits) - 1) {
    value = std::numeric_limits<float>::quiet_NaN();
  } else if (exp == 0) {
    value = std::ldexp(static_cast<float>(mant), 1 - bias - mant_bits);
  } else {
    value = std::ldexp(static_cast<float>(mant + (1 << mant_bits)), exp - bias - mant_bits);
  }
  return sign ? -value : value;
}

}  // namespace

Fp8Tables::Fp8Tables() {
  for (int v = 0; v < 256; ++v) {
    e4m3[v] = DecodeFp8(static_cast<uint8_t>(v), 3, 7, false);
    e5m2[v] = DecodeFp8(static_cast<uint8_t>(v), 2, 15, true);
  }
}

const Fp8Tables& TheFp8Tables() {
  static const Fp8Tables tables;
  return tables;
}

}  // namespace weft
