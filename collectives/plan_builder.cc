#include "collectives/plan_builder.h"

#include <algorithm>

#include "collectives/algorithms/registry.h"

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

size_t AutoChunkBytes(int nhosts) {
  return nhosts > 1 ? size_t{1} << 20 : size_t{256} << 10;
}

Chunking ChunkingFor(size_t chunk_size, int nchannels_setting, int nhosts, size_t elem_size) {
  if (chunk_size == 0) chunk_size = AutoChunkBytes(nhosts);
  Chunking chunking;
  chunking.nchannels = nchannels_setting > 0 ? nchannels_setting : AutoChannels(nhosts);
  chunking.chunk_elems = std::max<size_t>(1, chunk_size / elem_size);
  return chunking;
}

Status BuildPlan(Algo algo, CollType coll, int rank, const PlanShapes& shapes, size_t count,
                 int root, const Chunking& chunking, Plan* out) {
  WEFT_REQUIRE(static_cast<unsigned>(algo) < static_cast<unsigned>(kNumAlgos), weftInvalidArgument,
               "unknown algorithm %d", static_cast<int>(algo));
  const AlgorithmInfo& a = AlgorithmOf(algo);
  WEFT_REQUIRE(a.Serves(coll), weftInvalidArgument, "%s has no %s algorithm", CollName(coll),
               a.name);
  return a.build(coll, rank, shapes, count, root, chunking, out);
}

bool PlanShapes::uniform_hosts() const {
  for (const std::vector<int>& h : hosts)
    if (h.size() != hosts[0].size()) return false;
  return true;
}

PlanShapes MakePlanShapes(const std::vector<int>& ring, const std::vector<int>& host_of) {
  PlanShapes shapes;
  shapes.ring = ring;
  shapes.trees = TreesOverRing(ring);
  const size_t n = ring.size();
  shapes.host_of.assign(n, 0);
  if (!host_of.empty()) shapes.host_of = host_of;
  // Hosts numbered in the order the ring first visits them.
  std::vector<int> index(n, -1);
  for (int r : ring) {
    int& h = index[static_cast<size_t>(shapes.host_of[static_cast<size_t>(r)])];
    if (h < 0) {
      h = static_cast<int>(shapes.hosts.size());
      shapes.hosts.emplace_back();
    }
    shapes.hosts[static_cast<size_t>(h)].push_back(r);
  }
  for (size_t r = 0; r < n; ++r)
    shapes.host_of[r] = index[static_cast<size_t>(shapes.host_of[r])];
  return shapes;
}

}  // namespace weft
