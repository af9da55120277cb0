// One-copy collectives between the ranks of one host: each rank reads what it needs straight
// from the peers' buffers (process_vm_readv, "CMA"), so every byte is copied once, where the
// ring through shared FIFOs copies it twice per hop (into the FIFO, out of it). The FIFOs
// carry only control words: the address to read, then "done with your buffer" (a rank may
// not return, and let its caller reuse the buffer, while a peer still reads it).
#pragma once

#include "collectives/plan.h"

namespace weft {

// All-gather of `count` elements per rank: post the input's address to every peer, copy the
// own block, read every peer's block, then tell each peer it is done and wait for the same.
Status BuildOneCopyAllGatherPlan(int rank, int nranks, size_t count, Plan* out);

// Broadcast of `count` elements from `root`: the root posts its input, every other rank
// reads it whole and signals the root, which waits for all of them.
Status BuildOneCopyBroadcastPlan(int rank, int nranks, size_t count, int root, Plan* out);

}  // namespace weft
