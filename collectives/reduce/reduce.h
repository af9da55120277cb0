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

// buf[i] = buf[i] / divisor: the final step of weftAvg (integers truncate toward zero).
void DivideHost(void* buf, size_t count, weftDataType_t type, int divisor);

}  // namespace weft
