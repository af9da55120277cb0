// Host reductions. Each (type, op) is one small loop over __restrict pointers that GCC
// vectorizes at -O3 (checked with -fopt-info-vec: see tests/unit/reduce_test.cc's note).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "collectives/reduce/host_formats.h"
#include "collectives/reduce/native_format.h"
#include "collectives/reduce/reduce.h"
#include "collectives/reduce/reduce_ops.h"
#include "collectives/reduce/stream_store.h"
#include "common/dtype.h"
#include "common/float_formats.h"

namespace weft {
namespace {

// Signed integers add and multiply as unsigned so that overflow wraps instead of being UB.
template <typename T>
struct WrappingInt {
  using Stored = T;
  using Compute = T;
  using U = std::make_unsigned_t<T>;
  static Compute Load(T v) { return v; }
  static T Store(Compute v) { return v; }
};

// Each loop is compiled twice, for AVX2 and for the x86-64 baseline, and the loader picks
// per machine (GCC's target_clones): twice the lanes where the CPU has them.
// (Not under ThreadSanitizer: the clones' IFUNC resolvers run during relocation, before the
// TSan runtime is up, and crash there.)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define WEFT_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WEFT_VECTOR_CLONES
#endif

template <typename F, typename Op>
WEFT_VECTOR_CLONES void Loop3(typename F::Stored* __restrict dst,
                              const typename F::Stored* __restrict a,
                              const typename F::Stored* __restrict b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    dst[i] = F::Store(Op::Apply(F::Load(a[i]), F::Load(b[i])));
}

// dst[i] = dst[i] op b[i], or with swap dst[i] = b[i] op dst[i]: operand order is kept so
// that ties (max of +0 and -0) give the same bits in place and out of place.
template <typename F, typename Op, bool kSwap>
WEFT_VECTOR_CLONES void Loop2(typename F::Stored* __restrict dst,
                              const typename F::Stored* __restrict b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    auto x = F::Load(dst[i]), y = F::Load(b[i]);
    dst[i] = F::Store(kSwap ? Op::Apply(y, x) : Op::Apply(x, y));
  }
}

// Reads each input once, writes both outputs. The copy target is written from registers,
// so forwarding a result costs no second read of it.
template <typename F, typename Op>
WEFT_VECTOR_CLONES void LoopTwice(typename F::Stored* dst, typename F::Stored* __restrict dst2,
                                  const typename F::Stored* a, const typename F::Stored* b,
                                  size_t n) {
  for (size_t i = 0; i < n; ++i) {
    auto v = F::Store(Op::Apply(F::Load(a[i]), F::Load(b[i])));
    dst[i] = v;
    dst2[i] = v;
  }
}

template <typename F, typename Op>
void ReduceTyped(void* dst, const void* a, const void* b, size_t n) {
  using S = typename F::Stored;
  auto* d = static_cast<S*>(dst);
  const auto* x = static_cast<const S*>(a);
  const auto* y = static_cast<const S*>(b);
  if (d == x) return Loop2<F, Op, false>(d, y, n);
  if (d == y) return Loop2<F, Op, true>(d, x, n);
  Loop3<F, Op>(d, x, y, n);
}

template <typename F>
void ReduceFormat(void* dst, const void* a, const void* b, size_t n, weftRedOp_t op) {
  VisitOp(op, [&](auto o) { ReduceTyped<F, typename decltype(o)::type>(dst, a, b, n); });
}

template <typename F>
void ReduceTwiceFormat(void* dst, void* dst2, const void* a, const void* b, size_t n,
                       weftRedOp_t op) {
  using S = typename F::Stored;
  VisitOp(op, [&](auto o) {
    LoopTwice<F, typename decltype(o)::type>(static_cast<S*>(dst), static_cast<S*>(dst2),
                                             static_cast<const S*>(a), static_cast<const S*>(b), n);
  });
}

template <typename F>
void DivideFormat(void* buf, size_t n, int divisor) {
  auto* p = static_cast<typename F::Stored*>(buf);
  // Integer division truncates toward zero, as NCCL's SumPostDiv does.
  const auto d = static_cast<typename F::Compute>(divisor);
  for (size_t i = 0; i < n; ++i)
    p[i] = F::Store(F::Load(p[i]) / d);
}

// Not restrict: dst may be src. A product of two values of a 16- or 8-bit float format is
// exact in float32, so one rounding on the store gives the type's own correctly rounded
// multiply.
template <typename F>
WEFT_VECTOR_CLONES void ScaleFormat(void* dst, const void* src, size_t n, const void* scalar) {
  using S = typename F::Stored;
  S stored;
  std::memcpy(&stored, scalar, sizeof(S));
  const auto k = F::Load(stored);
  auto* d = static_cast<S*>(dst);
  const auto* x = static_cast<const S*>(src);
  for (size_t i = 0; i < n; ++i)
    d[i] = F::Store(ProdOp::Apply(F::Load(x[i]), k));
}

template <template <typename> class Visit, typename... Args>
void Dispatch(weftDataType_t type, Args&&... args) {
  switch (type) {
    case weftInt8:
      return Visit<WrappingInt<int8_t>>::Run(args...);
    case weftUint8:
      return Visit<Native<uint8_t>>::Run(args...);
    case weftInt32:
      return Visit<WrappingInt<int32_t>>::Run(args...);
    case weftUint32:
      return Visit<Native<uint32_t>>::Run(args...);
    case weftInt64:
      return Visit<WrappingInt<int64_t>>::Run(args...);
    case weftUint64:
      return Visit<Native<uint64_t>>::Run(args...);
    case weftFloat16:
      return Visit<HostHalf>::Run(args...);
    case weftFloat32:
      return Visit<Native<float>>::Run(args...);
    case weftFloat64:
      return Visit<Native<double>>::Run(args...);
    case weftBfloat16:
      return Visit<HostBf16>::Run(args...);
    case weftFloat8e4m3:
      return Visit<HostE4m3>::Run(args...);
    case weftFloat8e5m2:
      return Visit<HostE5m2>::Run(args...);
    default:
      return;
  }
}

template <typename F>
struct ReduceVisit {
  static void Run(void* dst, const void* a, const void* b, size_t n, weftRedOp_t op) {
    ReduceFormat<F>(dst, a, b, n, op);
  }
};
template <typename F>
struct ReduceTwiceVisit {
  static void Run(void* dst, void* dst2, const void* a, const void* b, size_t n, weftRedOp_t op) {
    ReduceTwiceFormat<F>(dst, dst2, a, b, n, op);
  }
};
template <typename F>
struct ScaleVisit {
  static void Run(void* dst, const void* src, size_t n, const void* scalar) {
    ScaleFormat<F>(dst, src, n, scalar);
  }
};
template <typename F>
struct DivideVisit {
  static void Run(void* buf, size_t n, int divisor) { DivideFormat<F>(buf, n, divisor); }
};

}  // namespace

void ReduceHost(void* dst, const void* a, const void* b, size_t count, weftDataType_t type,
                weftRedOp_t op) {
  if (count == 0) return;
  Dispatch<ReduceVisit>(type, dst, a, b, count, op);
}

void ReduceHostTwice(void* dst, void* dst2, const void* a, const void* b, size_t count,
                     weftDataType_t type, weftRedOp_t op) {
  if (count == 0) return;
  Dispatch<ReduceTwiceVisit>(type, dst, dst2, a, b, count, op);
}

void ReduceHostStreaming(void* dst, const void* a, const void* b, size_t count, weftDataType_t type,
                         weftRedOp_t op) {
  ReduceHostTwiceStreaming(dst, nullptr, a, b, count, type, op);
}

void ReduceHostTwiceStreaming(void* dst, void* dst2, const void* a, const void* b, size_t count,
                              weftDataType_t type, weftRedOp_t op) {
  const size_t esz = TypeSize(type);
  if (count == 0 || esz == 0) return;
  alignas(64) std::byte block[kStreamBlockBytes];
  const size_t per_block = kStreamBlockBytes / esz;
  auto at = [esz](const void* p, size_t i) { return static_cast<const std::byte*>(p) + i * esz; };
  for (size_t i = 0; i < count; i += per_block) {
    const size_t n = std::min(per_block, count - i);
    // Reads a and b at i before dst at i is written: dst may be a or b.
    ReduceHost(block, at(a, i), at(b, i), n, type, op);
    if (dst2 != nullptr) std::memcpy(const_cast<std::byte*>(at(dst2, i)), block, n * esz);
    StreamCopy(const_cast<std::byte*>(at(dst, i)), block, n * esz);
  }
  StreamFence();
}

void ScaleHost(void* dst, const void* src, size_t count, weftDataType_t type, const void* scalar) {
  if (count == 0) return;
  Dispatch<ScaleVisit>(type, dst, src, count, scalar);
}

void DivideHost(void* buf, size_t count, weftDataType_t type, int divisor) {
  if (count == 0 || divisor == 1) return;
  Dispatch<DivideVisit>(type, buf, count, divisor);
}

}  // namespace weft
