#include "collectives/algorithms/recursive_doubling.h"

#include <algorithm>

#include "collectives/algorithms/algorithm.h"

namespace weft {

namespace {

// Chunk j of region r, chunks of `chunk` elements.
Region ChunkOf(Region r, size_t j, size_t chunk) {
  r.offset += j * chunk;
  r.count = std::min(chunk, r.count - j * chunk);
  return r;
}

}  // namespace

Status BuildRecursiveDoublingPlan(int rank, int nranks, size_t count, size_t chunk_elems,
                                  Plan* out) {
  WEFT_REQUIRE(nranks >= 1 && rank >= 0 && rank < nranks, weftInvalidArgument, "rank %d of %d",
               rank, nranks);
  WEFT_REQUIRE(chunk_elems >= 1, weftInvalidArgument, "chunk must hold an element");
  Plan plan = Plan::Empty(CollType::kAllReduce, rank, nranks, count, count, 1);
  ChannelPlan& channel = plan.channels[0];
  std::vector<Step>& steps = channel.steps;
  const Region in{BufferId::kInput, 0, count}, out_region{BufferId::kOutput, 0, count};
  const size_t chunks = (count + chunk_elems - 1) / chunk_elems;
  // Every exchange moves the buffer chunk by chunk: send chunk j, then take the partner's
  // chunk j, so that neither side ever waits for more than one slot of the other's.
  auto send = [&](int peer, Region src) {
    for (size_t j = 0; j < chunks; ++j)
      channel.Add(StepKind::kSend, peer, -1, ChunkOf(src, j, chunk_elems), {});
  };
  if (count > 0) {
    int p2 = 1;
    while (p2 * 2 <= nranks)
      p2 *= 2;
    const int extra = nranks - p2;
    if (nranks == 1) {
      channel.Add(StepKind::kCopy, -1, -1, in, out_region)->finalize = true;
    } else if (rank >= p2) {
      // Hand the input to a partner inside the power of two; get the result back.
      send(rank - p2, in);
      for (size_t j = 0; j < chunks; ++j)
        channel.Add(StepKind::kRecv, -1, rank - p2, {}, ChunkOf(out_region, j, chunk_elems));
    } else {
      Region acc = in;  // where this rank's partial result is
      if (rank < extra) {
        for (size_t j = 0; j < chunks; ++j)
          channel.Add(StepKind::kRecvReduceCopy, -1, rank + p2, ChunkOf(in, j, chunk_elems),
                      ChunkOf(out_region, j, chunk_elems));
        acc = out_region;
      }
      for (int dist = 1; dist < p2; dist *= 2) {
        const int partner = rank ^ dist;
        for (size_t j = 0; j < chunks; ++j) {
          channel.Add(StepKind::kSend, partner, -1, ChunkOf(acc, j, chunk_elems), {});
          // Overwrites what the send above reads (in place, even in the first round): a
          // runner that sends from the buffer itself waits for the send (fence).
          channel
              .Add(StepKind::kRecvReduceCopy, -1, partner, ChunkOf(acc, j, chunk_elems),
                   ChunkOf(out_region, j, chunk_elems))
              ->fence = true;
        }
        acc = out_region;
      }
      // The last round's reductions produce the final values.
      for (size_t j = 0, marked = 0; marked < chunks && j < steps.size(); ++j) {
        Step& st = steps[steps.size() - 1 - j];
        if (st.kind == StepKind::kRecvReduceCopy) st.finalize = true, ++marked;
      }
      if (rank < extra) send(rank + p2, out_region);
    }
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

namespace {

Status BuildRd(CollType, int rank, const PlanShapes& shapes, size_t count, int,
               const Chunking& chunking, Plan* out) {
  return BuildRecursiveDoublingPlan(rank, static_cast<int>(shapes.ring.size()), count,
                                    chunking.chunk_elems, out);
}

int Rounds(int n) {
  return CostModel::Log2Ceil(n) + ((n & (n - 1)) ? 2 : 0);
}

double PredictRd(const CostModel& m, CollType, size_t bytes) {
  const double s = static_cast<double>(bytes);
  const int rounds = Rounds(m.in.nranks);
  if (!m.across_hosts()) {
    // log2(N) rounds (plus one each way for ranks beyond 2^k), each sending and reducing
    // the whole buffer: twice the bytes of a plain transfer.
    return rounds * (m.between.latency_us + 2 * s * m.us_per_byte());
  }
  // Rounds with partners inside the host, then rounds between hosts, in which every rank of
  // a host sends its whole buffer through the host's one NIC at once: a round takes the
  // longer of the rank's port and that shared NIC (weft-sim: within 8% at 2-32 KiB on 64
  // hosts of 8, where their sum was 41% high at 8 KiB).
  const int across = std::min(rounds, CostModel::Log2Ceil(m.hosts()));
  const double port = s / (m.inside.gbps * 1e3);
  const double inside_round = m.inside.latency_us + port;
  const double across_round =
      m.between.latency_us + std::max(port, m.per_host() * s / (m.between.gbps * 1e3));
  return (rounds - across) * inside_round + across * across_round;
}

}  // namespace

extern const AlgorithmInfo kRecursiveDoublingAlgorithm{
    Algo::kRecursiveDoubling,
    "rd",
    "recursive doubling: log2(n) rounds of exchanging the whole buffer; for small all-reduces",
    CollBit(CollType::kAllReduce),
    BuildRd,
    PredictRd,
    nullptr,
    true,
};

}  // namespace weft
