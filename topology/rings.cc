#include "topology/rings.h"

#include <algorithm>
#include <limits>

namespace weft {
namespace {

// Ring quality, compared lexicographically: worst class, worst bandwidth, count of links
// of the worst class (fewer is better), sum of bandwidths.
struct Score {
  PathClass worst = PathClass::kLoc;
  double worst_gbps = std::numeric_limits<double>::infinity();
  int worst_links = 0;
  double total_gbps = 0;
  bool BetterThan(const Score& o) const {
    if (worst != o.worst) return worst < o.worst;
    if (worst_gbps != o.worst_gbps) return worst_gbps > o.worst_gbps;
    if (worst_links != o.worst_links) return worst_links < o.worst_links;
    return total_gbps > o.total_gbps;
  }
};

Score ScoreRing(const std::vector<std::vector<Path>>& paths, const std::vector<int>& order,
                Path* bottleneck) {
  Score s;
  Path worst;
  worst.cls = PathClass::kLoc;
  const size_t n = order.size();
  for (size_t i = 0; i < n && n > 1; ++i) {
    const Path& p = paths[order[i]][order[(i + 1) % n]];
    s.total_gbps += p.gbps;
    if (p.cls > s.worst || (p.cls == s.worst && p.gbps < s.worst_gbps)) {
      if (p.cls > s.worst) s.worst_links = 0;
      s.worst = p.cls;
      s.worst_gbps = p.gbps;
      worst = p;
    }
    if (p.cls == s.worst) ++s.worst_links;
  }
  if (bottleneck) *bottleneck = worst;
  return s;
}

}  // namespace

GpuRing SearchGpuRing(const SystemGraph& g) {
  GpuRing best;
  const int n = static_cast<int>(g.gpus.size());
  if (n == 0) return best;
  const auto paths = GpuPaths(g);
  if (n > 9) {
    best.order = GreedyGpuRing(g, &best.bottleneck);
    return best;
  }
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i)
    order[i] = i;
  Score best_score;
  bool have = false;
  // GPU 0 first: rotations of a ring are the same ring.
  do {
    Path bottleneck;
    Score s = ScoreRing(paths, order, &bottleneck);
    if (!have || s.BetterThan(best_score)) {
      best_score = s;
      best.order = order;
      best.bottleneck = bottleneck;
      have = true;
    }
  } while (std::next_permutation(order.begin() + 1, order.end()));
  return best;
}

}  // namespace weft
