// Element-wise reductions on host memory, for every data type and operation.
#pragma once

#include <cstddef>

#include "weft/weft.h"

namespace weft {

// dst[i] = a[i] op b[i] for i < count. dst may be a or b (not a partial overlap). weftAvg
// reduces as a sum here; DivideHost finishes it. Integers wrap; fp16, bf16 and fp8 are
// computed in float32 and rounded once to nearest even (fp8 saturates), so every result is
// correctly rounded.
void ReduceHost(void* dst, const void* a, const void* b, size_t count, weftDataType_t type,
                weftRedOp_t op);

// dst[i] = dst2[i] = a[i] op b[i]: one pass that also forwards the result (a ring step
// that keeps the sum and sends it on). dst and dst2 must not overlap a, b or each other,
// except dst == a or dst == b.
void ReduceHostTwice(void* dst, void* dst2, const void* a, const void* b, size_t count,
                     weftDataType_t type, weftRedOp_t op);

// As ReduceHost and ReduceHostTwice, but dst is written with streaming stores
// (stream_store.h), in blocks that stay in L1 on their way: for a large output nothing reads
// again soon. Fenced before they return.
void ReduceHostStreaming(void* dst, const void* a, const void* b, size_t count, weftDataType_t type,
                         weftRedOp_t op);
void ReduceHostTwiceStreaming(void* dst, void* dst2, const void* a, const void* b, size_t count,
                              weftDataType_t type, weftRedOp_t op);

// buf[i] = buf[i] / divisor: the final step of weftAvg (integers truncate toward zero).
void DivideHost(void* buf, size_t count, weftDataType_t type, int divisor);

// dst[i] = src[i] * *scalar (a value of `type`): the multiply of a PreMulSum op, applied to
// each rank's input before the sum, rounded once as a multiply in the type itself (integers
// wrap). dst may be src.
void ScaleHost(void* dst, const void* src, size_t count, weftDataType_t type, const void* scalar);

}  // namespace weft
