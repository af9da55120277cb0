// Double binary trees, NCCL-style: two binary trees over the same N nodes such that every
// node is an interior node (has children) in at most one of them, so that a reduction
// split in two halves, one per tree, loads every node's links about equally. Across hosts
// the trees span one leader per host; inside a host the ranks form a chain.
#pragma once

#include <string>
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

// "0<-1,2 1<-3 ..." style text for logs and weft-topo.
std::string DescribeTree(const Tree& t);

}  // namespace weft
