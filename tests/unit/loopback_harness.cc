#include "tests/unit/loopback_harness.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include <unistd.h>

#include "collectives/algorithms/registry.h"
#include "collectives/algorithms/tree.h"
#include "collectives/direct_links.h"
#include "collectives/link_table.h"
#include "collectives/memory_registry.h"
#include "collectives/plan_builder.h"
#include "collectives/plan_executor.h"
#include "common/dtype.h"
#include "common/pattern.h"
#include "common/status.h"
#include "transport/loopback/loopback.h"
#include "transport/shm/shm_link.h"

namespace weft::testing {

std::string CaseName(const HarnessCase& c) {
  return Format("%s%s%s%s n=%d count=%zu %s %s root=%d %s ch=%d chunk=%zu", CollName(c.coll),
                c.algorithm == Algo::kRing ? "" : Format(" (%s)", AlgoName(c.algorithm)).c_str(),
                c.shm ? " on shared FIFOs" : "",
                c.ranks_per_host > 0 ? Format(" (%d per host)", c.ranks_per_host).c_str() : "",
                c.nranks, c.count, TypeName(c.type), OpName(c.op), c.root,
                c.in_place ? "in-place" : "out-of-place", c.chunking.nchannels,
                c.chunking.chunk_elems);
}

namespace {

// What rank r's input holds and what its output must hold, in elements.
struct RankBuffers {
  std::vector<char> input, output, expected, scratch;
  size_t expected_count = 0;
};

}  // namespace

std::string RunOnLoopback(const HarnessCase& c) {
  const int n = c.nranks;
  const size_t esz = TypeSize(c.type);
  std::vector<int> ring = c.ring;
  if (ring.empty())
    for (int r = 0; r < n; ++r)
      ring.push_back(r);

  LoopbackFabric fabric(n, c.eager_limit);
  std::vector<Plan> plans(n);
  std::vector<RankBuffers> bufs(n);
  std::vector<std::unique_ptr<PlanExecutor>> execs;
  std::vector<int> host_of(static_cast<size_t>(n), 0);
  if (c.ranks_per_host > 0)
    for (int r = 0; r < n; ++r)
      host_of[static_cast<size_t>(r)] = r / c.ranks_per_host;
  PlanShapes shapes = MakePlanShapes(ring, host_of);
  if (c.tree_ranks_per_host > 0)
    shapes.trees = HostTrees(n / c.tree_ranks_per_host, c.tree_ranks_per_host);
  const std::vector<Tree>& trees = shapes.trees;
  const bool reduces = c.coll == CollType::kAllReduce || c.coll == CollType::kReduceScatter ||
                       c.coll == CollType::kReduce;
  const weftRedOp_t pattern_op = reduces ? c.op : weftSum;

  for (int r = 0; r < n; ++r) {
    Status s = BuildPlan(c.algorithm, c.coll, r, shapes, c.count, c.root, c.chunking, &plans[r]);
    if (!s.ok()) return "plan: " + s.message();
    RankBuffers& b = bufs[r];
    const size_t in_n = plans[r].input_count, out_n = plans[r].output_count;
    b.output.assign(std::max<size_t>(out_n, 1) * esz, '\x5a');
    b.input.assign(std::max<size_t>(in_n, 1) * esz, '\0');
    // Inputs: the pattern, at global element indices so that blocks of reduce-scatter and
    // all-gather are distinguishable.
    switch (c.coll) {
      case CollType::kAllGather:
        FillPattern(b.input.data(), in_n, c.type, pattern_op, n, r, 0);
        break;
      case CollType::kBroadcast:
        FillPattern(b.input.data(), in_n, c.type, pattern_op, n, c.root, 0);
        break;
      default:
        FillPattern(b.input.data(), in_n, c.type, pattern_op, n, r, 0);
    }
    // Expected output.
    switch (c.coll) {
      case CollType::kAllReduce:
        b.expected.resize(out_n * esz);
        FillExpected(b.expected.data(), out_n, c.type, c.op, n, 0);
        b.expected_count = out_n;
        break;
      case CollType::kReduce:
        if (r == c.root) {
          b.expected.resize(out_n * esz);
          FillExpected(b.expected.data(), out_n, c.type, c.op, n, 0);
          b.expected_count = out_n;
        }
        break;
      case CollType::kReduceScatter:
        b.expected.resize(out_n * esz);
        FillExpected(b.expected.data(), out_n, c.type, c.op, n, static_cast<size_t>(r) * c.count);
        b.expected_count = out_n;
        break;
      case CollType::kAllGather:
        b.expected.resize(out_n * esz);
        for (int k = 0; k < n; ++k)
          FillPattern(b.expected.data() + k * c.count * esz, c.count, c.type, pattern_op, n, k, 0);
        b.expected_count = out_n;
        break;
      case CollType::kBroadcast:
        b.expected.resize(out_n * esz);
        FillPattern(b.expected.data(), out_n, c.type, pattern_op, n, c.root, 0);
        b.expected_count = out_n;
        break;
    }
  }

  // The links: network links with slots for the plans' largest message, and where asked,
  // FIFOs in shared memory between the ranks of each host, wired as the communicator does.
  NetLinkShape net{sizeof(PostedAddress), c.fifo_slots};
  for (const Plan& p : plans)
    for (const PlanLink& l : p.links)
      net.slot_bytes = std::max(net.slot_bytes, LinkMessageBytes(l, esz));
  std::vector<std::unique_ptr<LinkTable>> tables;
  for (int r = 0; r < n; ++r)
    tables.push_back(std::make_unique<LinkTable>(fabric.transport(r), net));
  DirectLinkConfig link_config;
  link_config.ring = link_config.other = {
      std::max(c.chunking.chunk_elems * esz, sizeof(PostedAddress)), c.fifo_slots};
  link_config.ring_channels = c.chunking.nchannels;
  link_config.other_channels = static_cast<int>(trees.size());
  link_config.all_pairs_max = c.direct_all_pairs_max;
  const DirectLinkMap links = DirectLinkMap::Build(ring, trees, link_config, host_of);
  std::vector<void*> regions(n, nullptr);
  if (c.shm) {
    for (int r = 0; r < n; ++r) {
      const RegisteredMemory* m = nullptr;
      Status s = fabric.transport(r)->RegisterShared(links.RegionBytes(r), &m);
      if (!s.ok()) return "shared memory: " + s.message();
      regions[r] = m->local;
    }
    const std::vector<int32_t> pids(static_cast<size_t>(n), static_cast<int32_t>(getpid()));
    for (int r = 0; r < n; ++r)
      AddShmLinks(links, r, regions[r], regions, pids, tables[r].get());
  }

  // Shared buffers: each rank's output (the input inside it in place) in weftMemAlloc memory,
  // copied back into RankBuffers once the plans ran.
  struct SharedCopy {
    void* in = nullptr;
    void* out = nullptr;
    MemoryRegistry registry;
    ~SharedCopy() {
      (void)FreeSharedBuffer(in);
      (void)FreeSharedBuffer(out);
    }
  };
  std::vector<SharedCopy> shared(c.shared_buffers ? n : 0);
  // The one-shot scratch: every rank's in this process's memory (zeroed, as the
  // communicator's shared memory is), seen alike by all.
  std::vector<std::vector<proto::LlLine>> one_shot_memory;
  std::vector<OneShotScratch> one_shot(static_cast<size_t>(n));
  if (c.algorithm == Algo::kOneShot) {
    const size_t max_bytes = std::max<size_t>(c.count * esz, 1);  // one block
    for (int r = 0; r < n; ++r)
      one_shot_memory.emplace_back(OneShotScratch::Bytes(n, max_bytes) / sizeof(proto::LlLine));
    for (OneShotScratch& o : one_shot) {
      o.lines = proto::OneShotLines(max_bytes);
      for (auto& m : one_shot_memory)
        o.ranks.push_back(m.data());
    }
  }
  for (int r = 0; r < n; ++r) {
    RankBuffers& b = bufs[r];
    ExecArgs ea;
    ea.type = c.type;
    ea.op = c.op;
    ea.seq = 7;
    ea.stream_min_bytes = c.stream_min_bytes;
    ea.input = b.input.data();
    ea.output = b.output.data();
    if (c.algorithm == Algo::kOneShot) ea.one_shot = &one_shot[static_cast<size_t>(r)];
    if (c.in_place) {
      // Move the input into its in-place position inside the output.
      size_t at = 0;
      if (c.coll == CollType::kAllGather) at = static_cast<size_t>(r) * c.count * esz;
      if (c.coll == CollType::kReduceScatter) {
        b.output = b.input;  // output lives inside the input
        ea.input = b.output.data();
        ea.output = b.output.data() + static_cast<size_t>(r) * c.count * esz;
      } else {
        std::memcpy(b.output.data() + at, b.input.data(), plans[r].input_count * esz);
        ea.input = b.output.data() + at;
      }
    }
    if (c.shared_buffers) {
      SharedCopy& sc = shared[r];
      void* h = nullptr;
      Status s = AllocateSharedBuffer(b.output.size() + 1, &sc.out);
      if (s.ok()) s = sc.registry.Register(sc.out, b.output.size() + 1, &h);
      if (s.ok() && !c.in_place) s = AllocateSharedBuffer(b.input.size(), &sc.in);
      if (s.ok() && !c.in_place) s = sc.registry.Register(sc.in, b.input.size(), &h);
      if (!s.ok()) return Format("rank %d: shared buffers: %s", r, s.message().c_str());
      std::memcpy(sc.out, b.output.data(), b.output.size());
      const size_t in_at = static_cast<const char*>(ea.input) - b.output.data();
      if (c.in_place) {
        ea.input = static_cast<char*>(sc.out) + in_at;
      } else {
        std::memcpy(sc.in, b.input.data(), b.input.size());
        ea.input = sc.in;
      }
      ea.output = static_cast<char*>(sc.out) + (static_cast<char*>(ea.output) - b.output.data());
      ea.registry = &sc.registry;
    }
    if (plans[r].scratch_count > 0) {
      b.scratch.assign(plans[r].scratch_count * esz, '\x33');
      ea.scratch = b.scratch.data();
    }
    auto e = std::make_unique<PlanExecutor>();
    Status s = e->Reset(&plans[r], ea, tables[r].get());
    if (!s.ok()) return Format("rank %d: %s", r, s.message().c_str());
    execs.push_back(std::move(e));
  }

  // Drive every rank in turn. The loopback transport completes everything inside Send and
  // Recv, so if what every rank waits for stays the same for two rounds, nothing can move:
  // a deadlock in the plans or the executor.
  std::vector<bool> done(n, false);
  std::string previous;
  int unchanged = 0;
  while (true) {
    bool all = true;
    std::string waiting;
    for (int r = 0; r < n; ++r) {
      if (!done[r]) {
        bool d = false;
        Status s = execs[r]->Advance(&d);
        if (!s.ok()) return Format("rank %d: %s", r, s.message().c_str());
        done[r] = d;
      }
      all = all && done[r];
      waiting += Format("%d:%s;", r, done[r] ? "done" : execs[r]->Waiting().c_str());
    }
    if (all) break;
    unchanged = waiting == previous ? unchanged + 1 : 0;
    if (unchanged >= 2) return "stalled: " + waiting;
    previous = waiting;
  }
  if (c.shm) {
    // Every FIFO drained: each one's consumer took all its producer published.
    for (const DirectLink& l : links.links()) {
      const FifoView f = FifoAt(static_cast<std::byte*>(regions[l.to]) + l.offset,
                                l.shape.slot_bytes, l.shape.nslots);
      if (f.header->head != f.header->tail)
        return Format("rank %d's FIFO from rank %d holds %llu unread messages", l.to, l.from,
                      static_cast<unsigned long long>(f.header->head - f.header->tail));
    }
  }
  if (fabric.UnexpectedMessages() != 0)
    return Format("%zu messages left unmatched", fabric.UnexpectedMessages());
  for (int r = 0; r < static_cast<int>(shared.size()); ++r)
    std::memcpy(bufs[r].output.data(), shared[r].out, bufs[r].output.size());

  for (int r = 0; r < n; ++r) {
    RankBuffers& b = bufs[r];
    if (b.expected_count == 0) continue;
    const char* out = c.in_place && c.coll == CollType::kReduceScatter
                          ? b.output.data() + static_cast<size_t>(r) * c.count * esz
                          : b.output.data();
    size_t wrong = CountMismatches(out, b.expected.data(), b.expected_count, c.type);
    if (wrong != 0) {
      size_t first = 0;
      while (std::memcmp(out + first * esz, b.expected.data() + first * esz, esz) == 0)
        ++first;
      return Format("rank %d: %zu of %zu elements wrong (first at %zu)\n%s", r, wrong,
                    b.expected_count, first, plans[r].Describe().c_str());
    }
  }
  return "";
}

}  // namespace weft::testing
