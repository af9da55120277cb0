// Sizes and chunk ranges of device collectives: plain functions, built with or without CUDA.
#include <algorithm>

#include "collectives/device/device_engine.h"
#include "collectives/reduce/vector_split.h"
#include "common/dtype.h"

namespace weft {

CollBytes BytesOf(const CollArgs& a, int rank, int nranks) {
  const size_t esz = TypeSize(a.type);
  CollBytes b;
  b.send = InputCount(a.coll, a.count, nranks) * esz;
  b.recv = OutputCount(a.coll, a.count, nranks) * esz;
  b.uses_send = ReadsInput(a.coll, rank, a.root);
  b.uses_recv = WritesOutput(a.coll, rank, a.root);
  return b;
}

void ChunkRange(size_t count, size_t elem_size, int n, int q, size_t* begin, size_t* end) {
  const size_t per = kVectorBytes / elem_size;  // elements per vector
  const size_t units = (count + per - 1) / per;
  const size_t nn = static_cast<size_t>(n), qq = static_cast<size_t>(q);
  auto unit_start = [&](size_t k) { return units / nn * k + std::min(k, units % nn); };
  *begin = std::min(count, unit_start(qq) * per);
  *end = std::min(count, unit_start(qq + 1) * per);
}

}  // namespace weft
