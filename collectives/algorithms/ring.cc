#include "collectives/algorithms/ring.h"

#include <algorithm>

#include "transport/transport.h"

namespace weft {

Piece SplitEven(size_t total, size_t parts, size_t i) {
  size_t base = total / parts, extra = total % parts;
  size_t offset = i * base + (i < extra ? i : extra);
  return {offset, base + (i < extra ? 1 : 0)};
}

Status ValidateRing(const std::vector<int>& ring, int nranks) {
  WEFT_REQUIRE(static_cast<int>(ring.size()) == nranks, weftInternalError,
               "ring has %zu ranks, communicator %d", ring.size(), nranks);
  std::vector<bool> seen(nranks, false);
  for (int r : ring) {
    WEFT_REQUIRE(r >= 0 && r < nranks && !seen[r], weftInternalError,
                 "ring is not a permutation of the ranks (rank %d)", r);
    seen[r] = true;
  }
  return Status::Ok();
}

namespace {

// Builds one channel's steps; positions are indices into the ring.
class ChannelBuilder {
 public:
  ChannelBuilder(const std::vector<int>& ring, int pos, size_t chunk_elems, ChannelPlan* out)
      : ring_(ring), n_(static_cast<int>(ring.size())), pos_(pos), chunk_(chunk_elems), out_(out) {}

  int Next() const { return ring_[(pos_ + 1) % n_]; }
  int Prev() const { return ring_[(pos_ + n_ - 1) % n_]; }
  int RankAt(int pos) const { return ring_[((pos % n_) + n_) % n_]; }
  int Pos() const { return pos_; }
  int N() const { return n_; }

  size_t Chunk() const { return chunk_; }

  void EmitAnytimeCopy(Region src, Region dst) {
    Emit(StepKind::kCopy, src, dst);
    if (!out_->steps.empty() && src.count > 0) out_->steps.back().anytime = true;
  }

  // Emits one step (none if the region is empty: both sides of a link see the same sizes,
  // so they skip the same messages).
  void Emit(StepKind kind, Region src, Region dst, bool finalize = false) {
    size_t n = src.buf != BufferId::kNone ? src.count : dst.count;
    if (n == 0) return;
    Step st;
    st.kind = kind;
    st.send_peer = StepSends(kind) ? Next() : -1;
    st.recv_peer = StepReceives(kind) ? Prev() : -1;
    st.count = n;
    st.src = src;
    st.dst = dst;
    st.finalize = finalize;
    out_->steps.push_back(st);
  }

 private:
  const std::vector<int>& ring_;
  int n_;
  int pos_;
  size_t chunk_;
  ChannelPlan* out_;
};

constexpr Region kNoRegion{};

// The ring algorithms run in loops, as NCCL's do: each loop takes one chunk of every
// segment through all ring steps before the next loop starts. This order matters: a rank
// never sends more than one message ahead of what it has received, which is what keeps
// two staging slots per channel deadlock-free (a rank holding a slot for a sent message
// waits only on a neighbour that is strictly further along; around the ring that cannot
// close into a cycle). Step-major order (all chunks of step 0, then of step 1) deadlocks.

// Reduce-scatter then all-gather around the ring; segment q of each loop is finished by
// the rank at position q.
void AllReduceChannel(ChannelBuilder& b, size_t base, size_t len) {
  const int n = b.N(), p = b.Pos();
  if (n == 1) {
    Region all_in{BufferId::kInput, base, len}, all_out{BufferId::kOutput, base, len};
    return b.Emit(StepKind::kCopy, all_in, all_out, true);
  }
  const size_t loop = b.Chunk() * static_cast<size_t>(n);
  for (size_t done = 0; done < len; done += loop) {
    const size_t loop_len = std::min(loop, len - done);
    auto seg = [&](int q, BufferId buf) {
      Piece piece = SplitEven(loop_len, n, ((q % n) + n) % n);
      return Region{buf, base + done + piece.offset, piece.size};
    };
    b.Emit(StepKind::kSend, seg(p - 1, BufferId::kInput), kNoRegion);
    for (int t = 1; t <= n - 2; ++t)
      b.Emit(StepKind::kRecvReduceSend, seg(p - t - 1, BufferId::kInput), kNoRegion);
    b.Emit(StepKind::kRecvReduceCopySend, seg(p, BufferId::kInput), seg(p, BufferId::kOutput),
           true);
    for (int t = 1; t <= n - 2; ++t)
      b.Emit(StepKind::kRecvCopySend, kNoRegion, seg(p - t, BufferId::kOutput));
    b.Emit(StepKind::kRecv, kNoRegion, seg(p - (n - 1), BufferId::kOutput));
  }
}

// Rank ring[q]'s block lives at ring[q] * count; this channel handles [off, off+len) of it.
void ReduceScatterChannel(ChannelBuilder& b, size_t count, size_t off, size_t len) {
  const int n = b.N(), p = b.Pos();
  for (size_t done = 0; done < len; done += b.Chunk()) {
    const size_t piece = std::min(b.Chunk(), len - done);
    auto block = [&](int q) {
      return Region{BufferId::kInput, static_cast<size_t>(b.RankAt(q)) * count + off + done, piece};
    };
    Region out{BufferId::kOutput, off + done, piece};
    if (n == 1) {
      b.Emit(StepKind::kCopy, block(0), out, true);
      continue;
    }
    b.Emit(StepKind::kSend, block(p - 1), kNoRegion);
    for (int t = 1; t <= n - 2; ++t)
      b.Emit(StepKind::kRecvReduceSend, block(p - t - 1), kNoRegion);
    b.Emit(StepKind::kRecvReduceCopy, block(p), out, true);
  }
}

void AllGatherChannel(ChannelBuilder& b, size_t count, size_t off, size_t len) {
  const int n = b.N(), p = b.Pos();
  auto block = [&](int q, size_t at, size_t piece) {
    return Region{BufferId::kOutput, static_cast<size_t>(b.RankAt(q)) * count + off + at, piece};
  };
  for (size_t done = 0; done < len && n > 1; done += b.Chunk()) {
    const size_t piece = std::min(b.Chunk(), len - done);
    b.Emit(StepKind::kSend, Region{BufferId::kInput, off + done, piece}, kNoRegion);
    for (int t = 1; t <= n - 2; ++t)
      b.Emit(StepKind::kRecvCopySend, kNoRegion, block(p - t, done, piece));
    b.Emit(StepKind::kRecv, kNoRegion, block(p - (n - 1), done, piece));
  }
  // The own block: nothing waits for it, so it goes last, in chunks the runner may copy
  // early while it waits for the ring. (Skipped when in place.)
  for (size_t done = 0; done < len; done += b.Chunk()) {
    const size_t piece = std::min(b.Chunk(), len - done);
    b.EmitAnytimeCopy(Region{BufferId::kInput, off + done, piece}, block(p, done, piece));
  }
}

// A chain from the root along the ring.
void BroadcastChannel(ChannelBuilder& b, int root_pos, size_t off, size_t len) {
  const int n = b.N();
  const int d = (b.Pos() - root_pos + n) % n;
  for (size_t done = 0; done < len && n > 1; done += b.Chunk()) {
    const size_t piece = std::min(b.Chunk(), len - done);
    Region in{BufferId::kInput, off + done, piece}, out{BufferId::kOutput, off + done, piece};
    if (d == 0)
      b.Emit(StepKind::kSend, in, kNoRegion);
    else if (d < n - 1)
      b.Emit(StepKind::kRecvCopySend, kNoRegion, out);
    else
      b.Emit(StepKind::kRecv, kNoRegion, out);
  }
  // The root's own copy last, off the chain's critical path (done early while it waits).
  for (size_t done = 0; d == 0 && done < len; done += b.Chunk()) {
    const size_t piece = std::min(b.Chunk(), len - done);
    b.EmitAnytimeCopy({BufferId::kInput, off + done, piece},
                      {BufferId::kOutput, off + done, piece});
  }
}

// A chain along the ring that ends at the root.
void ReduceChannel(ChannelBuilder& b, int root_pos, size_t off, size_t len) {
  const int n = b.N();
  const int d = (b.Pos() - root_pos + n) % n;
  for (size_t done = 0; done < len; done += b.Chunk()) {
    const size_t piece = std::min(b.Chunk(), len - done);
    Region in{BufferId::kInput, off + done, piece}, out{BufferId::kOutput, off + done, piece};
    if (n == 1)
      b.Emit(StepKind::kCopy, in, out, true);
    else if (d == 1)
      b.Emit(StepKind::kSend, in, kNoRegion);
    else if (d > 1)
      b.Emit(StepKind::kRecvReduceSend, in, kNoRegion);
    else
      b.Emit(StepKind::kRecvReduceCopy, in, out, true);
  }
}

int PositionOf(const std::vector<int>& ring, int rank) {
  for (size_t i = 0; i < ring.size(); ++i)
    if (ring[i] == rank) return static_cast<int>(i);
  return -1;
}

}  // namespace

Status BuildRingPlan(CollType coll, int rank, const std::vector<int>& ring, size_t count, int root,
                     const Chunking& chunking, Plan* out) {
  const int n = static_cast<int>(ring.size());
  WEFT_CHECK(ValidateRing(ring, n));
  WEFT_REQUIRE(rank >= 0 && rank < n, weftInvalidArgument, "rank %d out of range", rank);
  WEFT_REQUIRE(
      chunking.nchannels >= 1 && chunking.nchannels <= static_cast<int>(kMaxCollectiveChannels),
      weftInvalidArgument, "nchannels %d out of range 1..%u", chunking.nchannels,
      kMaxCollectiveChannels);
  WEFT_REQUIRE(chunking.chunk_elems >= 1, weftInvalidArgument, "chunk must hold an element");
  const bool rooted = coll == CollType::kBroadcast || coll == CollType::kReduce;
  WEFT_REQUIRE(!rooted || (root >= 0 && root < n), weftInvalidArgument,
               "root %d out of range 0..%d", root, n - 1);

  // Each element crosses one link at most twice per channel (all-reduce); refuse before
  // building a plan whose messages a tag cannot number.
  const size_t total = std::max(count, count * static_cast<size_t>(n));
  const size_t per_channel = total / static_cast<size_t>(chunking.nchannels) + 1;
  const size_t messages = 2 * (per_channel / chunking.chunk_elems + 2 * static_cast<size_t>(n));
  WEFT_REQUIRE(messages <= kMaxMessagesPerLink, weftInvalidArgument,
               "%s of %zu elements in chunks of %zu needs up to %zu messages per link (limit "
               "%u): raise WEFT_CHUNK_SIZE",
               CollName(coll), count, chunking.chunk_elems, messages, kMaxMessagesPerLink);

  Plan plan = Plan::Empty(coll, rank, n, InputCount(coll, count, n), OutputCount(coll, count, n),
                          chunking.nchannels);
  const int pos = PositionOf(ring, rank);
  const int root_pos = rooted ? PositionOf(ring, root) : 0;
  for (int c = 0; c < chunking.nchannels; ++c) {
    ChannelBuilder b(ring, pos, chunking.chunk_elems, &plan.channels[c]);
    Piece slice = SplitEven(count, chunking.nchannels, c);
    switch (coll) {
      case CollType::kAllReduce:
        AllReduceChannel(b, slice.offset, slice.size);
        break;
      case CollType::kReduceScatter:
        ReduceScatterChannel(b, count, slice.offset, slice.size);
        break;
      case CollType::kAllGather:
        AllGatherChannel(b, count, slice.offset, slice.size);
        break;
      case CollType::kBroadcast:
        BroadcastChannel(b, root_pos, slice.offset, slice.size);
        break;
      case CollType::kReduce:
        ReduceChannel(b, root_pos, slice.offset, slice.size);
        break;
    }
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

}  // namespace weft
