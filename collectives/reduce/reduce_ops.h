// The reduction operations, one definition for the host loops (reduce_cpu.cc) and the
// device kernel (reduce_cuda.cu), so both give the same bits: integers wrap (computed
// unsigned), products of small integers are promoted to unsigned int, max and min compare
// with > and < and keep the first operand on ties.
#pragma once

#include <type_traits>

#include "common/host_device.h"
#include "weft/weft.h"

namespace weft {

template <typename C>
WEFT_HOST_DEVICE inline C Add(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

template <typename C>
WEFT_HOST_DEVICE inline C Mul(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    // Promote to at least unsigned int so that uint8 * uint8 does not become signed int.
    using U = std::conditional_t<(sizeof(C) < sizeof(unsigned)), unsigned, std::make_unsigned_t<C>>;
    return static_cast<C>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}

struct SumOp {
  template <typename C>
  WEFT_HOST_DEVICE static C Apply(C a, C b) {
    return Add(a, b);
  }
};
struct ProdOp {
  template <typename C>
  WEFT_HOST_DEVICE static C Apply(C a, C b) {
    return Mul(a, b);
  }
};
struct MaxOp {
  template <typename C>
  WEFT_HOST_DEVICE static C Apply(C a, C b) {
    return a > b ? a : b;
  }
};
struct MinOp {
  template <typename C>
  WEFT_HOST_DEVICE static C Apply(C a, C b) {
    return a < b ? a : b;
  }
};

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<Op>{}) with the operation's functor (weftAvg reduces as a sum; the
// division comes after) and returns its result; an unknown op returns a value-initialized
// result (callers validate ops first).
template <typename Fn>
auto VisitOp(weftRedOp_t op, Fn&& fn) -> decltype(fn(TypeTag<SumOp>{})) {
  switch (op) {
    case weftSum:
    case weftAvg:
      return fn(TypeTag<SumOp>{});
    case weftProd:
      return fn(TypeTag<ProdOp>{});
    case weftMax:
      return fn(TypeTag<MaxOp>{});
    case weftMin:
      return fn(TypeTag<MinOp>{});
    default:
      return decltype(fn(TypeTag<SumOp>{}))();
  }
}

}  // namespace weft
