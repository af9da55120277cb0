// Test and benchmark data: what each rank contributes at each element, chosen so that the
// reduction over all ranks is exact in every type (small integers, products of +-1 or
// powers of two), and the expected result computed independently of the library's
// reduction code. Used by the unit and integration tests and by weft-perf's check.
#pragma once

#include <cstddef>

#include "weft/weft.h"

namespace weft {

// Writes `count` elements of rank `rank`'s contribution, for element indices first.. .
void FillPattern(void* buf, size_t count, weftDataType_t type, weftRedOp_t op, int nranks, int rank,
                 size_t first);

// Writes the expected reduction over ranks 0..nranks-1 of FillPattern's values.
void FillExpected(void* buf, size_t count, weftDataType_t type, weftRedOp_t op, int nranks,
                  size_t first);

// Number of elements of `a` and `b` whose bytes differ.
size_t CountMismatches(const void* a, const void* b, size_t count, weftDataType_t type);

}  // namespace weft
