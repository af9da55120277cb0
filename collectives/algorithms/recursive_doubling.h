// Recursive-doubling all-reduce, for small messages: log2(N) rounds in which partners
// exchange their whole partial results, instead of the ring's 2(N-1) dependent messages.
#pragma once

#include "collectives/plan.h"

namespace weft {

// All-reduce of `count` elements, in messages of at most `chunk_elems`. With N not a power
// of two, the ranks above the largest power of two P first hand their input to rank r-P and
// get the result back at the end.
Status BuildRecursiveDoublingPlan(int rank, int nranks, size_t count, size_t chunk_elems,
                                  Plan* out);

}  // namespace weft
