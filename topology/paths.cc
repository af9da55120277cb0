#include "topology/paths.h"

#include <algorithm>
#include <limits>

#include "topology/link_facts.h"

namespace weft {

const char* PathClassName(PathClass c) {
  switch (c) {
    case PathClass::kLoc:
      return "LOC";
    case PathClass::kNvl:
      return "NVL";
    case PathClass::kNvb:
      return "NVB";
    case PathClass::kPix:
      return "PIX";
    case PathClass::kPxb:
      return "PXB";
    case PathClass::kPhb:
      return "PHB";
    case PathClass::kSys:
      return "SYS";
  }
  return "?";
}

namespace {

double LinkGbps(const SystemGraph& g, int a, int b, int* count) {
  for (const NvLink& l : g.nvlinks) {
    if ((l.a == a && l.b == b) || (l.a == b && l.b == a)) {
      if (count) *count = l.count;
      return l.gbps;
    }
  }
  return 0;
}

std::vector<int> Ancestors(const SystemGraph& g, int n) {
  std::vector<int> chain;
  for (int x = n; x >= 0; x = g.nodes[x].parent)
    chain.push_back(x);
  return chain;  // n first, machine last
}

double MinKnown(double a, double b) {
  if (a <= 0) return b;
  if (b <= 0) return a;
  return std::min(a, b);
}

// Across CPU sockets the link between them bounds the path, as NCCL rates it by CPU model;
// NUMA nodes of unknown CPUs bound nothing (0).
double InterCpuPathGbps(const SystemGraph& g, int a, int b) {
  auto numa_node = [&](int n) {
    for (int x = n; x >= 0; x = g.nodes[x].parent)
      if (g.nodes[x].kind == NodeKind::kNuma) return x;
    return -1;
  };
  const int na = numa_node(a), nb = numa_node(b);
  if (na < 0 || nb < 0 || na == nb) return 0;
  return MinKnown(InterCpuGbps(g.nodes[na].device_attrs), InterCpuGbps(g.nodes[nb].device_attrs));
}

}  // namespace

double NvLinkGbps(const SystemGraph& g, int node) {
  double total = 0;
  for (const NvLink& l : g.nvlinks)
    if (l.a == node || l.b == node) total += l.gbps;
  return total;
}

Path ComputePath(const SystemGraph& g, int a, int b) {
  Path p;
  if (a == b) {
    p.cls = PathClass::kLoc;
    return p;
  }
  // NVLink, direct or through NVSwitches. As NCCL does, all NVSwitches count as one fabric
  // (files list GPU-switch links but not the trunks between switch planes): two GPUs that
  // both reach it talk at the smaller of their two switch bandwidths.
  int count = 0;
  double nvl = LinkGbps(g, a, b, &count);
  double sw_a = 0, sw_b = 0;
  int links_a = 0, links_b = 0;
  for (const NvLink& l : g.nvlinks) {
    const int other_a = l.a == a ? l.b : l.b == a ? l.a : -1;
    const int other_b = l.a == b ? l.b : l.b == b ? l.a : -1;
    if (other_a >= 0 && g.nodes[other_a].kind == NodeKind::kNvSwitch) {
      sw_a += l.gbps;
      links_a += l.count;
    }
    if (other_b >= 0 && g.nodes[other_b].kind == NodeKind::kNvSwitch) {
      sw_b += l.gbps;
      links_b += l.count;
    }
  }
  if (sw_a > 0 && sw_b > 0) {
    nvl += std::min(sw_a, sw_b);
    count += std::min(links_a, links_b);
  }
  if (nvl > 0) {
    p.cls = PathClass::kNvl;
    p.gbps = nvl;
    p.nvlinks = count;
    for (const NvLink& l : g.nvlinks)
      p.xgmi = p.xgmi || (l.xgmi && (l.a == a || l.b == a));
    return p;
  }
  // NVLink through one intermediate GPU, as NCCL's NVB: the GPU forwards (P2P read/write
  // through its NVLinks), at the smaller of the two hops; the best such GPU wins.
  if (g.nodes[a].kind == NodeKind::kGpu && g.nodes[b].kind == NodeKind::kGpu) {
    for (int k : g.gpus) {
      if (k == a || k == b) continue;
      const double hop = std::min(LinkGbps(g, a, k, nullptr), LinkGbps(g, k, b, nullptr));
      if (hop > p.gbps) {
        p.cls = PathClass::kNvb;
        p.gbps = hop;
        p.via = k;
      }
    }
    if (p.cls == PathClass::kNvb) return p;
    p.gbps = 0;
  }
  // PCIe: the lowest common ancestor in the tree, and what lies between.
  const std::vector<int> ua = Ancestors(g, a), ub = Ancestors(g, b);
  int lca = 0;
  size_t ia = 0, ib = 0;
  for (ia = 0; ia < ua.size(); ++ia) {
    auto it = std::find(ub.begin(), ub.end(), ua[ia]);
    if (it != ub.end()) {
      lca = ua[ia];
      ib = static_cast<size_t>(it - ub.begin());
      break;
    }
  }
  auto bridges_below = [&](const std::vector<int>& chain, size_t upto) {
    int n = 0;
    for (size_t i = 1; i < upto; ++i)
      n += g.nodes[chain[i]].kind == NodeKind::kBridge;
    return n;
  };
  double bw = 0;
  for (size_t i = 0; i < ia; ++i)
    bw = MinKnown(bw, g.nodes[ua[i]].link_gbps);
  for (size_t i = 0; i < ib; ++i)
    bw = MinKnown(bw, g.nodes[ub[i]].link_gbps);
  p.gbps = bw;
  switch (g.nodes[lca].kind) {
    case NodeKind::kBridge:
      p.cls = bridges_below(ua, ia) <= 1 && bridges_below(ub, ib) <= 1 ? PathClass::kPix
                                                                       : PathClass::kPxb;
      break;
    case NodeKind::kHostBridge:
    case NodeKind::kNuma:
      p.cls = PathClass::kPhb;
      break;
    default:
      p.cls = PathClass::kSys;
      p.gbps = MinKnown(p.gbps, InterCpuPathGbps(g, a, b));
  }
  return p;
}

std::vector<std::vector<Path>> GpuPaths(const SystemGraph& g) {
  std::vector<std::vector<Path>> m(g.gpus.size(), std::vector<Path>(g.gpus.size()));
  for (size_t i = 0; i < g.gpus.size(); ++i)
    for (size_t j = 0; j < g.gpus.size(); ++j)
      m[i][j] = ComputePath(g, g.gpus[i], g.gpus[j]);
  return m;
}

std::vector<std::vector<Path>> GpuNicPaths(const SystemGraph& g) {
  std::vector<std::vector<Path>> m(g.gpus.size(), std::vector<Path>(g.nics.size()));
  for (size_t i = 0; i < g.gpus.size(); ++i)
    for (size_t j = 0; j < g.nics.size(); ++j)
      m[i][j] = ComputePath(g, g.gpus[i], g.nics[j]);
  return m;
}

std::vector<int> AssignNics(const SystemGraph& g) {
  std::vector<std::vector<Path>> paths(g.gpus.size(), std::vector<Path>(g.rails.size()));
  for (size_t i = 0; i < g.gpus.size(); ++i)
    for (size_t j = 0; j < g.rails.size(); ++j)
      paths[i][j] = ComputePath(g, g.gpus[i], g.rails[j]);
  std::vector<int> uses(g.rails.size(), 0), out(g.gpus.size(), -1);
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    int best = -1;
    for (size_t j = 0; j < g.rails.size(); ++j) {
      if (best < 0) {
        best = static_cast<int>(j);
        continue;
      }
      const Path& p = paths[i][j];
      const Path& q = paths[i][best];
      if (p.cls != q.cls ? p.cls < q.cls : uses[j] < uses[best]) best = static_cast<int>(j);
    }
    out[i] = best;
    if (best >= 0) ++uses[best];
  }
  return out;
}

std::vector<int> GreedyGpuRing(const SystemGraph& g, Path* bottleneck) {
  const auto paths = GpuPaths(g);
  const size_t n = g.gpus.size();
  std::vector<int> ring;
  std::vector<bool> used(n, false);
  Path worst;
  worst.cls = PathClass::kLoc;
  worst.gbps = std::numeric_limits<double>::infinity();
  auto better = [](const Path& x, const Path& y) {
    return x.cls != y.cls ? x.cls < y.cls : x.gbps > y.gbps;
  };
  auto note = [&](const Path& p) {
    if (p.cls > worst.cls || (p.cls == worst.cls && p.gbps < worst.gbps)) worst = p;
  };
  if (n > 0) {
    ring.push_back(0);
    used[0] = true;
  }
  while (ring.size() < n) {
    const int last = ring.back();
    int pick = -1;
    for (size_t j = 0; j < n; ++j) {
      if (used[j]) continue;
      if (pick < 0 || better(paths[last][j], paths[last][pick])) pick = static_cast<int>(j);
    }
    note(paths[last][pick]);
    ring.push_back(pick);
    used[pick] = true;
  }
  if (n > 1) note(paths[ring.back()][ring.front()]);
  if (n <= 1) worst.gbps = 0;
  if (bottleneck) *bottleneck = worst;
  return ring;
}

}  // namespace weft
