// Double binary trees for 1..64 nodes: two valid binary trees, every node interior in at
// most one of them; across hosts, a chain inside each host.
#include <gtest/gtest.h>

#include "topology/trees.h"

namespace weft {
namespace {

// Valid: one root, at most `max_children` children, every node reaches the root without a
// cycle.
std::string CheckTree(const Tree& t, int n, size_t max_children = 2) {
  if (static_cast<int>(t.parent.size()) != n) return "size";
  int roots = 0;
  for (int i = 0; i < n; ++i) {
    roots += t.parent[i] < 0;
    if (t.children[i].size() > max_children)
      return "more than two children at " + std::to_string(i);
    int steps = 0;
    for (int x = i; t.parent[x] >= 0; x = t.parent[x]) {
      if (++steps > n) return "cycle through " + std::to_string(i);
    }
  }
  return roots == 1 ? "" : "roots: " + std::to_string(roots);
}

TEST(DoubleBinaryTrees, ValidAndComplementaryFor1To64) {
  for (int n = 1; n <= 64; ++n) {
    std::vector<Tree> trees = DoubleBinaryTrees(n);
    ASSERT_EQ(2u, trees.size());
    for (const Tree& t : trees)
      ASSERT_EQ("", CheckTree(t, n)) << "n=" << n;
    for (int i = 0; i < n; ++i) {
      const bool interior0 = !trees[0].children[i].empty();
      const bool interior1 = !trees[1].children[i].empty();
      EXPECT_FALSE(interior0 && interior1) << "n=" << n << " node " << i << " interior in both";
    }
  }
}

TEST(DoubleBinaryTrees, SmallShapes) {
  std::vector<Tree> t = DoubleBinaryTrees(1);
  EXPECT_EQ(0, t[0].root);
  t = DoubleBinaryTrees(4);
  // Tree 0: node p at position p+1; the root is position 4 (node 3), node 1 (position 2)
  // below it with nodes 0 and 2.
  EXPECT_EQ(3, t[0].root);
  EXPECT_EQ((std::vector<int>{1, 3, 1, -1}), t[0].parent);
  // Tree 1: shifted by one, so node 0 is interior there and a leaf in tree 0.
  EXPECT_EQ((std::vector<int>{2, 0, -1, 0}), t[1].parent);
}

TEST(HostTrees, ChainInsideEachHost) {
  for (int hosts : {1, 2, 3, 8, 64}) {
    for (int per_host : {1, 2, 8}) {
      std::vector<Tree> trees = HostTrees(hosts, per_host);
      for (const Tree& t : trees) {
        // A host's leader: two children on other hosts and the next rank of its chain.
        ASSERT_EQ("", CheckTree(t, hosts * per_host, 3)) << hosts << "x" << per_host;
        for (int h = 0; h < hosts; ++h)
          for (int l = 1; l < per_host; ++l)
            EXPECT_EQ(h * per_host + l - 1, t.parent[h * per_host + l]);
      }
    }
  }
}

}  // namespace
// What the tuner reads off the trees: the longest path, its hops between hosts, and the
// most tree edges through one host's NIC one way.
TEST(Trees, LongestPathsCountHopsBetweenHostsAndEdgesThroughANic) {
  Tree t;  // 0 <- 1, 2; 2 <- 3; 1 <- 4
  t.root = 0;
  t.parent = {-1, 0, 0, 2, 1};
  t.children = {{1, 2}, {4}, {3}, {}, {}};
  const std::vector<int> host_of = {0, 0, 1, 1, 2};
  TreePaths p = LongestPaths(std::vector<Tree>{t}, host_of);
  EXPECT_EQ(2, p.depth);
  EXPECT_EQ(1, p.between_hosts);  // 3 -> 2 stays in host 1, 2 -> 0 crosses; 4 -> 1 crosses
  EXPECT_EQ(2, p.nic_edges);      // host 0 receives from hosts 1 and 2
  // A second tree in which host 1's ranks both have parents in host 0: three edges leave
  // host 1 in the two trees together.
  Tree u;
  u.root = 0;
  u.parent = {-1, 0, 0, 0, 3};
  u.children = {{1, 2, 3}, {}, {}, {4}, {}};
  p = LongestPaths(std::vector<Tree>{t, u}, host_of);
  EXPECT_EQ(2, p.depth);
  EXPECT_EQ(2, p.between_hosts);  // 4 -> 3 -> 0: hosts 2, 1, 0
  EXPECT_EQ(4, p.nic_edges);      // into host 0: 2 (t) + 2 (u)
}

}  // namespace weft
