#include "topology/trees.h"

#include "common/status.h"

namespace weft {
namespace {

// Parent position (1-based) of position q in a tree of positions 1..n, or 0 for the root.
int ParentPosition(int q, int n) {
  int root = 1;
  while (root * 2 <= n)
    root *= 2;
  if (q == root) return 0;
  // Walk up the implicit infinite tree until the ancestor exists (is <= n).
  int b = q & -q;
  int p = q;
  do {
    const int k = p / b;                 // p = b * k, k odd
    p = ((k >> 1) & 1) ? p - b : p + b;  // the neighbour whose lowest set bit is 2b
    b *= 2;
  } while (p > n);
  return p;
}

Tree TreeFromParents(std::vector<int> parent) {
  Tree t;
  t.parent = std::move(parent);
  t.children.assign(t.parent.size(), {});
  for (size_t i = 0; i < t.parent.size(); ++i) {
    if (t.parent[i] < 0)
      t.root = static_cast<int>(i);
    else
      t.children[t.parent[i]].push_back(static_cast<int>(i));
  }
  return t;
}

}  // namespace

std::vector<Tree> DoubleBinaryTrees(int n) {
  std::vector<Tree> trees;
  for (int shift = 0; shift < 2; ++shift) {
    std::vector<int> parent(n, -1);
    for (int node = 0; node < n; ++node) {
      const int pos = (node + shift) % n + 1;  // 1-based position of this node
      const int ppos = ParentPosition(pos, n);
      parent[node] = ppos == 0 ? -1 : ((ppos - 1) - shift + n) % n;
    }
    trees.push_back(TreeFromParents(std::move(parent)));
  }
  return trees;
}

std::vector<Tree> HostTrees(int nhosts, int ranks_per_host) {
  std::vector<Tree> out;
  for (const Tree& hosts : DoubleBinaryTrees(nhosts)) {
    std::vector<int> parent(static_cast<size_t>(nhosts) * ranks_per_host, -1);
    for (int h = 0; h < nhosts; ++h) {
      const int leader = h * ranks_per_host;
      parent[leader] = hosts.parent[h] < 0 ? -1 : hosts.parent[h] * ranks_per_host;
      for (int l = 1; l < ranks_per_host; ++l)
        parent[leader + l] = leader + l - 1;
    }
    out.push_back(TreeFromParents(std::move(parent)));
  }
  return out;
}

std::string DescribeTree(const Tree& t) {
  std::string s = Format("root %d:", t.root);
  for (size_t i = 0; i < t.children.size(); ++i) {
    if (t.children[i].empty()) continue;
    s += Format(" %zu<-", i);
    for (size_t c = 0; c < t.children[i].size(); ++c)
      s += Format("%s%d", c ? "," : "", t.children[i][c]);
  }
  return s;
}

}  // namespace weft
