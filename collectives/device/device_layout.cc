// Sizes and chunk ranges of device collectives: plain functions, built with or without CUDA.
#include <algorithm>

#include "collectives/device/device_engine.h"
#include "collectives/reduce/vector_split.h"
#include "common/dtype.h"

namespace weft {

CollBytes BytesOf(const CollArgs& a, int rank, int nranks) {
  const size_t bytes = a.count * TypeSize(a.type);
  const size_t n = static_cast<size_t>(nranks);
  CollBytes b;
  switch (a.coll) {
    case CollType::kAllReduce:
      b.send = b.recv = bytes;
      break;
    case CollType::kAllGather:
      b.send = bytes;
      b.recv = bytes * n;
      break;
    case CollType::kReduceScatter:
      b.send = bytes * n;
      b.recv = bytes;
      break;
    case CollType::kBroadcast:
      b.send = b.recv = bytes;
      b.uses_send = rank == a.root;
      break;
    case CollType::kReduce:
      b.send = b.recv = bytes;
      b.uses_recv = rank == a.root;
      break;
  }
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
