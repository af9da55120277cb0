// The plan a rank runs for one call, as a pure function of the communicator's shapes (its
// ring and trees), the algorithm and the call: what Communicator::GetPlan builds, and what
// the scale simulator (sim/) runs for thousands of virtual ranks.
#pragma once

#include <cstddef>
#include <vector>

#include "collectives/algo_spec.h"
#include "collectives/algorithms/algorithm.h"
#include "collectives/plan.h"
#include "topology/trees.h"

namespace weft {

// Double binary trees laid over ring positions, then renamed to ranks: neighbours in the
// ring are neighbours in the trees' in-order layout, so tree edges stay mostly inside a host.
std::vector<Tree> TreesOverRing(const std::vector<int>& ring);

// How a call in elements of `elem_size` bytes is cut, for a job of `nhosts` hosts:
// WEFT_NCHANNELS channels (0: AutoChannels), at most WEFT_CHUNK_SIZE per message (the links'
// slots hold one). A plan may move 2^22 messages per link (a terabyte at the default chunk).
Chunking ChunkingFor(size_t chunk_size, int nchannels_setting, int nhosts, size_t elem_size);

// Channels when WEFT_NCHANNELS is 0: one on one host, where a second measured no faster (on
// 2 cores the copies that move the data are the reductions' own CPU and memory); two across
// hosts, where the network moves the data while the rank reduces, and one channel's
// transfer overlaps the other's reduction (weft-sim, InfiniBand: rings 11-33% faster from
// 256 KiB up; docs/simulator.md).
int AutoChannels(int nhosts);
// WEFT_CHUNK_SIZE=0: 256 KiB on one host, where a ring's FIFO slots stay in cache; 1 MiB
// across hosts, where each message costs the network and the transport more than the
// cache does (2-3 hosts x 2 ranks over TCP against Gloo: 1.1-2.3x with 1 MiB, 0.9-1.2x with
// 256 KiB, docs/performance.md).
size_t AutoChunkBytes(int nhosts);

// The plan `rank` runs, from the algorithm's builder (the registry's): `count` is the C
// API's count (all-gather sendcount, reduce-scatter recvcount), `root` matters for
// broadcast and reduce.
Status BuildPlan(Algo algo, CollType coll, int rank, const PlanShapes& shapes, size_t count,
                 int root, const Chunking& chunking, Plan* out);

}  // namespace weft
