// The narrow float conversions against independent references: the compiler's _Float16
// for fp16 (every one of the 65536 values, and rounding of float32 values), and the fp8
// encodings' defining tables.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "common/float_formats.h"

namespace weft {
namespace {

TEST(Half, EveryValueRoundTripsThroughFloat) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = HalfToFloat(static_cast<uint16_t>(h));
    _Float16 ref;
    uint16_t bits = static_cast<uint16_t>(h);
    std::memcpy(&ref, &bits, 2);
    if (std::isnan(static_cast<float>(ref))) {
      EXPECT_TRUE(std::isnan(f)) << h;
      continue;
    }
    ASSERT_EQ(static_cast<float>(ref), f) << h;
    ASSERT_EQ(h, FloatToHalf(f)) << h;
  }
}

TEST(Half, RoundsFloatToNearestEvenLikeTheCompiler) {
  std::mt19937 gen(42);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t bits = gen();
    float f = BitsFloat(bits);
    if (std::isnan(f)) continue;
    _Float16 ref = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &ref, 2);
    ASSERT_EQ(want, FloatToHalf(f)) << std::hexfloat << f;
  }
}

TEST(Bf16, RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(0x3f80, FloatToBf16(1.0f));
  EXPECT_EQ(0x3f80, FloatToBf16(BitsFloat(0x3f808000)));  // tie, even stays
  EXPECT_EQ(0x3f82, FloatToBf16(BitsFloat(0x3f818000)));  // tie, odd rounds up
  EXPECT_EQ(0x3f81, FloatToBf16(BitsFloat(0x3f808001)));  // above the tie
  EXPECT_EQ(0x7f80, FloatToBf16(INFINITY));
  EXPECT_TRUE(std::isnan(Bf16ToFloat(FloatToBf16(NAN))));
  for (uint32_t b = 0; b < 65536; ++b) {
    float f = Bf16ToFloat(static_cast<uint16_t>(b));
    if (!std::isnan(f)) {
      ASSERT_EQ(b, FloatToBf16(f));
    }
  }
}

TEST(Fp8E4m3, DecodesTheOcpTableAndSaturates) {
  EXPECT_EQ(448.0f, E4m3ToFloat(0x7e));
  EXPECT_TRUE(std::isnan(E4m3ToFloat(0x7f)));
  EXPECT_EQ(std::ldexp(1.0f, -9), E4m3ToFloat(0x01));  // smallest subnormal
  EXPECT_EQ(std::ldexp(1.0f, -6), E4m3ToFloat(0x08));  // smallest normal
  EXPECT_EQ(-1.0f, E4m3ToFloat(0xb8));
  EXPECT_EQ(0x7e, FloatToE4m3(1000.0f));
  EXPECT_EQ(0x7e, FloatToE4m3(INFINITY));
  EXPECT_EQ(0xfe, FloatToE4m3(-1e9f));
  EXPECT_EQ(0x7f, FloatToE4m3(NAN) & 0x7f);
  EXPECT_EQ(0x7e, FloatToE4m3(464.0f));  // tie between 448 and 480 (not finite): saturates
  EXPECT_EQ(0x00, FloatToE4m3(std::ldexp(1.0f, -11)));  // a quarter of the smallest: to zero
  EXPECT_EQ(0x01, FloatToE4m3(std::ldexp(1.5f, -10)));  // 0.75 of the smallest: rounds up
  for (int v = 0; v < 256; ++v) {
    float f = E4m3ToFloat(static_cast<uint8_t>(v));
    if (!std::isnan(f)) {
      ASSERT_EQ(v, FloatToE4m3(f)) << v;
    }
  }
}

TEST(Fp8E5m2, DecodesTheOcpTableAndSaturates) {
  EXPECT_EQ(57344.0f, E5m2ToFloat(0x7b));
  EXPECT_TRUE(std::isinf(E5m2ToFloat(0x7c)));
  EXPECT_TRUE(std::isnan(E5m2ToFloat(0x7f)));
  EXPECT_EQ(std::ldexp(1.0f, -16), E5m2ToFloat(0x01));
  EXPECT_EQ(0x7b, FloatToE5m2(1e6f));
  EXPECT_EQ(0x7b, FloatToE5m2(INFINITY));
  for (int v = 0; v < 256; ++v) {
    float f = E5m2ToFloat(static_cast<uint8_t>(v));
    if (!std::isnan(f) && !std::isinf(f)) {
      ASSERT_EQ(v, FloatToE5m2(f)) << v;
    }
  }
  // e5m2 is the top byte of fp16 rounded to nearest even: check against that on every half.
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f) || std::fabs(f) > 57344.0f) continue;
    uint32_t rounded = (h + 0x7f + ((h >> 8) & 1)) >> 8;
    ASSERT_EQ(rounded & 0xff, FloatToE5m2(f)) << h;
  }
}

}  // namespace
}  // namespace weft
