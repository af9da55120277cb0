// What each collective is, in one table: the one place that knows how the C API's `count`
// becomes buffer lengths and bytes, which ranks read and write which buffer, the in-place
// layout and nccl-tests' bus-bandwidth factor. The API's checks, the plans, the tuner, the
// device engine, weft-perf and weft-sim all ask here.
#pragma once

#include <cstddef>

namespace weft {

enum class CollType { kAllReduce, kAllGather, kReduceScatter, kBroadcast, kReduce };
constexpr int kNumCollTypes = 5;
constexpr CollType kAllCollTypes[kNumCollTypes] = {CollType::kAllReduce, CollType::kAllGather,
                                                   CollType::kReduceScatter, CollType::kBroadcast,
                                                   CollType::kReduce};

struct CollFacts {
  const char* name;  // "allreduce", as WEFT_ALGO, weft-perf and the logs spell it
  bool reduces;      // takes a reduction op
  bool rooted;       // has a root (broadcast, reduce)
  // The input and output hold `count` elements times these (all-gather's output and
  // reduce-scatter's input hold one block per rank: the factor is nranks, marked 0 here).
  int input_blocks;
  int output_blocks;
  // The buffer in-place calls share, shifted by rank * count elements: 0 none (in place
  // is send == recv), +1 the input sits inside the output (all-gather: send == recv +
  // rank*count), -1 the output sits inside the input (reduce-scatter: recv == send +
  // rank*count), as in NCCL.
  int in_place_shift;
  const char* in_place_rule;  // that rule, for error messages
};

const CollFacts& FactsOf(CollType c);
inline const char* CollName(CollType c) {
  return FactsOf(c).name;
}
// By name; false if there is none.
bool ParseCollName(const char* name, CollType* out);

// Elements the input and output buffers of a call of `count` hold, with n ranks.
size_t InputCount(CollType c, size_t count, int nranks);
size_t OutputCount(CollType c, size_t count, int nranks);
// The size of a call, as nccl-tests and the tuner count it: the larger buffer, in bytes.
size_t CallBytes(CollType c, size_t count, size_t elem_size, int nranks);
// The count a call of `bytes` has (the inverse of CallBytes, rounded down).
size_t CountForBytes(CollType c, size_t bytes, size_t elem_size, int nranks);
// nccl-tests' bus bandwidth factor: busbw = algbw x this.
double BusFactor(CollType c, int nranks);
// Whether `rank` reads its input (broadcast: the root only) and writes its output (reduce:
// the root only).
bool ReadsInput(CollType c, int rank, int root);
bool WritesOutput(CollType c, int rank, int root);
// Whether input and output of a call by `rank` are the in-place layout.
bool IsInPlace(CollType c, const void* input, const void* output, size_t count, size_t elem_size,
               int rank);

}  // namespace weft
