// The PlanExecutor on shared-memory links (the FIFOs of DirectLinkMap in this process's
// memory): rings for N = 2..16 ranks and every collective, trees and recursive doubling on
// the links between tree neighbours and partners (all pairs, and sparse), the tightest
// FIFO (2 slots), any ring order; and on a mix of shared-memory links inside "hosts" and
// network links (the loopback transport's messages) between them, in one plan. Also the link
// map itself (who writes where) and the link table's choice of link.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <random>

#include "collectives/algorithms/one_copy.h"
#include "collectives/algorithms/one_shot.h"
#include "collectives/algorithms/ring.h"
#include "collectives/direct_links.h"
#include "collectives/link_table.h"
#include "collectives/plan_builder.h"
#include "tests/unit/loopback_harness.h"
#include "transport/loopback/loopback.h"
#include "transport/shm/shm_link.h"

namespace weft {
namespace {

using testing::HarnessCase;

const CollType kAllColls[] = {CollType::kAllReduce, CollType::kAllGather, CollType::kReduceScatter,
                              CollType::kBroadcast, CollType::kReduce};

TEST(PlanExecutorShm, EveryCollectiveEveryRankCount) {
  for (int n = 2; n <= 16; ++n) {
    for (CollType coll : kAllColls) {
      for (size_t count : {size_t{1}, static_cast<size_t>(n - 1), static_cast<size_t>(n + 1),
                           size_t{97}, size_t{5000}}) {
        for (bool in_place : {false, true}) {
          HarnessCase c;
          c.shm = true;
          c.coll = coll;
          c.nranks = n;
          c.count = count;
          c.type = weftInt32;
          c.op = weftSum;
          c.root = n / 2;
          c.in_place = in_place;
          c.chunking.nchannels = 1 + static_cast<int>(count % 2);
          c.chunking.chunk_elems = 1 + count % 13;
          c.fifo_slots = 2 + static_cast<int>(count % 3);
          ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

TEST(PlanExecutorShm, EveryTypeAndOpAnyRing) {
  std::mt19937 gen(11);
  for (int n : {2, 3, 5}) {
    std::vector<int> ring(n);
    for (int i = 0; i < n; ++i)
      ring[i] = i;
    std::shuffle(ring.begin(), ring.end(), gen);
    for (int t = 0; t < weftNumTypes; ++t) {
      for (int op = 0; op < weftNumOps; ++op) {
        HarnessCase c;
        c.shm = true;
        c.nranks = n;
        c.ring = ring;
        c.count = 1001;
        c.type = static_cast<weftDataType_t>(t);
        c.op = static_cast<weftRedOp_t>(op);
        c.chunking.chunk_elems = 64;
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

TEST(PlanExecutorShm, TreesOnTheirOwnLinks) {
  for (int n = 2; n <= 20; ++n) {
    for (CollType coll : {CollType::kAllReduce, CollType::kBroadcast, CollType::kReduce}) {
      for (size_t count : {size_t{1}, static_cast<size_t>(n + 1), size_t{3001}}) {
        for (bool all_pairs : {true, false}) {
          HarnessCase c;
          c.algorithm = Algo::kTree;
          c.shm = true;
          c.direct_all_pairs_max = all_pairs ? 64 : 0;
          c.coll = coll;
          c.nranks = n;
          c.count = count;
          c.type = weftFloat32;
          c.op = count % 2 ? weftAvg : weftSum;
          // Rerooted trees (broadcast, reduce) need links beyond the all-reduce trees'.
          c.root = all_pairs ? n - 1 : DoubleBinaryTrees(n)[0].root;
          c.in_place = count % 2 == 0;
          c.chunking.chunk_elems = 1 + count % 97;
          c.fifo_slots = 2 + n % 3;
          ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

TEST(PlanExecutorShm, TreesAcrossHosts) {
  for (int hosts : {2, 3, 5}) {
    for (int per_host : {1, 2, 4}) {
      HarnessCase c;
      c.algorithm = Algo::kTree;
      c.shm = true;
      c.direct_all_pairs_max = 0;
      c.tree_ranks_per_host = per_host;
      c.nranks = hosts * per_host;
      c.count = 4099;
      c.type = weftInt64;
      c.op = weftMax;
      c.chunking.chunk_elems = 256;
      ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
    }
  }
}

TEST(PlanExecutorShm, RecursiveDoublingOnItsPairs) {
  for (int n = 2; n <= 20; ++n) {
    for (bool all_pairs : {true, false}) {
      for (size_t count : {size_t{0}, size_t{1}, size_t{33}}) {
        HarnessCase c;
        c.algorithm = Algo::kRecursiveDoubling;
        c.shm = true;
        c.direct_all_pairs_max = all_pairs ? 64 : 0;
        c.nranks = n;
        c.count = count;
        c.type = weftBfloat16;
        c.op = weftSum;
        c.in_place = count == 1;
        c.chunking.chunk_elems = 64;  // a slot holds the whole buffer
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

// One-copy plans read the peers' buffers with process_vm_readv: here every virtual rank is
// this process, which reads itself.
TEST(PlanExecutorShm, OneCopyAllGatherAndBroadcast) {
  for (int n = 1; n <= 12; ++n) {
    for (CollType coll : {CollType::kAllGather, CollType::kBroadcast}) {
      for (size_t count :
           {size_t{0}, size_t{1}, size_t{1001}, n % 4 ? size_t{77} : size_t{70000}}) {
        for (bool in_place : {false, true}) {
          HarnessCase c;
          c.algorithm = Algo::kDirect;
          c.shm = true;
          c.direct_all_pairs_max = 64;
          c.coll = coll;
          c.nranks = n;
          c.count = count;
          c.type = count % 2 ? weftUint8 : weftFloat64;
          c.root = n - 1;
          c.in_place = in_place;
          c.fifo_slots = 2;
          ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

// One-copy all-reduce: every rank reduces its slice from all inputs and writes it into all
// outputs, in place in the peers' weftMemAlloc buffers or through process_vm_readv/writev;
// blocks smaller than a slice, so that slices span several.
TEST(PlanExecutorShm, OneCopyAllReduce) {
  for (int n = 1; n <= 9; ++n) {
    for (size_t count : {size_t{0}, size_t{1}, size_t{1001}, n % 3 ? size_t{77} : size_t{40000}}) {
      for (bool shared : {false, true}) {
        for (bool in_place : {false, true}) {
          HarnessCase c;
          c.algorithm = Algo::kDirect;
          c.shm = true;
          c.direct_all_pairs_max = 64;
          c.coll = CollType::kAllReduce;
          c.nranks = n;
          c.count = count;
          c.type = count % 2 ? weftInt32 : weftFloat64;
          c.op = count % 2 ? weftMax : (in_place ? weftAvg : weftSum);
          c.in_place = in_place;
          c.shared_buffers = shared;
          c.chunking.chunk_elems = 97;  // the block
          ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

// One-shot collectives (the LL protocol the GPU kernel runs, here on the host runner): the
// all-reduce in every type and op, in and out of place, 1-8 ranks; the runner polls, returns
// to the drive loop and resumes.
TEST(PlanExecutorShm, OneShotAllReduce) {
  for (int n = 1; n <= 8; ++n) {
    for (size_t count : {size_t{0}, size_t{1}, size_t{3}, size_t{1001}}) {
      for (int t = 0; t < weftNumTypes; ++t) {
        const auto type = static_cast<weftDataType_t>(t);
        for (weftRedOp_t op : {weftSum, weftProd, weftMax, weftMin, weftAvg}) {
          HarnessCase c;
          c.algorithm = Algo::kOneShot;  // no links: its scratch is all it needs
          c.coll = CollType::kAllReduce;
          c.nranks = n;
          c.count = count;
          c.type = type;
          c.op = op;
          c.in_place = (count + static_cast<size_t>(n)) % 2 == 0;
          ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

// ... and the other four: every root, in and out of place (NCCL's layouts), a type of each
// width, counts that end in a partial line.
TEST(PlanExecutorShm, OneShotAllGatherReduceScatterBroadcastReduce) {
  for (int n = 1; n <= 8; ++n) {
    for (CollType coll : {CollType::kAllGather, CollType::kReduceScatter, CollType::kBroadcast,
                          CollType::kReduce}) {
      for (size_t count : {size_t{0}, size_t{1}, size_t{5}, size_t{333}}) {
        for (weftDataType_t type : {weftUint8, weftBfloat16, weftFloat32, weftInt64}) {
          for (bool in_place : {false, true}) {
            const bool rooted = coll == CollType::kBroadcast || coll == CollType::kReduce;
            for (int root = 0; root < (rooted ? n : 1); ++root) {
              HarnessCase c;
              c.algorithm = Algo::kOneShot;
              c.coll = coll;
              c.nranks = n;
              c.count = count;
              c.type = type;
              c.op = type == weftUint8 ? weftMax : weftSum;
              c.root = root;
              c.in_place = in_place;
              ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
            }
          }
        }
      }
    }
  }
}

TEST(OneShotPlan, OneStepOverOneBlock) {
  Plan p;
  ASSERT_TRUE(BuildOneShotPlan(CollType::kAllReduce, 2, 4, 10, 0, &p).ok());
  ASSERT_EQ(1u, p.StepCount());
  const Step& st = p.channels[0].steps[0];
  EXPECT_EQ(StepKind::kOneShot, st.kind);
  EXPECT_EQ(10u, st.count);
  EXPECT_TRUE(st.finalize);
  EXPECT_TRUE(p.links.empty());
  ASSERT_TRUE(BuildOneShotPlan(CollType::kAllGather, 1, 4, 10, 0, &p).ok());
  EXPECT_EQ(10u, p.channels[0].steps[0].count);  // a block, of the 40 gathered
  EXPECT_EQ(40u, p.output_count);
  ASSERT_TRUE(BuildOneShotPlan(CollType::kBroadcast, 1, 4, 10, 3, &p).ok());
  EXPECT_EQ(3, p.root);
  ASSERT_TRUE(BuildOneShotPlan(CollType::kAllReduce, 0, 4, 0, 0, &p).ok());
  EXPECT_EQ(0u, p.StepCount());
}

// The plan: addresses, blocks of the own slice only, write-backs to every peer, signals.
TEST(OneCopyPlan, AllReduceTouchesOnlyItsSliceOfEachPeer) {
  Plan p;
  ASSERT_TRUE(BuildOneCopyAllReducePlan(1, 3, 10, 2, &p).ok());
  size_t reduced = 0, written = 0;
  for (const Step& st : p.channels[0].steps) {
    if (st.kind == StepKind::kReducePeer) {
      EXPECT_GE(st.peer_mem.offset, 4u);  // rank 1 of 3 owns elements 4..6
      EXPECT_LE(st.peer_mem.offset + st.peer_mem.count, 7u);
      EXPECT_FALSE(st.peer_write);  // 3 ranks: separate write-backs
      reduced += st.count;
    }
    if (st.kind == StepKind::kWritePeer) {
      EXPECT_EQ(BufferId::kOutput, st.peer_mem.buf);
      written += st.count;
    }
  }
  EXPECT_EQ(2u * 3, reduced);  // 3 elements, each reduced with 2 peers
  EXPECT_EQ(2u * 3, written);
  EXPECT_EQ(2u, p.scratch_count);
  ASSERT_TRUE(BuildOneCopyAllReducePlan(0, 2, 10, 4, &p).ok());
  for (const Step& st : p.channels[0].steps) {
    if (st.kind == StepKind::kReducePeer) {
      EXPECT_TRUE(st.peer_write) << p.Describe();
    }
  }
}

TEST(PlanExecutorShm, OneCopyReadOfAVanishedBufferIsAnError) {
  std::vector<char> to(64);
  Status s = ReadFromProcess(getpid(), 8, to.data(), to.size());  // page zero: unmapped
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("process_vm_readv of 64 bytes")) << s.message();
  std::vector<char> from(64, 'x');
  ASSERT_TRUE(
      ReadFromProcess(getpid(), reinterpret_cast<uintptr_t>(from.data()), to.data(), 64).ok());
  EXPECT_EQ(from, to);
}

// A link whose message fits the shared FIFO's slot goes through it; a larger one (and a peer
// without a FIFO) over the network; one-copy control words never go over the network.
TEST(LinkTable, SharedMemoryWhereTheMessageFitsNetworkElsewhere) {
  const std::vector<int> ring = {0, 1, 2, 3, 4, 5};
  DirectLinkConfig config;
  config.ring = config.other = {400, 2};
  config.all_pairs_max = 0;
  const DirectLinkMap map = DirectLinkMap::Build(ring, {}, config);
  LoopbackFabric fabric(6);
  std::vector<void*> regions(6);
  for (int r = 0; r < 6; ++r) {
    const RegisteredMemory* m;
    ASSERT_TRUE(fabric.transport(r)->RegisterShared(map.RegionBytes(r), &m).ok());
    regions[r] = m->local;
  }
  LinkTable table(fabric.transport(0), NetLinkShape{1 << 10, 2});
  AddShmLinks(map, 0, regions[0], regions, std::vector<int32_t>(6, 0), &table);
  PlanLink to1{0, 1, true, 3, 100, false};
  SendPort* port = nullptr;
  ASSERT_TRUE(table.SendPortFor(to1, 4, &port).ok());
  EXPECT_STREQ("shm", port->kind());
  ASSERT_TRUE(table.SendPortFor(to1, 8, &port).ok());  // 800 bytes > the 400-byte slot
  EXPECT_STREQ("net", port->kind());
  PlanLink to5{0, 5, true, 3, 100, false};  // the ring runs 0 -> 1: no FIFO 0 -> 5
  ASSERT_TRUE(table.SendPortFor(to5, 4, &port).ok());
  EXPECT_STREQ("net", port->kind());
  PlanLink control{0, 5, true, 1, 0, true};
  EXPECT_FALSE(table.SendPortFor(control, 4, &port).ok());
  PlanLink huge{0, 1, true, 1, 1000, false};  // beyond the network links' slots too
  EXPECT_FALSE(table.SendPortFor(huge, 4, &port).ok());
  PlanLink from5{0, 5, false, 3, 100, false};  // the ring's 5 -> 0
  RecvPort* in = nullptr;
  ASSERT_TRUE(table.RecvPortFor(from5, 4, &in).ok());
  EXPECT_STREQ("shm", in->kind());
  EXPECT_EQ(0u, fabric.PostedReceives());
  PlanLink from3{0, 3, false, 3, 100, false};  // not a ring or recursive-doubling pair
  ASSERT_TRUE(table.RecvPortFor(from3, 4, &in).ok());
  EXPECT_STREQ("net", in->kind());
  EXPECT_EQ(2u, fabric.PostedReceives());  // posted ahead, one per slot
}

// One plan, two kinds of link: shared FIFOs between the ranks of each host, the loopback
// transport's messages between hosts.
TEST(PlanExecutorMixed, EveryCollectiveAcrossHosts) {
  for (int per_host : {1, 2, 3}) {
    for (int hosts : {2, 3}) {
      for (CollType coll : kAllColls) {
        for (size_t count : {size_t{1}, size_t{1000}}) {
          HarnessCase c;
          c.shm = true;
          c.ranks_per_host = per_host;
          c.coll = coll;
          c.nranks = per_host * hosts;
          c.count = count;
          c.type = weftFloat32;
          c.op = count % 2 ? weftAvg : weftSum;
          c.root = c.nranks - 1;
          c.in_place = count % 2 == 0;
          c.chunking.nchannels = 2;
          c.chunking.chunk_elems = 37;
          ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
        }
      }
    }
  }
}

TEST(PlanExecutorMixed, TreesAndRecursiveDoublingAcrossHosts) {
  for (auto algo : {Algo::kTree, Algo::kRecursiveDoubling}) {
    for (int n : {4, 6, 9}) {
      HarnessCase c;
      c.algorithm = algo;
      c.shm = true;
      c.ranks_per_host = n == 9 ? 3 : 2;
      c.nranks = n;
      c.count = 777;
      c.type = weftInt64;
      c.op = weftSum;
      c.chunking.chunk_elems = 50;
      ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
    }
  }
}

// The hierarchical algorithms: every collective on 1-3 hosts of 1-3 ranks, rings inside the
// hosts over shared FIFOs, rails between them over the network, in place and not, with
// counts that leave some ranks' pieces empty; every type and op on one shape.
TEST(Hier, EveryCollectiveOnOneToThreeHosts) {
  for (int hosts = 1; hosts <= 3; ++hosts) {
    for (int per_host = 1; per_host <= 3; ++per_host) {
      for (CollType coll : kAllColls) {
        for (size_t count : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}}) {
          for (bool shm : {true, false}) {
            HarnessCase c;
            c.algorithm = Algo::kHier;
            c.shm = shm;
            c.ranks_per_host = per_host;
            c.coll = coll;
            c.nranks = hosts * per_host;
            c.count = count;
            c.type = weftInt32;
            c.op = count % 2 ? weftMax : weftSum;
            c.root = (hosts * per_host) / 2;
            c.in_place = count % 2 == 0;
            c.chunking.nchannels = 1 + static_cast<int>(count % 3 == 1);
            c.chunking.chunk_elems = 5 + count % 11;
            c.fifo_slots = 2;
            ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
          }
        }
      }
    }
  }
}

TEST(Hier, EveryTypeAndOp) {
  for (int t = 0; t < weftNumTypes; ++t) {
    for (int op = 0; op < weftNumOps; ++op) {
      for (CollType coll : {CollType::kAllReduce, CollType::kReduceScatter, CollType::kReduce}) {
        HarnessCase c;
        c.algorithm = Algo::kHier;
        c.shm = true;
        c.ranks_per_host = 2;
        c.nranks = 6;
        c.coll = coll;
        c.count = 301;
        c.type = static_cast<weftDataType_t>(t);
        c.op = static_cast<weftRedOp_t>(op);
        c.root = 3;
        c.chunking.nchannels = 2;
        c.chunking.chunk_elems = 16;
        ASSERT_EQ("", testing::RunOnLoopback(c)) << testing::CaseName(c);
      }
    }
  }
}

// The rails carry 1/L of the data the flat ring sends between hosts: counted on the plans.
TEST(Hier, TheRailsMoveLessBetweenHostsThanTheRing) {
  const int hosts = 3, per_host = 4, n = hosts * per_host;
  std::vector<int> ring(n), host_of(n);
  for (int r = 0; r < n; ++r)
    ring[r] = r, host_of[r] = r / per_host;
  const PlanShapes shapes = MakePlanShapes(ring, host_of);
  Chunking ch;
  ch.chunk_elems = 1000;
  auto between_hosts = [&](Algo algo, int rank) {
    Plan p;
    EXPECT_TRUE(BuildPlan(algo, CollType::kAllReduce, rank, shapes, 120000, 0, ch, &p).ok());
    size_t elems = 0;
    for (const ChannelPlan& c : p.channels)
      for (const Step& st : c.steps)
        if (StepSends(st.kind) && host_of[st.send_peer] != host_of[rank]) elems += st.count;
    return elems;
  };
  size_t ring_total = 0, hier_total = 0;
  for (int r = 0; r < n; ++r)
    ring_total += between_hosts(Algo::kRing, r), hier_total += between_hosts(Algo::kHier, r);
  // Ring: 2(N-1)/N of the buffer over each of the H crossing edges; hier: 2(H-1)/H of it
  // per host, spread over its L rails.
  EXPECT_EQ(ring_total, size_t{3} * 2 * 11 * 120000 / 12);
  EXPECT_EQ(hier_total, size_t{3} * 2 * 2 * 120000 / 3);
}

TEST(DirectLinkMap, RingTreesAndPairs) {
  const int n = 12;
  std::vector<int> ring = {3, 1, 4, 0, 5, 9, 2, 6, 8, 7, 11, 10};
  const std::vector<Tree> trees = DoubleBinaryTrees(n);
  DirectLinkConfig config;
  config.ring = {1 << 20, 8};
  config.other = {64 << 10, 4};
  config.ring_channels = 1;
  config.other_channels = 2;
  config.all_pairs_max = 8;
  const DirectLinkMap map = DirectLinkMap::Build(ring, trees, config);
  EXPECT_EQ(2, map.channels());
  auto find = [&](int c, int from, int to) -> const DirectLink* {
    for (const DirectLink& l : map.links())
      if (l.channel == c && l.from == from && l.to == to) return &l;
    return nullptr;
  };
  // Ring successors, deep, on channel 0 only.
  for (int p = 0; p < n; ++p) {
    const DirectLink* l = find(0, ring[p], ring[(p + 1) % n]);
    ASSERT_NE(nullptr, l);
    EXPECT_EQ(8, l->shape.nslots);
    EXPECT_EQ(size_t{1} << 20, l->shape.slot_bytes);
  }
  // Both directions of every tree edge, on both channels.
  for (const Tree& t : trees) {
    for (int r = 0; r < n; ++r) {
      if (t.parent[r] < 0) continue;
      for (int c = 0; c < 2; ++c) {
        EXPECT_NE(nullptr, find(c, r, t.parent[r])) << r << "->" << t.parent[r];
        EXPECT_NE(nullptr, find(c, t.parent[r], r)) << t.parent[r] << "->" << r;
      }
    }
  }
  // Recursive-doubling partners (8 = 2^3; ranks 8..11 pair with 0..3).
  EXPECT_NE(nullptr, find(0, 5, 1));
  EXPECT_NE(nullptr, find(0, 2, 6));
  EXPECT_NE(nullptr, find(0, 10, 2));
  // Not every pair: 12 ranks is above all_pairs_max.
  EXPECT_LT(map.links().size(), static_cast<size_t>(2 * n * (n - 1)));
  // FIFOs of one receiver are laid out back to back, 64-byte aligned, without overlap.
  for (int to = 0; to < n; ++to) {
    size_t end = 0;
    for (const DirectLink& l : map.Into(to)) {
      EXPECT_EQ(end, l.offset);
      EXPECT_EQ(0u, l.offset % 64);
      end = l.offset + FifoBytes(l.shape.slot_bytes, l.shape.nslots);
    }
    EXPECT_EQ(end, map.RegionBytes(to));
  }
  // Small communicators link every ordered pair on both channels.
  const DirectLinkMap small = DirectLinkMap::Build({0, 1, 2, 3}, DoubleBinaryTrees(4), config);
  EXPECT_EQ(size_t{2 * 4 * 3}, small.links().size());
}

}  // namespace
}  // namespace weft
