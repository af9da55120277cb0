// Double-binary-tree all-reduce as a Plan (NCCL's "tree" algorithm): the data is split in
// two halves, one per tree of topology/trees.h (each on its own channel); in each tree,
// chunks are reduced up to the root, pipelined, then broadcast back down, pipelined. Every
// rank is an interior node in at most one tree, so each rank's links carry about the same
// load. Latency: 2 log2(N) message times; bandwidth: each rank sends the whole buffer about
// twice.
#pragma once

#include <vector>

#include "collectives/plan.h"
#include "topology/trees.h"

namespace weft {

// `trees` are over ranks (topology/trees.h, DoubleBinaryTrees or HostTrees); chunking's
// nchannels is ignored (one channel per tree), its chunk_elems is the pipeline unit.
Status BuildTreeAllReducePlan(int rank, const std::vector<Tree>& trees, size_t count,
                              const Chunking& chunking, Plan* out);

// The same tree shape moved along the ring so that `root` is its root (trees are built
// over ring positions; broadcast roots are the caller's).
Tree RerootTree(const Tree& tree, const std::vector<int>& ring, int root);

// Broadcast down one tree rooted at the broadcast's root, pipelined by chunk: latency
// log2(N) message times, but an interior rank sends the buffer to two children.
Status BuildTreeBroadcastPlan(int rank, const Tree& tree, size_t count, const Chunking& chunking,
                              Plan* out);

// Reduce up one tree rooted at the reduce's root, pipelined by chunk: latency log2(N)
// message times. Interior ranks accumulate their children's data in the plan's output,
// which on ranks other than the root must be scratch memory (the caller's recvbuff is
// not theirs to write).
Status BuildTreeReducePlan(int rank, const Tree& tree, size_t count, const Chunking& chunking,
                           Plan* out);

}  // namespace weft
