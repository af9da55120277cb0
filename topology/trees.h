// Double binary trees, NCCL-style: two binary trees over the same N nodes such that every
// node is an interior node (has children) in at most one of them, so that a reduction
// split in two halves, one per tree, loads every node's links about equally. Across hosts
// the trees span one leader per host; inside a host the ranks form a chain.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace weft {

struct Tree {
  std::vector<int> parent;                 // -1 for the root
  std::vector<std::vector<int>> children;  // at most 2 each
  int root = -1;
};

// Tree 0 puts node p at in-order position p+1 of a binary tree whose node at position q has
// parent/children by the lowest set bit of q (the root is the largest power of two <= N);
// tree 1 is the same shape over positions shifted by one, so that the interior nodes of
// one are leaves of the other.
std::vector<Tree> DoubleBinaryTrees(int n);

// The two trees over hosts x ranks_per_host ranks (rank = host * ranks_per_host + local):
// the trees connect each host's first rank; the other ranks of a host hang below it in a
// chain (local 1 below local 0, 2 below 1, ...).
std::vector<Tree> HostTrees(int nhosts, int ranks_per_host);

// The longest root-to-leaf path over `trees` (hops), the most hops between hosts on any
// such path (host_of[rank] names each rank's host), and the most tree edges through one
// host's NIC one way (the trees together, as their channels run at once): a tree's latency
// and what its data asks of a NIC, for the tuner.
struct TreePaths {
  int depth = 0;
  int between_hosts = 0;
  int nic_edges = 0;
};
template <typename HostId>
TreePaths LongestPaths(const std::vector<Tree>& trees, const std::vector<HostId>& host_of) {
  TreePaths out;
  // Per host: edges from a child in it to a parent elsewhere (out, going up), and from a
  // child elsewhere to a parent in it (in); the way down uses them the other way round.
  std::map<HostId, std::pair<int, int>> per_host;
  auto count = [&](const HostId& h, bool out_edge) {
    auto& edges = per_host[h];
    ++(out_edge ? edges.first : edges.second);
  };
  for (const Tree& t : trees) {
    for (size_t r = 0; r < t.parent.size(); ++r) {
      const int p = t.parent[r];
      if (p < 0 || host_of[r] == host_of[p]) continue;
      count(host_of[r], true);
      count(host_of[p], false);
    }
    for (size_t leaf = 0; leaf < t.parent.size(); ++leaf) {
      if (!t.children[leaf].empty()) continue;
      int hops = 0, crossings = 0;
      for (int r = static_cast<int>(leaf); t.parent[r] >= 0; r = t.parent[r]) {
        ++hops;
        crossings += host_of[r] != host_of[t.parent[r]];
      }
      out.depth = std::max(out.depth, hops);
      out.between_hosts = std::max(out.between_hosts, crossings);
    }
  }
  for (const auto& entry : per_host)
    out.nic_edges = std::max({out.nic_edges, entry.second.first, entry.second.second});
  return out;
}

// "0<-1,2 1<-3 ..." style text for logs and weft-topo.
std::string DescribeTree(const Tree& t);

}  // namespace weft
