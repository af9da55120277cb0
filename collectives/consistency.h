// WEFT_CHECK=1: before each call, every rank learns what every other rank called, so a
// mismatch (count, type, op, root, or a different collective) fails on every rank with both
// sides named, instead of hanging or corrupting data. Costs one bootstrap round trip per
// call (through the root's TCP relay): a debugging aid, off by default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "collectives/coll_args.h"
#include "common/status.h"

namespace weft {

// What must agree across ranks, as bytes (fields that do not apply are normalized away:
// the root of an all-reduce, the op of an all-gather or broadcast).
std::vector<uint8_t> EncodeCallSignature(const std::vector<CollArgs>& ops);
// "allreduce(count 1024, float, sum)"; a group lists its calls.
std::string DescribeCallSignature(const std::vector<uint8_t>& bytes);
// Ok when every rank's signature equals `all[rank]`; otherwise the first difference.
Status CompareCallSignatures(const std::vector<std::vector<uint8_t>>& all, int rank);

}  // namespace weft
