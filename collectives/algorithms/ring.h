// Ring algorithms (and the pipelined chains broadcast and reduce run along the ring), as
// Plans. See docs/algorithms.md for steps, bytes on the wire and when each is used.
#pragma once

#include <vector>

#include "collectives/algorithms/ring_parts.h"
#include "collectives/plan.h"

namespace weft {

// `ring` lists every rank once, in ring order: data flows from ring[p] to ring[p+1].
// `count` is the per-call count of the C API: allreduce/broadcast/reduce count, allgather
// sendcount, reducescatter recvcount. `root` matters for broadcast and reduce.
Status BuildRingPlan(CollType coll, int rank, const std::vector<int>& ring, size_t count, int root,
                     const Chunking& chunking, Plan* out);

// Checks that `ring` is a permutation of 0..nranks-1.
Status ValidateRing(const std::vector<int>& ring, int nranks);

}  // namespace weft
