// The memory bound weft-perf prints beside its table: on host buffers no collective can beat
// the time its ranks need to read and write the bytes it must move, at the rate memory copies
// when every rank copies at once (measured in the same run, so the bound shares the
// machine's load and the table's noise).
#pragma once

#include <cstddef>

#include "collectives/collective.h"
#include "weft/weft.h"

namespace weft::perf {

// Bytes each rank must at least copy (read once and write once) per byte of the call's size
// (nccl-tests' size: the larger buffer), whatever the algorithm: all-reduce, each rank
// reduces its 1/N of the N inputs (reads S) and writes it into the N outputs (writes S);
// all-gather and broadcast, each rank's output is written once from data read once (S);
// reduce-scatter and reduce, each rank reads its 1/N of the N inputs (S) and writes S/N.
double CopyBytesPerByte(CollType coll, int nranks);

struct MemoryBound {
  double copy_gbps = 0;   // memcpy rate per rank, every rank copying at once (GB/s)
  double busbw_gbps = 0;  // the busbw no algorithm can pass at that rate
};

// Collective (every rank of `comm` calls it): each rank copies `bytes` between buffers of
// its own a few times, the ranks started together by an all-reduce; the rate is the slowest
// rank's (median of its rounds).
MemoryBound MeasureMemoryBound(weftComm_t comm, CollType coll, size_t bytes);

}  // namespace weft::perf
