// The memory bound weft-perf prints beside its table: on host buffers no collective can beat
// the time its ranks need to read and write the bytes it must move, at the rate memory copies
// when every rank copies at once (measured in the same run, so the bound shares the
// machine's load and the table's noise).
#pragma once

#include <cstddef>

#include "collectives/collective.h"
#include "weft/weft.h"

namespace weft::perf {

// Bytes each rank must at least copy per byte of the call's size S (nccl-tests' size: the
// larger buffer), whatever the algorithm, in memcpy units: a copied byte is read once and
// written once, so R bytes read and W written are (R + W) / 2 copied bytes. Ranks are
// processes: none can write into another's buffers, so whatever a rank's output needs from
// the others, it reads itself.
//   all-reduce      reads its input (S) and the others' reduced (N-1)/N of it, writes its
//                   output (S): 1 + (N-1)/2N (1.25 for 2 ranks)
//   all-gather,     reads S (its block and the others'), writes S: 1
//   broadcast
//   reduce-scatter, reads its input (S), writes S/N: (1 + 1/N) / 2
//   reduce
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
