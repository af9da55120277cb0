// Hierarchical collectives (WEFT_ALGO=hier), composed of ring parts (ring_parts.h) over two
// kinds of ring: each host's ranks (its part of the communicator's ring, over shared memory),
// and each rail: the ranks with the same local index on every host, one per host, in host
// order (over the network; with a NIC per GPU, each rail has its own NIC). With L ranks on
// each of H hosts:
//
//   all-reduce      reduce-scatter inside the host (rank l keeps segment l), all-reduce of
//                   segment l along rail l, all-gather inside the host
//   all-gather      all-gather along the rail, then inside the host (one pass per host's
//                   blocks)
//   reduce-scatter  reduce-scatter inside the host into scratch (one pass per host's blocks),
//                   then along the rail
//   broadcast       a chain along the root's rail, then a chain inside every host
//   reduce          a chain inside every host to the rank on the root's rail, then along it
//
// Each host's network link carries, per rank, 1/L of what the flat ring sends across it
// (all-reduce: 2(H-1)/H of the buffer per host instead of 2(N-1)/N), and the reductions
// inside a host run on shared memory. Every message is at most a chunk: all-reduce works in
// pieces of L x H chunks, so that the rail's messages are chunks too. Needs as many ranks on
// every host (UCC's split-rail all-reduce has the same rule).
#include <algorithm>
#include <cmath>

#include "collectives/algorithms/algorithm.h"
#include "collectives/algorithms/ring.h"
#include "collectives/algorithms/ring_parts.h"

namespace weft {
namespace {

// This rank's two rings.
struct HierRings {
  std::vector<int> local;  // its host's ranks, in ring order
  std::vector<int> rail;   // the ranks of its local index, one per host, in host order
  int host = 0;            // its position on the rail
  int index = 0;           // its position on its host
  int L() const { return static_cast<int>(local.size()); }
  int H() const { return static_cast<int>(rail.size()); }
};

HierRings RingsOf(const PlanShapes& shapes, int rank) {
  HierRings r;
  r.host = shapes.host_of[static_cast<size_t>(rank)];
  r.local = shapes.hosts[static_cast<size_t>(r.host)];
  r.index = static_cast<int>(std::find(r.local.begin(), r.local.end(), rank) - r.local.begin());
  for (const std::vector<int>& h : shapes.hosts)
    r.rail.push_back(h[static_cast<size_t>(r.index)]);
  return r;
}

// Region [off, off + n) of `buf`.
Region At(BufferId buf, size_t off, size_t n) {
  return Region{buf, off, n};
}

// One piece of the all-reduce, [base + done, base + done + plen): its three phases, each a
// list of steps on one link.
struct PiecePhases {
  ChannelPlan inside;  // reduce-scatter inside the host (this rank keeps segment `index`)
  ChannelPlan rail;    // all-reduce of that segment along the rail
  ChannelPlan gather;  // all-gather inside the host
};

PiecePhases AllReducePiece(const HierRings& h, size_t base, size_t done, size_t plen) {
  PiecePhases ph;
  const RingView local(h.local, h.local[static_cast<size_t>(h.index)]);
  const RingView rail(h.rail, h.rail[static_cast<size_t>(h.host)]);
  const int L = h.L(), H = h.H();
  // Local position q's segment, and the j-th of its H sub-chunks.
  auto sub = [&](int q, int j) {
    const Piece seg = SplitEven(plen, L, static_cast<size_t>(((q % L) + L) % L));
    const Piece s = SplitEven(seg.size, H, static_cast<size_t>(((j % H) + H) % H));
    return base + done + seg.offset + s.offset;
  };
  auto sub_len = [&](int q, int j) {
    const Piece seg = SplitEven(plen, L, static_cast<size_t>(((q % L) + L) % L));
    return SplitEven(seg.size, H, static_cast<size_t>(((j % H) + H) % H)).size;
  };
  // Inside the host: rank at position q ends with the host's sum of segment q.
  for (int j = 0; j < H; ++j) {
    RingReduceScatterPart(
        &ph.inside, local, [&](int q) { return At(BufferId::kInput, sub(q, j), sub_len(q, j)); },
        [&](int q) { return At(BufferId::kOutput, sub(q, j), sub_len(q, j)); }, H == 1);
  }
  // Along the rail: the segment's H sub-chunks are the rail ring's segments.
  if (H > 1) {
    auto mine = [&](int hq) {
      return At(BufferId::kOutput, sub(h.index, hq), sub_len(h.index, hq));
    };
    RingAllReducePart(&ph.rail, rail, mine, mine, true);
  }
  // Inside the host again: every segment to every rank.
  for (int j = 0; j < H && L > 1; ++j) {
    RingAllGatherPart(&ph.gather, local,
                      At(BufferId::kOutput, sub(h.index, j), sub_len(h.index, j)),
                      [&](int q) { return At(BufferId::kOutput, sub(q, j), sub_len(q, j)); });
  }
  return ph;
}

// Lists of steps read one after another, without copying them.
class StepQueue {
 public:
  void Add(const std::vector<Step>& steps) {
    lists_.push_back(&steps);
    total_ += steps.size();
  }
  size_t taken() const { return taken_; }
  size_t total() const { return total_; }
  bool done() const { return taken_ == total_; }
  const Step& Take() {
    while (at_ == lists_[list_]->size()) {
      ++list_;
      at_ = 0;
    }
    ++taken_;
    return (*lists_[list_])[at_++];
  }

 private:
  std::vector<const std::vector<Step>*> lists_;
  size_t total_ = 0, taken_ = 0, list_ = 0, at_ = 0;
};

// Appends the steps of `a` and of `b` (lists on different links) interleaved in proportion
// to their lengths, each list's order kept, so that both links are busy at once.
void Interleave(ChannelPlan* ch, StepQueue a, StepQueue b) {
  while (!a.done() || !b.done()) {
    const bool take_a = b.done() || (!a.done() && a.taken() * b.total() <= b.taken() * a.total());
    ch->steps.push_back(take_a ? a.Take() : b.Take());
  }
}

// The elements of one all-reduce piece of a channel of `len`: L x H chunks, so that the
// rail's messages are chunks too, but shrunk (to no less than an eighth) where that leaves
// the pipeline fewer than kPipelinePieces pieces to fill: with many hosts a piece is large
// (64 hosts of 8 ranks, 1 MiB chunks: 512 MiB), and a pipeline of two pieces spends half
// its time filling and draining. Every rank computes the same size (it depends on the
// channel's length, not the rank).
constexpr size_t kPipelinePieces = 16;
constexpr size_t kMostPieceShrink = 8;
size_t AllReducePieceElems(size_t chunk, int L, int H, size_t len) {
  const size_t grain = static_cast<size_t>(L) * static_cast<size_t>(H);
  const size_t piece = chunk * grain;
  if (len / piece >= kPipelinePieces) return piece;
  const size_t smallest = std::max(grain, piece / kMostPieceShrink / grain * grain);
  return std::max(smallest, len / kPipelinePieces / grain * grain);
}

// Pieces of AllReducePieceElems. Full pieces run as a
// pipeline, so that the host's links and the rail's are busy together: stage s runs piece
// s's reduce-scatter and piece s-2's all-gather inside the host, interleaved with piece s-1's
// all-reduce along the rail. Every rank's full pieces have the same steps, so every rank
// interleaves alike: a step waits only for steps its peers run earlier in the same order,
// and no wait can close a cycle. Each link still sees its messages in one order on both
// ends (the host's ring and the rail never share a link). A last, partial piece (whose
// empty regions some ranks leave out) runs its phases one after another.
void AllReduceChannel(ChannelPlan* ch, const HierRings& h, size_t chunk, size_t base, size_t len) {
  const int L = h.L(), H = h.H();
  const size_t piece = AllReducePieceElems(chunk, L, H, len);
  const size_t full = L > 1 && H > 1 ? len / piece : 0;
  PiecePhases window[3];  // pieces s, s-1, s-2 of stage s, at p % 3
  for (size_t s = 0; s < full + 2 && full > 0; ++s) {
    if (s < full) window[s % 3] = AllReducePiece(h, base, s * piece, piece);
    StepQueue inside, rail;
    if (s < full) inside.Add(window[s % 3].inside.steps);
    if (s >= 2) inside.Add(window[(s - 2) % 3].gather.steps);
    if (s >= 1 && s - 1 < full) rail.Add(window[(s - 1) % 3].rail.steps);
    Interleave(ch, std::move(inside), std::move(rail));
  }
  for (size_t done = full * piece; done < len; done += piece) {
    const PiecePhases ph = AllReducePiece(h, base, done, std::min(piece, len - done));
    for (const ChannelPlan* part : {&ph.inside, &ph.rail, &ph.gather})
      ch->steps.insert(ch->steps.end(), part->steps.begin(), part->steps.end());
  }
}

void AllGatherChannel(ChannelPlan* ch, const PlanShapes& shapes, const HierRings& h, int rank,
                      size_t chunk, size_t count, size_t off, size_t len) {
  const RingView local(h.local, rank), rail(h.rail, rank);
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    auto block = [&](int r) {
      return At(BufferId::kOutput, static_cast<size_t>(r) * count + off + done, piece);
    };
    // The own block first: this rank sends it from the output inside its host.
    EmitRingStep(ch, local, StepKind::kCopy, At(BufferId::kInput, off + done, piece), block(rank));
    RingAllGatherPart(ch, rail, At(BufferId::kInput, off + done, piece),
                      [&](int hq) { return block(rail.RankAt(hq)); });
    for (const std::vector<int>& host : shapes.hosts) {
      RingAllGatherPart(ch, local, block(host[static_cast<size_t>(h.index)]), [&](int q) {
        return block(host[static_cast<size_t>(((q % h.L()) + h.L()) % h.L())]);
      });
    }
  }
}

void ReduceScatterChannel(ChannelPlan* ch, const PlanShapes& shapes, const HierRings& h, int rank,
                          size_t chunk, size_t count, size_t off, size_t len) {
  const RingView local(h.local, rank), rail(h.rail, rank);
  const int H = h.H(), L = h.L();
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    const Region out = At(BufferId::kOutput, off + done, piece);
    auto scratch = [&](int x) {
      return At(BufferId::kScratch, static_cast<size_t>(x) * count + off + done, piece);
    };
    // Inside the host, once per host's blocks: this rank keeps its host's sum of the block
    // of its rail's rank on host x (on one host: the result).
    for (int x = 0; x < H; ++x) {
      const std::vector<int>& host = shapes.hosts[static_cast<size_t>(x)];
      RingReduceScatterPart(
          ch, local,
          [&](int q) {
            const int r = host[static_cast<size_t>(((q % L) + L) % L)];
            return At(BufferId::kInput, static_cast<size_t>(r) * count + off + done, piece);
          },
          [&](int) { return H == 1 ? out : scratch(x); }, H == 1);
    }
    if (H > 1)
      RingReduceScatterPart(
          ch, rail, [&](int hq) { return scratch(((hq % H) + H) % H); }, [&](int) { return out; },
          true);
  }
}

void BroadcastChannel(ChannelPlan* ch, const PlanShapes& shapes, const HierRings& h, int rank,
                      int root, size_t chunk, size_t off, size_t len) {
  const RingView local(h.local, rank), rail(h.rail, rank);
  const HierRings r0 = RingsOf(shapes, root);
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    const Region in = At(BufferId::kInput, off + done, piece);
    const Region out = At(BufferId::kOutput, off + done, piece);
    if (h.index == r0.index) ChainBroadcastPart(ch, rail, r0.host, in, out);
    ChainBroadcastPart(ch, local, r0.index, rank == root ? in : out, out);
  }
  for (size_t done = 0; rank == root && done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    Step* st = EmitRingStep(ch, local, StepKind::kCopy, At(BufferId::kInput, off + done, piece),
                            At(BufferId::kOutput, off + done, piece));
    if (st != nullptr) st->anytime = true;  // off the chains' path
  }
}

void ReduceChannel(ChannelPlan* ch, const PlanShapes& shapes, const HierRings& h, int rank,
                   int root, size_t chunk, size_t off, size_t len) {
  const RingView local(h.local, rank), rail(h.rail, rank);
  const HierRings r0 = RingsOf(shapes, root);
  const int H = h.H();
  for (size_t done = 0; done < len; done += chunk) {
    const size_t piece = std::min(chunk, len - done);
    const Region in = At(BufferId::kInput, off + done, piece);
    const Region out = At(BufferId::kOutput, off + done, piece);
    // The host's sum gathers at its rank on the root's rail: the root's output, or scratch.
    const Region acc = rank == root ? out : At(BufferId::kScratch, off + done, piece);
    ChainReducePart(ch, local, r0.index, in, acc, H == 1);
    if (H > 1 && h.index == r0.index) ChainReducePart(ch, rail, r0.host, acc, out, true);
  }
}

Status BuildHier(CollType coll, int rank, const PlanShapes& shapes, size_t count, int root,
                 const Chunking& chunking, Plan* out) {
  const int n = static_cast<int>(shapes.ring.size());
  WEFT_REQUIRE(rank >= 0 && rank < n, weftInvalidArgument, "rank %d of %d", rank, n);
  WEFT_REQUIRE(!shapes.hosts.empty() && shapes.uniform_hosts(), weftInvalidArgument,
               "hier needs as many ranks on every host");
  WEFT_REQUIRE(!FactsOf(coll).rooted || (root >= 0 && root < n), weftInvalidArgument,
               "root %d out of range 0..%d", root, n - 1);
  WEFT_REQUIRE(chunking.chunk_elems >= 1 && chunking.nchannels >= 1, weftInvalidArgument,
               "chunking: %d channels of %zu-element chunks", chunking.nchannels,
               chunking.chunk_elems);
  const HierRings h = RingsOf(shapes, rank);
  Plan plan = Plan::Empty(coll, rank, n, InputCount(coll, count, n), OutputCount(coll, count, n),
                          chunking.nchannels);
  for (int c = 0; c < chunking.nchannels; ++c) {
    ChannelPlan* ch = &plan.channels[static_cast<size_t>(c)];
    const Piece slice = SplitEven(count, static_cast<size_t>(chunking.nchannels), c);
    const size_t chunk = chunking.chunk_elems;
    switch (coll) {
      case CollType::kAllReduce:
        AllReduceChannel(ch, h, chunk, slice.offset, slice.size);
        break;
      case CollType::kAllGather:
        AllGatherChannel(ch, shapes, h, rank, chunk, count, slice.offset, slice.size);
        break;
      case CollType::kReduceScatter:
        ReduceScatterChannel(ch, shapes, h, rank, chunk, count, slice.offset, slice.size);
        break;
      case CollType::kBroadcast:
        BroadcastChannel(ch, shapes, h, rank, root, chunk, slice.offset, slice.size);
        break;
      case CollType::kReduce:
        ReduceChannel(ch, shapes, h, rank, root, chunk, slice.offset, slice.size);
        break;
    }
  }
  if (coll == CollType::kReduceScatter && h.H() > 1)
    plan.scratch_count = static_cast<size_t>(h.H()) * count;
  if (coll == CollType::kReduce && rank != root && RingsOf(shapes, root).index == h.index)
    plan.scratch_count = count;  // this rank gathers its host's sum for the rail
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

// The rails' share of a host's network links: with fewer NICs than ranks, rails share them.
double RailUsPerByte(const CostModel& m) {
  const int L = m.per_host();
  const double nics = std::min(std::max(1, m.in.nics_per_host), L);
  return static_cast<double>(L) / (nics * m.between.gbps * 1e3);
}

// The time of the phases inside the hosts (`local`) and along the rails (`rail`), which
// overlap where the plan lets them. All-reduce pipelines its full pieces
// (AllReducePieceElems): with P of them, both links are busy together but for a fill and a drain of
// about one piece's work inside the host (AllReduceChannel). With several channels, one channel's
// rail phase overlaps another's phases inside the hosts. Otherwise they take turns.
double OverlappedTransfer(const CostModel& m, CollType coll, size_t bytes, double local,
                          double rail) {
  if (m.in.hier_device_piece_bytes > 0) {
    // The device hierarchy: the all-reduce's pieces overlap the rail's leg of one with the
    // host's legs of the next and the last, but for the first and last piece's.
    if (coll != CollType::kAllReduce) return local + rail;
    const double pieces = static_cast<double>(
        DeviceHierPieces(bytes, m.in.hier_device_piece_bytes, m.per_host(), m.hosts()));
    return std::max(local, rail) + std::min(local, rail) / pieces;
  }
  const double overlapped = std::max(local, rail);
  const double in_turn = m.in.nchannels > 1 ? overlapped : local + rail;
  if (coll != CollType::kAllReduce || m.hosts() < 2 || m.per_host() < 2) return in_turn;
  const size_t nch = static_cast<size_t>(std::max(1, m.in.nchannels));
  const double piece = static_cast<double>(AllReducePieceElems(
      std::max<size_t>(1, m.in.chunk_bytes), m.per_host(), m.hosts(), bytes / nch));
  const double pieces = std::floor(static_cast<double>(bytes / nch) / piece);
  if (pieces < 1) return in_turn;
  return std::min(in_turn, overlapped + local / pieces);
}

double PredictHier(const CostModel& m, CollType coll, size_t bytes) {
  const double s = static_cast<double>(bytes);
  const int H = m.hosts(), L = m.per_host();
  const double local_lat = m.across_hosts() ? m.inside.latency_us : m.between.latency_us;
  const double local_us_per_byte =
      1.0 / ((m.across_hosts() ? m.inside.gbps : m.between.gbps) * 1e3);
  const double rail_lat = m.between.latency_us;
  const double reduce_us_per_byte = 1.0 / (std::max(0.1, m.in.reduce_gbps) * 1e3);
  double local = 0, rail = 0, hops = 0;
  int legs = 3;  // the device hierarchy's calls (all-gather and reduce-scatter: 2)
  switch (coll) {
    case CollType::kAllReduce:
      // Reduce-scatter and all-gather inside (each (L-1)/L of the buffer per rank), an
      // all-reduce of 1/L of it along the rail (all the host's rails through its NICs).
      local = 2.0 * (L - 1) / L * s * local_us_per_byte + (L - 1.0) / L * s * reduce_us_per_byte;
      rail = 2.0 * (H - 1) / H * (s / L) * RailUsPerByte(m) +
             (H - 1.0) / H * (s / L) * reduce_us_per_byte;
      hops = 2 * (L - 1) * local_lat + 2 * (H - 1) * rail_lat;
      break;
    case CollType::kAllGather:
    case CollType::kReduceScatter:
      local = (L - 1.0) / L * s * local_us_per_byte;
      rail = (H - 1.0) / H * (s / L) * RailUsPerByte(m);
      hops = (L - 1) * local_lat + (H - 1) * rail_lat;
      if (coll == CollType::kReduceScatter) local += (L - 1.0) / L * s * reduce_us_per_byte;
      legs = 2;
      break;
    case CollType::kBroadcast:
    case CollType::kReduce:
      // Two chains, pipelined: the whole buffer through one rail and through each host.
      local = s * local_us_per_byte;
      rail = H > 1 ? s * RailUsPerByte(m) / L : 0;
      hops = (L - 1) * local_lat + (H - 1) * rail_lat;
      break;
  }
  const double transfer = OverlappedTransfer(m, coll, bytes, local, rail);
  const size_t pieces =
      coll == CollType::kAllReduce && m.in.hier_device_piece_bytes > 0
          ? DeviceHierPieces(bytes, m.in.hier_device_piece_bytes, m.per_host(), m.hosts())
          : 1;
  const double calls = (legs * static_cast<double>(pieces) - 1) * m.in.hier_leg_call_us;
  // On one host this is the ring (a reduce-scatter and an all-gather): never better.
  return hops + transfer + calls + (H == 1 ? 1e-3 : 0);
}

const char* RefusesHier(const JobShape& job) {
  return job.uniform_hosts ? nullptr : "hier needs as many ranks on every host";
}

}  // namespace

extern const AlgorithmInfo kHierAlgorithm{
    Algo::kHier,
    "hier",
    "hierarchical: inside each host over shared memory, between hosts along rails (one ring per "
    "local rank, each on its own NIC where there are several), then inside again",
    CollBit(CollType::kAllReduce) | CollBit(CollType::kAllGather) |
        CollBit(CollType::kReduceScatter) | CollBit(CollType::kBroadcast) |
        CollBit(CollType::kReduce),
    BuildHier,
    PredictHier,
    RefusesHier,
    false,
};

}  // namespace weft
