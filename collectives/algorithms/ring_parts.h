// The parts rings are made of, for any ring of ranks (all of them, one host's, one rail's):
// each appends one pass of a ring collective over given regions to a channel. The ring
// algorithms (ring.cc) are loops of these over the whole ring; the hierarchical ones
// (hier.cc) compose them over a host's ring and a rail's.
//
// Regions are given per ring position: `block(q)` is the region that belongs to the rank at
// position q (its segment, its block). Steps of empty regions are left out: both ends of a
// link see the same sizes, so they leave out the same messages.
#pragma once

#include <functional>
#include <vector>

#include "collectives/plan.h"

namespace weft {

// A ring of ranks and this rank's place in it: data flows from ranks[p] to ranks[p+1].
class RingView {
 public:
  RingView(const std::vector<int>& ranks, int rank);
  int size() const { return static_cast<int>(ranks_->size()); }
  int pos() const { return pos_; }
  int RankAt(int pos) const;  // any integer: taken modulo the size
  int Next() const { return RankAt(pos_ + 1); }
  int Prev() const { return RankAt(pos_ - 1); }
  bool contains_rank() const { return pos_ >= 0; }

 private:
  const std::vector<int>* ranks_;
  int pos_;
};

using BlockOf = std::function<Region(int position)>;

// Appends one step (none for an empty region) receiving from the ring's previous rank and
// sending to its next, as the kind says; returns it, or null.
Step* EmitRingStep(ChannelPlan* ch, const RingView& ring, StepKind kind, Region src, Region dst,
                   bool finalize = false);

// Reduce-scatter: the rank at position q ends with the reduction of every rank's block(q)
// in out(q). n-1 steps.
void RingReduceScatterPart(ChannelPlan* ch, const RingView& ring, const BlockOf& in,
                           const BlockOf& out, bool finalize);

// All-gather: block(q) of the rank at position q reaches every rank's block(q); `own` is
// where this rank's block is to start with (its input, or block(pos) itself). n-1 steps.
void RingAllGatherPart(ChannelPlan* ch, const RingView& ring, Region own, const BlockOf& block);

// All-reduce of segments: the reduce-scatter and the all-gather fused (the step that
// finishes a segment forwards it at once). 2(n-1) steps; a ring of one copies.
void RingAllReducePart(ChannelPlan* ch, const RingView& ring, const BlockOf& in, const BlockOf& out,
                       bool finalize);

// A chain along the ring from the rank at `root_pos`: the root sends `src`, every other rank
// receives into `dst` and passes it on. n-1 hops, pipelined by the caller's chunks.
void ChainBroadcastPart(ChannelPlan* ch, const RingView& ring, int root_pos, Region src,
                        Region dst);

// A chain along the ring ending at the rank at `root_pos`: each rank adds its `src` and
// passes the sum on; the root writes the total to `dst`.
void ChainReducePart(ChannelPlan* ch, const RingView& ring, int root_pos, Region src, Region dst,
                     bool finalize);

// Splits `total` into `parts` nearly equal pieces; returns piece i as {offset, size}.
struct Piece {
  size_t offset;
  size_t size;
};
Piece SplitEven(size_t total, size_t parts, size_t i);

// Region `r` narrowed to [at, at + n) of its elements.
Region SubRegion(Region r, size_t at, size_t n);

}  // namespace weft
