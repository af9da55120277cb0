#include "collectives/algorithms/tree.h"

#include <algorithm>

#include "collectives/algorithms/algorithm.h"
#include "collectives/algorithms/ring.h"

namespace weft {
namespace {

class TreeChannelBuilder {
 public:
  TreeChannelBuilder(int rank, const Tree& tree, ChannelPlan* out)
      : rank_(rank), tree_(tree), out_(out) {}

  // Reduce chunk [off, off+n) up to the root (the root keeps the final value in the output).
  // Interior ranks accumulate their children's data in `acc_buf`: the output, or scratch
  // where the output is not theirs to write (a reduce off the root).
  void Up(size_t off, size_t n, BufferId acc_buf = BufferId::kOutput) {
    const Region in{BufferId::kInput, off, n};
    const Region acc{tree_.parent[rank_] >= 0 ? acc_buf : BufferId::kOutput, off, n};
    const std::vector<int>& kids = tree_.children[rank_];
    const int parent = tree_.parent[rank_];
    if (kids.empty()) {
      if (parent >= 0)
        Add(StepKind::kSend, parent, -1, in, {});
      else
        Add(StepKind::kCopy, -1, -1, in, acc)->finalize = true;  // a tree of one
      return;
    }
    // All children but the last reduce into the output (the accumulator); the last child's
    // data is reduced with it and goes up (or, at the root, is final).
    Region src = in;
    for (size_t k = 0; k + 1 < kids.size(); ++k) {
      Add(StepKind::kRecvReduceCopy, -1, kids[k], src, acc);
      src = acc;
    }
    if (parent >= 0)
      Add(StepKind::kRecvReduceSend, parent, kids.back(), src, {});
    else
      Add(StepKind::kRecvReduceCopy, -1, kids.back(), src, acc)->finalize = true;
  }

  // Broadcast chunk [off, off+n) from the root down. The root sends from `root_source`
  // (the output after an all-reduce's reduction, the input for a broadcast).
  void Down(size_t off, size_t n, BufferId root_source = BufferId::kOutput) {
    const Region out{BufferId::kOutput, off, n};
    const std::vector<int>& kids = tree_.children[rank_];
    const int parent = tree_.parent[rank_];
    size_t first = 0;
    if (parent >= 0) {
      if (kids.empty()) {
        Add(StepKind::kRecv, -1, parent, {}, out);
        return;
      }
      Add(StepKind::kRecvCopySend, kids[0], parent, {}, out);
      first = 1;
    }
    const Region from = parent >= 0 ? out : Region{root_source, off, n};
    for (size_t k = first; k < kids.size(); ++k)
      Add(StepKind::kSend, kids[k], -1, from, {});
  }

  // The root's copy of its input into its output, done whenever it would wait.
  void RootCopy(size_t off, size_t n) {
    if (tree_.parent[rank_] >= 0) return;
    Add(StepKind::kCopy, -1, -1, {BufferId::kInput, off, n}, {BufferId::kOutput, off, n})->anytime =
        n > 0;
  }

 private:
  Step* Add(StepKind kind, int send_peer, int recv_peer, Region src, Region dst) {
    return out_->Add(kind, send_peer, recv_peer, src, dst);
  }

  int rank_;
  const Tree& tree_;
  ChannelPlan* out_;
};

}  // namespace

Status BuildTreeAllReducePlan(int rank, const std::vector<Tree>& trees, size_t count,
                              const Chunking& chunking, Plan* out) {
  WEFT_REQUIRE(!trees.empty(), weftInternalError, "no tree");
  const int n = static_cast<int>(trees[0].parent.size());
  WEFT_REQUIRE(rank >= 0 && rank < n, weftInvalidArgument, "rank %d of %d", rank, n);
  WEFT_REQUIRE(chunking.chunk_elems >= 1, weftInvalidArgument, "chunk must hold an element");
  Plan plan =
      Plan::Empty(CollType::kAllReduce, rank, n, count, count, static_cast<int>(trees.size()));
  for (size_t t = 0; t < trees.size(); ++t) {
    const Piece half = SplitEven(count, trees.size(), t);
    TreeChannelBuilder b(rank, trees[t], &plan.channels[t]);
    std::vector<Piece> chunks;
    for (size_t done = 0; done < half.size; done += chunking.chunk_elems)
      chunks.push_back({half.offset + done, std::min(chunking.chunk_elems, half.size - done)});
    // Every chunk up, then every chunk down. Interleaving them on one channel (down chunk
    // c, then up chunk c+k) ties each rank's next up step to its previous down step, and
    // through the leaves every down chunk to an up chunk: one round trip from the root to
    // the leaves and back per chunk, whatever k, so deep trees ran at a fraction of their
    // bandwidth (weft-sim: 2.6-4.7x slower at 128 MiB on 1-64 hosts of 8 ranks;
    // docs/simulator.md). In order, the up phase and the down phase each pipeline freely.
    for (const Piece& c : chunks)
      b.Up(c.offset, c.size);
    for (const Piece& c : chunks)
      b.Down(c.offset, c.size);
  }
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

Tree RerootTree(const Tree& tree, const std::vector<int>& ring, int root) {
  const int n = static_cast<int>(ring.size());
  std::vector<int> pos(n);
  for (int p = 0; p < n; ++p)
    pos[ring[p]] = p;
  const int shift = pos[root] - pos[tree.root];
  auto map = [&](int rank) { return ring[((pos[rank] + shift) % n + n) % n]; };
  Tree out;
  out.parent.assign(n, -1);
  out.children.assign(n, {});
  for (int r = 0; r < n; ++r) {
    out.parent[map(r)] = tree.parent[r] < 0 ? -1 : map(tree.parent[r]);
    for (int c : tree.children[r])
      out.children[map(r)].push_back(map(c));
  }
  out.root = map(tree.root);
  return out;
}

namespace {

// A one-tree plan (broadcast or reduce): `emit(builder, offset, size)` runs for each chunk,
// then `then(builder, offset, size)` for each chunk again.
template <typename Emit, typename Then>
Status BuildOneTreePlan(CollType coll, int rank, const Tree& tree, size_t count,
                        const Chunking& chunking, Plan* out, Emit emit, Then then) {
  const int n = static_cast<int>(tree.parent.size());
  WEFT_REQUIRE(rank >= 0 && rank < n, weftInvalidArgument, "rank %d of %d", rank, n);
  WEFT_REQUIRE(chunking.chunk_elems >= 1, weftInvalidArgument, "chunk must hold an element");
  Plan plan = Plan::Empty(coll, rank, n, count, count, 1);
  TreeChannelBuilder b(rank, tree, &plan.channels[0]);
  for (size_t done = 0; done < count; done += chunking.chunk_elems)
    emit(b, done, std::min(chunking.chunk_elems, count - done));
  for (size_t done = 0; done < count; done += chunking.chunk_elems)
    then(b, done, std::min(chunking.chunk_elems, count - done));
  WEFT_CHECK(NumberMessages(&plan));
  *out = std::move(plan);
  return Status::Ok();
}

}  // namespace

Status BuildTreeBroadcastPlan(int rank, const Tree& tree, size_t count, const Chunking& chunking,
                              Plan* out) {
  // Every chunk goes down first; the root's own copy is done whenever it would wait.
  return BuildOneTreePlan(
      CollType::kBroadcast, rank, tree, count, chunking, out,
      [](TreeChannelBuilder& b, size_t off, size_t n) { b.Down(off, n, BufferId::kInput); },
      [](TreeChannelBuilder& b, size_t off, size_t n) { b.RootCopy(off, n); });
}

Status BuildTreeReducePlan(int rank, const Tree& tree, size_t count, const Chunking& chunking,
                           Plan* out) {
  WEFT_CHECK(BuildOneTreePlan(
      CollType::kReduce, rank, tree, count, chunking, out,
      [](TreeChannelBuilder& b, size_t off, size_t n) { b.Up(off, n, BufferId::kScratch); },
      [](TreeChannelBuilder&, size_t, size_t) {}));
  // NCCL's reduce lets ranks other than the root pass no receive buffer (and Weft does not
  // write the one they pass): interior ranks accumulate in scratch.
  if (tree.parent[rank] >= 0 && !tree.children[rank].empty()) out->scratch_count = count;
  return Status::Ok();
}

}  // namespace weft

namespace weft {
namespace {

// Bytes a tree all-reduce moves per rank, in units of the buffer. In theory about 1.5 (an
// interior node of one tree sends its half down to two children; a leaf of the other sends
// a half up); in practice the up and down pipelines share each link and hosts' chains add
// a hop, and NCCL likewise rates the tree below the ring for bandwidth. A measured tuning
// table (WEFT_TUNE_FILE) replaces this guess.
constexpr double kTreeTraffic = 3.0;

Status BuildTree(CollType coll, int rank, const PlanShapes& shapes, size_t count, int root,
                 const Chunking& chunking, Plan* out) {
  if (coll == CollType::kBroadcast)
    return BuildTreeBroadcastPlan(rank, RerootTree(shapes.trees[0], shapes.ring, root), count,
                                  chunking, out);
  if (coll == CollType::kReduce)
    return BuildTreeReducePlan(rank, RerootTree(shapes.trees[0], shapes.ring, root), count,
                               chunking, out);
  return BuildTreeAllReducePlan(rank, shapes.trees, count, chunking, out);
}

double PredictTreeAcrossHosts(const CostModel& m, CollType coll, size_t bytes) {
  const double s = static_cast<double>(bytes);
  const double us_per_byte = m.us_per_byte_across();
  const double tree_path = m.tree_path_us();
  // Up and down (all-reduce: both, each tree carrying half of the buffer, so that each rank
  // sends and receives the buffer about twice, as in the ring: weft-sim), or one way with
  // two children to feed (broadcast, reduce). Each phase is a pipeline of chunks log2(n)
  // hops deep: until it fills, a chunk waits at every hop, which for a buffer of a chunk or
  // two costs more than the whole transfer.
  const bool one_way = coll == CollType::kBroadcast || coll == CollType::kReduce;
  const double piece = one_way ? s : s / 2;  // what one tree carries
  const double fill =
      m.tree_depth() * std::min(piece, static_cast<double>(m.in.chunk_bytes)) * us_per_byte;
  if (one_way) return tree_path + fill + 2 * s * us_per_byte;
  // Per phase each rank moves about the buffer through its port, and each tree edge between
  // hosts carries its tree's half through a NIC shared with the host's other such edges. On
  // the way up, the interior rank of each tree reduces its two children's halves besides
  // (weft-sim: not hidden behind the transfers).
  const double nic = std::max(1, m.in.tree_nic_edges) * piece / (m.between.gbps * 1e3);
  const double reduce = s / (std::max(0.1, m.in.reduce_gbps) * 1e3);
  return 2 * (tree_path + fill + std::max(s * us_per_byte, nic)) + reduce;
}

double PredictTree(const CostModel& m, CollType coll, size_t bytes) {
  if (m.across_hosts()) return PredictTreeAcrossHosts(m, coll, bytes);
  const double alpha = m.between.latency_us, s = static_cast<double>(bytes);
  const int depth = CostModel::Log2Ceil(m.in.nranks);
  // Down (broadcast) or up (reduce) one tree: interior ranks send to, or receive from, two
  // children.
  if (coll == CollType::kBroadcast || coll == CollType::kReduce)
    return depth * alpha + 2 * s * m.us_per_byte();
  // Up and down two trees of depth log2(N), each carrying half. With more ranks than cores
  // the two trees' pipelines stall on the scheduler more than the ring's single one:
  // measured here, at 4 ranks per core the tree moved bytes about 2x slower relative to the
  // ring than with a core per rank.
  return 2 * depth * alpha +
         kTreeTraffic * std::max(1.0, m.in.ranks_per_core / 2) * s * m.us_per_byte();
}

}  // namespace

extern const AlgorithmInfo kTreeAlgorithm{
    Algo::kTree,
    "tree",
    "double binary trees (all-reduce: reduce up, broadcast down, half the data per tree), one "
    "tree for broadcast and reduce; about 2 log2(n) hops",
    CollBit(CollType::kAllReduce) | CollBit(CollType::kBroadcast) | CollBit(CollType::kReduce),
    BuildTree,
    PredictTree,
    nullptr,
    true,
};

}  // namespace weft
