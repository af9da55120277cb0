// Every type x op of the host reduction against a scalar reference written independently
// (double or 64-bit integer arithmetic, then one rounding to the type).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "collectives/reduce/reduce.h"
#include "common/dtype.h"
#include "common/float_formats.h"

namespace weft {
namespace {

// Reference value of element bytes as a double (integers exactly).
double AsDouble(weftDataType_t t, const char* p) {
  switch (t) {
    case weftInt8:
      return *reinterpret_cast<const int8_t*>(p);
    case weftUint8:
      return *reinterpret_cast<const uint8_t*>(p);
    case weftInt32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case weftUint32: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case weftFloat32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case weftFloat64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case weftFloat16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return HalfToFloat(v);
    }
    case weftBfloat16: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return Bf16ToFloat(v);
    }
    case weftFloat8e4m3:
      return E4m3ToFloat(static_cast<uint8_t>(*p));
    case weftFloat8e5m2:
      return E5m2ToFloat(static_cast<uint8_t>(*p));
    default:
      return 0;
  }
}

// Scalar reference for one element, computed wide and rounded once.
void Reference(weftDataType_t t, weftRedOp_t op, const char* a, const char* b, char* out) {
  if (t == weftInt64 || t == weftUint64) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    uint64_t r = 0;
    bool is_signed = t == weftInt64;
    auto sx = static_cast<int64_t>(x), sy = static_cast<int64_t>(y);
    switch (op) {
      case weftSum:
      case weftAvg:
        r = x + y;
        break;
      case weftProd:
        r = x * y;
        break;
      case weftMax:
        r = is_signed ? static_cast<uint64_t>(std::max(sx, sy)) : std::max(x, y);
        break;
      case weftMin:
        r = is_signed ? static_cast<uint64_t>(std::min(sx, sy)) : std::min(x, y);
        break;
      default:
        break;
    }
    std::memcpy(out, &r, 8);
    return;
  }
  if (!IsFloatType(t)) {
    int64_t x = static_cast<int64_t>(AsDouble(t, a)), y = static_cast<int64_t>(AsDouble(t, b));
    int64_t r = 0;
    switch (op) {
      case weftSum:
      case weftAvg:
        r = x + y;
        break;
      case weftProd:  // wraps: multiply as unsigned
        r = static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y));
        break;
      case weftMax:
        r = std::max(x, y);
        break;
      case weftMin:
        r = std::min(x, y);
        break;
      default:
        break;
    }
    // Wrap to the type's width (two's complement), as the library does.
    uint64_t u = static_cast<uint64_t>(r);
    std::memcpy(out, &u, TypeSize(t));  // little-endian low bytes
    return;
  }
  double x = AsDouble(t, a), y = AsDouble(t, b), r = 0;
  switch (op) {
    case weftSum:
    case weftAvg:
      r = x + y;
      break;
    case weftProd:
      r = x * y;
      break;
    case weftMax:
      r = x > y ? x : y;
      break;
    case weftMin:
      r = x < y ? x : y;
      break;
    default:
      break;
  }
  // For the narrow types the double result rounds to float exactly enough: float has more
  // than 2p+2 bits of every narrow format, so double -> float -> narrow rounds correctly.
  switch (t) {
    case weftFloat32: {
      float f = static_cast<float>(r);
      std::memcpy(out, &f, 4);
      break;
    }
    case weftFloat64:
      std::memcpy(out, &r, 8);
      break;
    case weftFloat16: {
      uint16_t h = FloatToHalf(static_cast<float>(r));
      std::memcpy(out, &h, 2);
      break;
    }
    case weftBfloat16: {
      uint16_t h = FloatToBf16(static_cast<float>(r));
      std::memcpy(out, &h, 2);
      break;
    }
    case weftFloat8e4m3:
      *out = static_cast<char>(FloatToE4m3(static_cast<float>(r)));
      break;
    case weftFloat8e5m2:
      *out = static_cast<char>(FloatToE5m2(static_cast<float>(r)));
      break;
    default:
      break;
  }
}

// Random bytes, with NaNs replaced so that bitwise comparison is meaningful.
std::vector<char> RandomElements(weftDataType_t t, size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  const size_t esz = TypeSize(t);
  std::vector<char> v(n * esz);
  for (auto& c : v)
    c = static_cast<char>(gen());
  for (size_t i = 0; i < n; ++i) {
    char* p = v.data() + i * esz;
    if (IsFloatType(t) && std::isnan(AsDouble(t, p))) std::memset(p, 0, esz);
    // Keep float32/64 products and sums finite-ish and exercise rounding: small magnitudes.
    if (t == weftFloat32) {
      float f = static_cast<float>(static_cast<int32_t>(gen()) % 100000) / 37.0f;
      std::memcpy(p, &f, 4);
    }
    if (t == weftFloat64) {
      double d = static_cast<double>(static_cast<int32_t>(gen()) % 100000) / 37.0;
      std::memcpy(p, &d, 8);
    }
  }
  return v;
}

// memcmp that accepts empty (possibly null) ranges.
bool SameBytes(const void* a, const void* b, size_t n) {
  return n == 0 || std::memcmp(a, b, n) == 0;
}

class ReduceTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ReduceTest, MatchesScalarReferenceOutOfPlaceAndInPlace) {
  const auto t = static_cast<weftDataType_t>(std::get<0>(GetParam()));
  const auto op = static_cast<weftRedOp_t>(std::get<1>(GetParam()));
  const size_t esz = TypeSize(t);
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{3}, size_t{17}, size_t{1000}, size_t{4099}, size_t{9000}}) {
    std::vector<char> a = RandomElements(t, n, 1 + static_cast<uint32_t>(n));
    std::vector<char> b = RandomElements(t, n, 1000 + static_cast<uint32_t>(n));
    std::vector<char> want(n * esz + 1), got(n * esz + 1, '\x7f');
    for (size_t i = 0; i < n; ++i)
      Reference(t, op, &a[i * esz], &b[i * esz], &want[i * esz]);
    ReduceHost(got.data(), a.data(), b.data(), n, t, op);
    ASSERT_TRUE(SameBytes(got.data(), want.data(), n * esz))
        << TypeName(t) << " " << OpName(op) << " n=" << n;
    ASSERT_EQ('\x7f', got[n * esz]) << "wrote past the end";
    std::vector<char> twice(n * esz + 1, '\x7f'), copy(n * esz + 1, '\x7f');
    ReduceHostTwice(twice.data(), copy.data(), a.data(), b.data(), n, t, op);
    ASSERT_TRUE(SameBytes(twice.data(), want.data(), n * esz)) << "twice: first output";
    ASSERT_TRUE(SameBytes(copy.data(), want.data(), n * esz)) << "twice: second output";
    std::vector<char> in_a = a;
    ReduceHost(in_a.data(), in_a.data(), b.data(), n, t, op);
    ASSERT_TRUE(SameBytes(in_a.data(), want.data(), n * esz)) << "dst == a";
    std::vector<char> in_b = b;
    ReduceHost(in_b.data(), a.data(), in_b.data(), n, t, op);
    ASSERT_TRUE(SameBytes(in_b.data(), want.data(), n * esz)) << "dst == b";
    // Streaming stores: the same bits, at a destination one element past a line boundary
    // (a head of cached stores, whole lines, a tail), and in place.
    std::vector<char> streamed(n * esz + 2 * esz, '\x7f'), streamed2(n * esz + 1, '\x7f');
    ReduceHostTwiceStreaming(streamed.data() + esz, streamed2.data(), a.data(), b.data(), n, t, op);
    ASSERT_TRUE(SameBytes(streamed.data() + esz, want.data(), n * esz)) << "streamed";
    ASSERT_TRUE(SameBytes(streamed2.data(), want.data(), n * esz)) << "streamed: forwarded";
    ASSERT_EQ('\x7f', streamed[n * esz + esz]) << "streamed past the end";
    ASSERT_EQ('\x7f', streamed[esz - 1]) << "streamed before the start";
    std::vector<char> in_place = b;
    ReduceHostStreaming(in_place.data(), a.data(), in_place.data(), n, t, op);
    ASSERT_TRUE(SameBytes(in_place.data(), want.data(), n * esz)) << "streamed, dst == b";
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypesAllOps, ReduceTest,
                         ::testing::Combine(::testing::Range(0, static_cast<int>(weftNumTypes)),
                                            ::testing::Range(0, static_cast<int>(weftNumOps))),
                         [](const auto& info) {
                           return std::string(TypeName(
                                      static_cast<weftDataType_t>(std::get<0>(info.param)))) +
                                  "_" + OpName(static_cast<weftRedOp_t>(std::get<1>(info.param)));
                         });

// PreMulSum's multiply: every element times one scalar of the type, against the reference
// product (double or 64-bit integers, one rounding), out of place and in place.
class ScaleTest : public ::testing::TestWithParam<int> {};

TEST_P(ScaleTest, MatchesTheReferenceProductWithOneScalar) {
  const auto t = static_cast<weftDataType_t>(GetParam());
  const size_t esz = TypeSize(t);
  for (uint32_t seed : {7u, 8u, 9u}) {
    const std::vector<char> scalar = RandomElements(t, 1, seed);
    for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{1000}, size_t{4099}}) {
      std::vector<char> a = RandomElements(t, n, 500 + seed + static_cast<uint32_t>(n));
      std::vector<char> want(n * esz + 1), got(n * esz + 1, '\x7f');
      for (size_t i = 0; i < n; ++i)
        Reference(t, weftProd, &a[i * esz], scalar.data(), &want[i * esz]);
      ScaleHost(got.data(), a.data(), n, t, scalar.data());
      ASSERT_TRUE(SameBytes(got.data(), want.data(), n * esz)) << TypeName(t) << " n=" << n;
      ASSERT_EQ('\x7f', got[n * esz]) << "wrote past the end";
      ScaleHost(a.data(), a.data(), n, t, scalar.data());
      ASSERT_TRUE(SameBytes(a.data(), want.data(), n * esz)) << "in place";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ScaleTest, ::testing::Range(0, static_cast<int>(weftNumTypes)),
                         [](const auto& info) {
                           return std::string(TypeName(static_cast<weftDataType_t>(info.param)));
                         });

TEST(Divide, AverageDividesOnceTruncatingIntegers) {
  int32_t ints[4] = {7, -7, 9, 0};
  DivideHost(ints, 4, weftInt32, 2);
  EXPECT_EQ(3, ints[0]);
  EXPECT_EQ(-3, ints[1]);
  EXPECT_EQ(4, ints[2]);
  EXPECT_EQ(0, ints[3]);
  float f[2] = {1.0f, 10.0f};
  DivideHost(f, 2, weftFloat32, 3);
  EXPECT_EQ(1.0f / 3.0f, f[0]);
  EXPECT_EQ(10.0f / 3.0f, f[1]);
  uint16_t h = FloatToHalf(3.0f);
  DivideHost(&h, 1, weftFloat16, 2);
  EXPECT_EQ(1.5f, HalfToFloat(h));
}

}  // namespace
}  // namespace weft
