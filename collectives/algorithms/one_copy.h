// One-copy collectives between the ranks of one host: each rank reads what it needs straight
// from the peers' buffers, so every byte is copied once, where the ring through shared FIFOs
// copies it twice per hop (into the FIFO, out of it). A peer's buffer is read (and written)
// in place where it is shared memory the user registered (weftMemAlloc, weftCommRegister),
// through the kernel otherwise (process_vm_readv/writev, "CMA"). The FIFOs carry only
// control words: the addresses, then "done with your buffer" (a rank may not return, and let
// its caller reuse the buffer, while a peer still reads or writes it).
#pragma once

#include "collectives/plan.h"

namespace weft {

// All-gather of `count` elements per rank: post the input's address to every peer, copy the
// own block, read every peer's block, then tell each peer it is done and wait for the same.
Status BuildOneCopyAllGatherPlan(int rank, int nranks, size_t count, Plan* out);

// All-reduce of `count` elements: rank r owns the r-th of n slices. It posts its input and
// output to every peer, then, block by block of its slice, reduces its input with every
// peer's and writes the result into its own output and every peer's; then the done
// signals. Each rank reads and writes each byte of the vector once: with 2 ranks one pass
// of ReduceTwice per block (both outputs at once). A rank reading through the kernel stages
// a block in scratch (`block` elements).
Status BuildOneCopyAllReducePlan(int rank, int nranks, size_t count, size_t block, Plan* out);

// Broadcast of `count` elements from `root`: the root posts its input, every other rank
// reads it whole and signals the root, which waits for all of them.
Status BuildOneCopyBroadcastPlan(int rank, int nranks, size_t count, int root, Plan* out);

}  // namespace weft
