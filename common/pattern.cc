#include "common/pattern.h"

#include <cstdint>
#include <cstring>

#include "common/dtype.h"
#include "common/float_formats.h"

namespace weft {
namespace {

// Largest integer up to which every integer is exact in the type (capped to keep values small).
int64_t ExactLimit(weftDataType_t t) {
  switch (t) {
    case weftInt8:
      return 127;
    case weftUint8:
      return 255;
    case weftFloat16:
      return 2048;
    case weftBfloat16:
      return 256;
    case weftFloat8e4m3:
      return 16;
    case weftFloat8e5m2:
      return 8;
    default:
      return 1 << 20;
  }
}

bool IsUnsigned(weftDataType_t t) {
  return t == weftUint8 || t == weftUint32 || t == weftUint64;
}

int64_t Value(weftDataType_t t, weftRedOp_t op, int nranks, int rank, size_t index) {
  const int64_t limit = ExactLimit(t);
  const uint64_t i = index, r = static_cast<uint64_t>(rank);
  switch (op) {
    case weftSum:
    case weftAvg: {
      int64_t k = limit / nranks;
      if (k > 100) k = 100;
      if (k == 0) return (rank < limit && (i + r) % 2 == 0) ? 1 : 0;
      return static_cast<int64_t>((i * 7 + r * 3) % static_cast<uint64_t>(k + 1));
    }
    case weftProd:
      if (IsUnsigned(t)) return (i + r) % 3 == 0 ? 2 : 1;
      return (i + r) % 3 == 0 ? -1 : 1;
    default: {  // max, min
      int64_t m = limit < 50 ? limit : 50;
      uint64_t v = (i * 13 + r * 7) % static_cast<uint64_t>(2 * m + 1);
      if (IsUnsigned(t)) return static_cast<int64_t>(v % static_cast<uint64_t>(m + 1));
      return static_cast<int64_t>(v) - m;
    }
  }
}

// Stores an exact integer (or, for floats, the float value) in the type.
void Store(weftDataType_t t, int64_t v, double fv, bool use_float, void* dst) {
  double d = use_float ? fv : static_cast<double>(v);
  switch (t) {
    case weftInt8: {
      int8_t x = static_cast<int8_t>(v);
      std::memcpy(dst, &x, 1);
      break;
    }
    case weftUint8: {
      uint8_t x = static_cast<uint8_t>(v);
      std::memcpy(dst, &x, 1);
      break;
    }
    case weftInt32: {
      int32_t x = static_cast<int32_t>(v);
      std::memcpy(dst, &x, 4);
      break;
    }
    case weftUint32: {
      uint32_t x = static_cast<uint32_t>(v);
      std::memcpy(dst, &x, 4);
      break;
    }
    case weftInt64:
      std::memcpy(dst, &v, 8);
      break;
    case weftUint64: {
      uint64_t x = static_cast<uint64_t>(v);
      std::memcpy(dst, &x, 8);
      break;
    }
    case weftFloat16: {
      uint16_t x = FloatToHalf(static_cast<float>(d));
      std::memcpy(dst, &x, 2);
      break;
    }
    case weftBfloat16: {
      uint16_t x = FloatToBf16(static_cast<float>(d));
      std::memcpy(dst, &x, 2);
      break;
    }
    case weftFloat32: {
      float x = static_cast<float>(d);
      std::memcpy(dst, &x, 4);
      break;
    }
    case weftFloat64:
      std::memcpy(dst, &d, 8);
      break;
    case weftFloat8e4m3: {
      uint8_t x = FloatToE4m3(static_cast<float>(d));
      std::memcpy(dst, &x, 1);
      break;
    }
    case weftFloat8e5m2: {
      uint8_t x = FloatToE5m2(static_cast<float>(d));
      std::memcpy(dst, &x, 1);
      break;
    }
    default:
      break;
  }
}

}  // namespace

void FillPattern(void* buf, size_t count, weftDataType_t type, weftRedOp_t op, int nranks, int rank,
                 size_t first) {
  auto* p = static_cast<char*>(buf);
  const size_t esz = TypeSize(type);
  for (size_t k = 0; k < count; ++k)
    Store(type, Value(type, op, nranks, rank, first + k), 0, false, p + k * esz);
}

void FillExpected(void* buf, size_t count, weftDataType_t type, weftRedOp_t op, int nranks,
                  size_t first) {
  auto* p = static_cast<char*>(buf);
  const size_t esz = TypeSize(type);
  for (size_t k = 0; k < count; ++k) {
    const size_t i = first + k;
    int64_t acc = Value(type, op, nranks, 0, i);
    uint64_t uacc = static_cast<uint64_t>(acc);
    for (int r = 1; r < nranks; ++r) {
      int64_t v = Value(type, op, nranks, r, i);
      switch (op) {
        case weftSum:
        case weftAvg:
          acc += v;
          break;
        case weftProd:
          acc *= v;
          uacc *= static_cast<uint64_t>(v);
          break;
        case weftMax:
          acc = v > acc ? v : acc;
          break;
        case weftMin:
          acc = v < acc ? v : acc;
          break;
        default:
          break;
      }
    }
    if (op == weftProd && IsUnsigned(type)) acc = static_cast<int64_t>(uacc);
    if (op != weftAvg) {
      Store(type, acc, 0, false, p + k * esz);
    } else if (!IsFloatType(type)) {
      Store(type, acc / nranks, 0, false, p + k * esz);
    } else if (type == weftFloat64) {
      Store(type, 0, static_cast<double>(acc) / nranks, true, p + k * esz);
    } else {
      // The sum is exact in the type; the divide happens in float32, then rounds to the type.
      Store(type, 0, static_cast<double>(static_cast<float>(acc) / static_cast<float>(nranks)),
            true, p + k * esz);
    }
  }
}

size_t CountMismatches(const void* a, const void* b, size_t count, weftDataType_t type) {
  const size_t esz = TypeSize(type);
  const auto* x = static_cast<const char*>(a);
  const auto* y = static_cast<const char*>(b);
  if (std::memcmp(x, y, count * esz) == 0) return 0;
  size_t wrong = 0;
  for (size_t k = 0; k < count; ++k)
    wrong += std::memcmp(x + k * esz, y + k * esz, esz) != 0;
  return wrong;
}

}  // namespace weft
