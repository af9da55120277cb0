#include "collectives/plan_builder.h"

#include <algorithm>

#include "collectives/algorithms/one_copy.h"
#include "collectives/algorithms/recursive_doubling.h"
#include "collectives/algorithms/ring.h"
#include "collectives/algorithms/tree.h"

namespace weft {

std::vector<Tree> TreesOverRing(const std::vector<int>& ring) {
  const int n = static_cast<int>(ring.size());
  std::vector<Tree> trees = DoubleBinaryTrees(n);
  for (Tree& t : trees) {
    Tree by_rank = t;
    for (int pos = 0; pos < n; ++pos) {
      by_rank.parent[ring[pos]] = t.parent[pos] < 0 ? -1 : ring[t.parent[pos]];
      by_rank.children[ring[pos]].clear();
      for (int c : t.children[pos])
        by_rank.children[ring[pos]].push_back(ring[c]);
    }
    by_rank.root = ring[t.root];
    t = std::move(by_rank);
  }
  return trees;
}

int AutoChannels(int nhosts) {
  return nhosts > 1 ? 2 : 1;
}

Chunking ChunkingFor(size_t chunk_size, int nchannels_setting, int nhosts, size_t elem_size) {
  Chunking chunking;
  chunking.nchannels = nchannels_setting > 0 ? nchannels_setting : AutoChannels(nhosts);
  chunking.chunk_elems = std::max<size_t>(1, chunk_size / elem_size);
  return chunking;
}

Status BuildPlan(Algo algo, CollType coll, int rank, const PlanShapes& shapes, size_t count,
                 int root, const Chunking& chunking, Plan* out) {
  const int nranks = static_cast<int>(shapes.ring.size());
  switch (algo) {
    case Algo::kRecursiveDoubling:
      return BuildRecursiveDoublingPlan(rank, nranks, count, chunking.chunk_elems, out);
    case Algo::kTree:
      if (coll == CollType::kBroadcast)
        return BuildTreeBroadcastPlan(rank, RerootTree(shapes.trees[0], shapes.ring, root), count,
                                      chunking, out);
      if (coll == CollType::kReduce)
        return BuildTreeReducePlan(rank, RerootTree(shapes.trees[0], shapes.ring, root), count,
                                   chunking, out);
      return BuildTreeAllReducePlan(rank, shapes.trees, count, chunking, out);
    case Algo::kRing:
      return BuildRingPlan(coll, rank, shapes.ring, count, root, chunking, out);
    case Algo::kDirect:
      return coll == CollType::kBroadcast
                 ? BuildOneCopyBroadcastPlan(rank, nranks, count, root, out)
                 : BuildOneCopyAllGatherPlan(rank, nranks, count, out);
  }
  return InvalidArgument(Format("unknown algorithm %d", static_cast<int>(algo)));
}

}  // namespace weft
