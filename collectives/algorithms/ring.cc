#include "collectives/algorithms/ring.h"

#include <algorithm>

#include "collectives/algorithms/algorithm.h"
#include "transport/transport.h"

namespace weft {

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

// The ring algorithms run in loops, as NCCL's do: each loop takes one chunk of every
// segment through all ring steps before the next loop starts. This order matters: a rank
// never sends more than one message ahead of what it has received, which is what keeps
// two slots per link deadlock-free (a rank holding a slot for a sent message waits only on
// a neighbour that is strictly further along; around the ring that cannot close into a
// cycle). Step-major order (all chunks of step 0, then of step 1) deadlocks.

// Reduce-scatter then all-gather around the ring; segment q of each loop is finished by
// the rank at position q.
void AllReduceChannel(ChannelPlan* ch, const RingView& ring, size_t chunk, size_t base,
                      size_t len) {
  const size_t loop = chunk * static_cast<size_t>(ring.size());
  for (size_t done = 0; done < len; done += loop) {
    const size_t loop_len = std::min(loop, len - done);
    auto seg = [&](BufferId buf) {
      return [=, &ring](int q) {
        const int n = ring.size();
        Piece piece = SplitEven(loop_len, n, ((q % n) + n) % n);
        return Region{buf, base + done + piece.offset, piece.size};
      };
    };
    RingAllReducePart(ch, ring, seg(BufferId::kInput), seg(BufferId::kOutput), true);
  }
}

// Rank ring[q]'s block lives at ring[q] * count; this channel handles [off, off+len) of it.
void ReduceScatterChannel(ChannelPlan* ch, const RingView& ring, size_t chunk, size_t count,
                          size_t off, size_t len) {
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    RingReduceScatterPart(
        ch, ring,
        [&](int q) {
          return Region{BufferId::kInput, static_cast<size_t>(ring.RankAt(q)) * count + off + done,
                        piece};
        },
        [&](int) {
          return Region{BufferId::kOutput, off + done, piece};
        },
        true);
  }
}

void AllGatherChannel(ChannelPlan* ch, const RingView& ring, size_t chunk, size_t count, size_t off,
                      size_t len) {
  auto block = [&](int q, size_t at, size_t piece) {
    return Region{BufferId::kOutput, static_cast<size_t>(ring.RankAt(q)) * count + off + at, piece};
  };
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    RingAllGatherPart(ch, ring, Region{BufferId::kInput, off + done, piece},
                      [&](int q) { return block(q, done, piece); });
  }
  // The own block: nothing waits for it, so it goes last, in chunks the runner may copy
  // early while it waits for the ring. (Skipped when in place.)
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    Step* st = EmitRingStep(ch, ring, StepKind::kCopy, Region{BufferId::kInput, off + done, piece},
                            block(ring.pos(), done, piece));
    if (st != nullptr) st->anytime = true;
  }
}

// A chain from the root along the ring; the root's own copy last, off the chain's critical
// path (done early while it waits).
void BroadcastChannel(ChannelPlan* ch, const RingView& ring, size_t chunk, int root_pos, size_t off,
                      size_t len) {
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    ChainBroadcastPart(ch, ring, root_pos, {BufferId::kInput, off + done, piece},
                       {BufferId::kOutput, off + done, piece});
  }
  for (size_t done = 0; ring.pos() == root_pos && done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    Step* st = EmitRingStep(ch, ring, StepKind::kCopy, {BufferId::kInput, off + done, piece},
                            {BufferId::kOutput, off + done, piece});
    if (st != nullptr) st->anytime = true;
  }
}

// A chain along the ring that ends at the root.
void ReduceChannel(ChannelPlan* ch, const RingView& ring, size_t chunk, int root_pos, size_t off,
                   size_t len) {
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    ChainReducePart(ch, ring, root_pos, {BufferId::kInput, off + done, piece},
                    {BufferId::kOutput, off + done, piece}, true);
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
  const int root_pos = rooted ? PositionOf(ring, root) : 0;
  const RingView view(ring, rank);
  const size_t chunk = chunking.chunk_elems;
  for (int c = 0; c < chunking.nchannels; ++c) {
    ChannelPlan* ch = &plan.channels[c];
    Piece slice = SplitEven(count, chunking.nchannels, c);
    switch (coll) {
      case CollType::kAllReduce:
        AllReduceChannel(ch, view, chunk, slice.offset, slice.size);
        break;
      case CollType::kReduceScatter:
        ReduceScatterChannel(ch, view, chunk, count, slice.offset, slice.size);
        break;
      case CollType::kAllGather:
        AllGatherChannel(ch, view, chunk, count, slice.offset, slice.size);
        break;
      case CollType::kBroadcast:
        BroadcastChannel(ch, view, chunk, root_pos, slice.offset, slice.size);
        break;
      case CollType::kReduce:
        ReduceChannel(ch, view, chunk, root_pos, slice.offset, slice.size);
        break;
    }
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

}  // namespace weft

namespace weft {
namespace {

Status BuildRing(CollType coll, int rank, const PlanShapes& shapes, size_t count, int root,
                 const Chunking& chunking, Plan* out) {
  return BuildRingPlan(coll, rank, shapes.ring, count, root, chunking, out);
}

double PredictRingAcrossHosts(const CostModel& m, CollType coll, size_t bytes) {
  const int n = m.in.nranks;
  const double s = static_cast<double>(bytes);
  const double ring_hop = m.ring_hop_us();
  if (coll == CollType::kBroadcast || coll == CollType::kReduce)
    return (n - 1) * ring_hop + s * m.us_per_byte_across();
  // Each step moves a segment of s/n: each channel's share waits for the hop, crosses the
  // link and is reduced (or copied) before the next step sends it on, while the other
  // channels' shares keep the link busy. A step takes the longer of the link time of all
  // channels' shares and one channel's chain (weft-sim: within 2% of this on 64 hosts of 8
  // ranks from 4 MiB up, where the flat sum of hop latencies and transfer time was 22% over).
  // With one rank per host the NIC is the only link (the reduction, which the flat rate
  // stands for, is in the chain here).
  const double link_us_per_byte =
      m.per_host() > 1 ? m.us_per_byte_across() : 1.0 / (m.between.gbps * 1e3);
  const int c = std::max(1, m.in.nchannels);
  const double segment = s / n, share = segment / c;
  const double chain =
      ring_hop + share * link_us_per_byte + share / (std::max(0.1, m.in.reduce_gbps) * 1e3);
  const double step = std::max(segment * link_us_per_byte, chain);
  return (coll == CollType::kAllReduce ? 2 : 1) * (n - 1) * step;
}

double PredictRing(const CostModel& m, CollType coll, size_t bytes) {
  if (m.across_hosts()) return PredictRingAcrossHosts(m, coll, bytes);
  const double n = m.in.nranks, s = static_cast<double>(bytes);
  const double alpha = m.between.latency_us, us_per_byte = m.us_per_byte();
  if (coll == CollType::kAllReduce) return 2 * (n - 1) * alpha + 2 * (n - 1) / n * s * us_per_byte;
  if (coll == CollType::kBroadcast || coll == CollType::kReduce)
    return (n - 1) * alpha + s * us_per_byte;  // pipelined chain
  return (n - 1) * alpha + (n - 1) / n * s * us_per_byte;
}

}  // namespace

extern const AlgorithmInfo kRingAlgorithm{
    Algo::kRing,
    "ring",
    "pipelined rings (all-reduce: reduce-scatter then all-gather), chains for broadcast and "
    "reduce; 2(n-1) hops, bandwidth-optimal",
    CollBit(CollType::kAllReduce) | CollBit(CollType::kAllGather) |
        CollBit(CollType::kReduceScatter) | CollBit(CollType::kBroadcast) |
        CollBit(CollType::kReduce),
    BuildRing,
    PredictRing,
    nullptr,
    false,
};

}  // namespace weft
