#include "collectives/algorithms/ring_parts.h"

namespace weft {

RingView::RingView(const std::vector<int>& ranks, int rank) : ranks_(&ranks), pos_(-1) {
  for (size_t i = 0; i < ranks.size(); ++i)
    if (ranks[i] == rank) pos_ = static_cast<int>(i);
}

int RingView::RankAt(int pos) const {
  const int n = size();
  return (*ranks_)[static_cast<size_t>(((pos % n) + n) % n)];
}

Piece SplitEven(size_t total, size_t parts, size_t i) {
  size_t base = total / parts, extra = total % parts;
  size_t offset = i * base + (i < extra ? i : extra);
  return {offset, base + (i < extra ? 1 : 0)};
}

Region SubRegion(Region r, size_t at, size_t n) {
  r.offset += at;
  r.count = n;
  return r;
}

Step* EmitRingStep(ChannelPlan* ch, const RingView& ring, StepKind kind, Region src, Region dst,
                   bool finalize) {
  const size_t n = src.buf != BufferId::kNone ? src.count : dst.count;
  if (n == 0) return nullptr;
  Step* st = ch->Add(kind, StepSends(kind) ? ring.Next() : -1,
                     StepReceives(kind) ? ring.Prev() : -1, src, dst);
  st->finalize = finalize;
  return st;
}

void RingReduceScatterPart(ChannelPlan* ch, const RingView& ring, const BlockOf& in,
                           const BlockOf& out, bool finalize) {
  const int n = ring.size(), p = ring.pos();
  if (n == 1) {
    EmitRingStep(ch, ring, StepKind::kCopy, in(p), out(p), finalize);
    return;
  }
  EmitRingStep(ch, ring, StepKind::kSend, in(p - 1), {});
  for (int t = 1; t <= n - 2; ++t)
    EmitRingStep(ch, ring, StepKind::kRecvReduceSend, in(p - t - 1), {});
  EmitRingStep(ch, ring, StepKind::kRecvReduceCopy, in(p), out(p), finalize);
}

void RingAllGatherPart(ChannelPlan* ch, const RingView& ring, Region own, const BlockOf& block) {
  const int n = ring.size(), p = ring.pos();
  if (n == 1) return;
  EmitRingStep(ch, ring, StepKind::kSend, own, {});
  for (int t = 1; t <= n - 2; ++t)
    EmitRingStep(ch, ring, StepKind::kRecvCopySend, {}, block(p - t));
  EmitRingStep(ch, ring, StepKind::kRecv, {}, block(p - (n - 1)));
}

void RingAllReducePart(ChannelPlan* ch, const RingView& ring, const BlockOf& in, const BlockOf& out,
                       bool finalize) {
  const int n = ring.size(), p = ring.pos();
  if (n == 1) {
    EmitRingStep(ch, ring, StepKind::kCopy, in(p), out(p), finalize);
    return;
  }
  EmitRingStep(ch, ring, StepKind::kSend, in(p - 1), {});
  for (int t = 1; t <= n - 2; ++t)
    EmitRingStep(ch, ring, StepKind::kRecvReduceSend, in(p - t - 1), {});
  EmitRingStep(ch, ring, StepKind::kRecvReduceCopySend, in(p), out(p), finalize);
  for (int t = 1; t <= n - 2; ++t)
    EmitRingStep(ch, ring, StepKind::kRecvCopySend, {}, out(p - t));
  EmitRingStep(ch, ring, StepKind::kRecv, {}, out(p - (n - 1)));
}

void ChainBroadcastPart(ChannelPlan* ch, const RingView& ring, int root_pos, Region src,
                        Region dst) {
  const int n = ring.size();
  if (n == 1) return;
  const int d = (ring.pos() - root_pos + n) % n;
  if (d == 0)
    EmitRingStep(ch, ring, StepKind::kSend, src, {});
  else if (d < n - 1)
    EmitRingStep(ch, ring, StepKind::kRecvCopySend, {}, dst);
  else
    EmitRingStep(ch, ring, StepKind::kRecv, {}, dst);
}

void ChainReducePart(ChannelPlan* ch, const RingView& ring, int root_pos, Region src, Region dst,
                     bool finalize) {
  const int n = ring.size();
  const int d = (ring.pos() - root_pos + n) % n;
  if (n == 1)
    EmitRingStep(ch, ring, StepKind::kCopy, src, dst, finalize);
  else if (d == 1)
    EmitRingStep(ch, ring, StepKind::kSend, src, {});
  else if (d > 1)
    EmitRingStep(ch, ring, StepKind::kRecvReduceSend, src, {});
  else
    EmitRingStep(ch, ring, StepKind::kRecvReduceCopy, src, dst, finalize);
}

}  // namespace weft
