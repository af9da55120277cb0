// The ring across hosts as the device path runs it: CPU threads stand in for the kernel's
// blocks (collectives/device/proto/net_ring.h, one thread per rank and channel) and fill and
// drain the FIFOs of a NetProxy per rank (collectives/device/net_proxy.h), which moves the
// slots over the loopback transport (one driving thread, as the transport wants). Every
// collective, types of every width, every op, 1-8 ranks, 1-3 channels, rings in and out of
// rank order, every root, in and out of place, FIFOs of 2 slots to 8, chunks shorter than a
// piece and empty; calls follow one another on the same FIFOs. Results are bit-exact against
// a reference folded in ring order with the type's rounding at every hop; the proxy moves
// every message and reduces nothing. A rank that never runs ends its peers' waits in a
// timeout naming it; an abort ends them at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "collectives/device/net_proxy.h"
#include "collectives/device/proto/net_ring.h"
#include "collectives/reduce/host_formats.h"
#include "collectives/reduce/native_format.h"
#include "collectives/reduce/reduce_ops.h"
#include "transport/loopback/loopback.h"

namespace weft {
namespace {

using proto::DeviceColl;
using proto::WaitResult;

struct Call {
  DeviceColl coll = DeviceColl::kAllReduce;
  size_t count = 0;
  int root = 0;  // a rank
  bool in_place = false;
};

struct Shape {
  int nranks = 2;
  int channels = 1;
  size_t slot_bytes = 256;
  int nslots = 2;
  std::vector<int> ring;  // empty: 0..n-1
};

// Every rank's proxy over one loopback fabric, and the ring.
struct Job {
  explicit Job(const Shape& s) : shape(s), fabric(s.nranks, /*eager_limit=*/200) {
    ring = s.ring;
    if (ring.empty()) {
      ring.resize(static_cast<size_t>(s.nranks));
      std::iota(ring.begin(), ring.end(), 0);
    }
    pos.assign(ring.size(), 0);
    for (size_t q = 0; q < ring.size(); ++q)
      pos[static_cast<size_t>(ring[q])] = static_cast<int>(q);
    for (int r = 0; r < s.nranks; ++r) {
      NetProxyOptions o;
      o.ring = ring;
      o.rank = r;
      o.channels = s.channels;
      o.first_tag_channel = 7;
      o.shape.slot_bytes = s.slot_bytes;
      o.shape.nslots = s.nslots;
      std::unique_ptr<NetProxy> p;
      Status st = NetProxy::Create(fabric.transport(r), o, &p);
      EXPECT_TRUE(st.ok()) << st.message();
      proxies.push_back(std::move(p));
    }
  }

  proto::NetRingArgs Args(int rank, const Call& c, const void* in, void* out) const {
    CollArgs call;
    call.send = in;
    call.recv = out;
    call.count = c.count;
    call.root = c.root;
    // A hang fails, never blocks.
    proto::NetRingArgs a = proxies[static_cast<size_t>(rank)]->KernelArgs(call, 60'000);
    a.coll = c.coll;  // the protocol's own names, as the test lists its calls
    return a;
  }

  // Runs one call: a thread per (rank, channel) runs the kernel's part; this thread drives
  // every proxy until each is done or fails. `absent`: a rank whose kernel never starts.
  // Returns each rank's status.
  template <typename F, typename Op>
  std::vector<Status> Run(const std::vector<proto::NetRingArgs>& args, int absent = -1,
                          bool abort_midway = false) {
    const int n = shape.nranks;
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r) {
      NetProxy* proxy = proxies[static_cast<size_t>(r)].get();
      proxy->Start();
      if (r == absent) continue;
      for (int ch = 0; ch < shape.channels; ++ch) {
        threads.emplace_back([&, r, ch, proxy] {
          uint32_t shared = 0;
          const WaitResult w =
              proto::NetRing<F, Op>(args[static_cast<size_t>(r)], ch, 0, 1, &shared);
          if (w != WaitResult::kReady)
            proto::StoreRelease(proxy->kernel_status(), static_cast<uint32_t>(w));
          __atomic_fetch_add(proxy->kernel_finished(), 1u, __ATOMIC_RELEASE);
        });
      }
    }
    std::vector<Status> result(static_cast<size_t>(n));
    std::vector<bool> over(static_cast<size_t>(n), false);
    over[static_cast<size_t>(std::max(absent, 0))] = absent >= 0;
    size_t rounds = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (int left = n - (absent >= 0 ? 1 : 0); left > 0;) {
      for (int r = 0; r < n; ++r) {
        if (over[static_cast<size_t>(r)]) continue;
        bool done = false;
        Status s = proxies[static_cast<size_t>(r)]->Advance(&done);
        if (!s.ok() || done) {
          result[static_cast<size_t>(r)] = s;
          over[static_cast<size_t>(r)] = true;
          --left;
        }
        // As the communicator's failure notices do: one rank's failure ends every call.
        if (!s.ok())
          for (auto& p : proxies)
            p->Abort();
      }
      if (std::chrono::steady_clock::now() > deadline) {  // a hang fails, never blocks
        for (int r = 0; r < n; ++r)
          ADD_FAILURE() << "rank " << r << " stuck: " << proxies[static_cast<size_t>(r)]->Waiting()
                        << ", kernel blocks done "
                        << proxies[static_cast<size_t>(r)]->BlocksFinished();
        for (auto& p : proxies)
          p->Abort();
        deadline = std::chrono::steady_clock::time_point::max();
      }
      if (abort_midway && ++rounds == 50)
        for (auto& p : proxies)
          p->Abort();
      std::this_thread::yield();
    }
    for (auto& t : threads)
      t.join();
    return result;
  }

  Shape shape;
  LoopbackFabric fabric;
  std::vector<int> ring, pos;
  std::vector<std::unique_ptr<NetProxy>> proxies;
};

template <typename T>
T Value(int rank, size_t i, size_t call) {
  const int v = static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13 + call * 5) % 11) - 3;
  return static_cast<T>(v == 0 ? 1 : v);
}

bool Reduces(DeviceColl c) {
  return c == DeviceColl::kAllReduce || c == DeviceColl::kReduceScatter || c == DeviceColl::kReduce;
}

// Element i of the reduction of every rank's element `at`, folded from ring position
// `first` around the ring, rounded to the type at each hop; weftAvg divides at the end.
template <typename F, typename Op>
typename F::Stored Folded(const Job& job, int first, int divisor,
                          const std::function<typename F::Stored(int)>& value_of_rank) {
  const int n = job.shape.nranks;
  typename F::Stored acc = value_of_rank(job.ring[static_cast<size_t>(first % n)]);
  for (int k = 1; k < n; ++k)
    acc = F::Store(Op::Apply(
        F::Load(acc), F::Load(value_of_rank(job.ring[static_cast<size_t>((first + k) % n)]))));
  if (divisor > 0) acc = F::Store(F::Load(acc) / static_cast<typename F::Compute>(divisor));
  return acc;
}

// Runs `calls` in order on one job and checks every rank's output bit for bit.
template <typename F, typename Op>
void RunAndCheck(const Shape& shape, const std::vector<Call>& calls, int divisor = 0) {
  using S = typename F::Stored;
  Job job(shape);
  const int n = shape.nranks;
  const auto nu = static_cast<size_t>(n);
  auto value = [](int r, size_t i, size_t call) {
    return F::Store(static_cast<typename F::Compute>(Value<int>(r, i, call)));
  };
  uint64_t messages = 0;
  for (size_t k = 0; k < calls.size(); ++k) {
    const Call& c = calls[k];
    const size_t in_elems = c.coll == DeviceColl::kReduceScatter ? nu * c.count : c.count;
    const size_t out_elems = c.coll == DeviceColl::kAllGather ? nu * c.count : c.count;
    std::vector<std::vector<S>> in(nu), out(nu);
    std::vector<proto::NetRingArgs> args;
    for (int r = 0; r < n; ++r) {
      auto& i = in[static_cast<size_t>(r)];
      auto& o = out[static_cast<size_t>(r)];
      i.resize(std::max<size_t>(in_elems, 1));
      for (size_t e = 0; e < in_elems; ++e)
        i[e] = value(r, e, k);
      o.assign(std::max<size_t>(out_elems, 1), S{});
      const void* input = i.data();
      void* output = o.data();
      if (c.in_place) {
        switch (c.coll) {
          case DeviceColl::kAllGather:  // the input is block r of the output
            for (size_t e = 0; e < c.count; ++e)
              o[static_cast<size_t>(r) * c.count + e] = i[e];
            input = o.data() + static_cast<size_t>(r) * c.count;
            break;
          case DeviceColl::kReduceScatter:  // the output is block r of the input
            output = i.data() + static_cast<size_t>(r) * c.count;
            break;
          default:
            o = i;
            o.resize(std::max<size_t>(out_elems, 1));
            input = o.data();
            break;
        }
      }
      args.push_back(job.Args(r, c, input, output));
      args.back().divisor = divisor;
    }
    const std::vector<Status> st = job.Run<F, Op>(args);
    for (int r = 0; r < n; ++r)
      ASSERT_TRUE(st[static_cast<size_t>(r)].ok())
          << "call " << k << " rank " << r << ": " << st[static_cast<size_t>(r)].message();
    // Expected output of every rank.
    for (int r = 0; r < n; ++r) {
      const S* got = c.in_place && c.coll == DeviceColl::kReduceScatter
                         ? in[static_cast<size_t>(r)].data() + static_cast<size_t>(r) * c.count
                         : out[static_cast<size_t>(r)].data();
      for (size_t e = 0; e < out_elems; ++e) {
        S want{};
        switch (c.coll) {
          case DeviceColl::kAllReduce: {
            // Chunk q of the ring starts at position q.
            int q = 0;
            while (q + 1 < n &&
                   proto::DirectSplit(c.count, n, q + 1, proto::DirectUnit<S>()).begin <= e)
              ++q;
            want = Folded<F, Op>(job, q, divisor, [&](int rr) { return value(rr, e, k); });
            break;
          }
          case DeviceColl::kReduceScatter: {
            // Block r starts at the position after r's.
            const int q = (job.pos[static_cast<size_t>(r)] + 1) % n;
            want = Folded<F, Op>(job, q, divisor, [&](int rr) {
              return value(rr, static_cast<size_t>(r) * c.count + e, k);
            });
            break;
          }
          case DeviceColl::kAllGather:
            want = value(static_cast<int>(e / c.count), e % c.count, k);
            break;
          case DeviceColl::kBroadcast:
            want = value(c.root, e, k);
            break;
          case DeviceColl::kReduce:
            if (r != c.root) continue;
            want = Folded<F, Op>(job, job.pos[static_cast<size_t>(c.root)] + 1, divisor,
                                 [&](int rr) { return value(rr, e, k); });
            break;
        }
        if (n == 1 && Reduces(c.coll) && divisor == 0) want = value(0, e, k);
        ASSERT_EQ(0, std::memcmp(&want, &got[e], sizeof(S)))
            << "call " << k << " coll " << static_cast<int>(c.coll) << " rank " << r << " element "
            << e << " of " << out_elems;
      }
    }
  }
  for (auto& p : job.proxies)
    messages += p->messages_sent();
  uint64_t received = 0;
  for (auto& p : job.proxies)
    received += p->messages_received();
  EXPECT_EQ(messages, received);  // every message moved arrived, none left over
  EXPECT_EQ(job.fabric.UnexpectedMessages(), 0u);
}

std::vector<Call> EveryCollective(int n, size_t count, bool in_place) {
  std::vector<Call> calls;
  for (DeviceColl c : {DeviceColl::kAllReduce, DeviceColl::kReduceScatter, DeviceColl::kAllGather})
    calls.push_back({c, count, 0, in_place});
  for (int root = 0; root < n; ++root) {
    calls.push_back({DeviceColl::kBroadcast, count, root, in_place});
    calls.push_back({DeviceColl::kReduce, count, root, in_place});
  }
  return calls;
}

TEST(NetRingProtocol, EveryCollectiveOnOneToEightRanks) {
  for (int n : {1, 2, 3, 5, 8})
    for (size_t count : {size_t{1}, size_t{33}, size_t{100}, size_t{1000}}) {
      SCOPED_TRACE(testing::Message() << n << " ranks, count " << count);
      Shape s;
      s.nranks = n;
      RunAndCheck<Native<float>, SumOp>(s, EveryCollective(n, count, false));
      RunAndCheck<Native<int32_t>, SumOp>(s, EveryCollective(n, count, true));
    }
}

TEST(NetRingProtocol, ChannelsSlotsAndARingOutOfRankOrder) {
  struct Fifos {
    int channels, nslots;
    size_t slot_bytes;
  };
  // The fewest slots (2) with the smallest (one split unit) and with pieces that cross
  // chunks unevenly; deep FIFOs; one channel to three.
  for (const Fifos f : {Fifos{1, 2, 128}, Fifos{3, 2, 128}, Fifos{2, 3, 320}, Fifos{3, 8, 4096},
                        Fifos{1, 8, 320}}) {
    SCOPED_TRACE(testing::Message()
                 << f.channels << " channels, " << f.nslots << " slots of " << f.slot_bytes);
    Shape s;
    s.nranks = 4;
    s.channels = f.channels;
    s.nslots = f.nslots;
    s.slot_bytes = f.slot_bytes;
    s.ring = {2, 0, 3, 1};
    RunAndCheck<Native<double>, SumOp>(s, EveryCollective(4, 5000, false));
    RunAndCheck<Native<int64_t>, MaxOp>(s, EveryCollective(4, 77, true));
  }
}

TEST(NetRingProtocol, EveryWidthAndOp) {
  Shape s;
  s.nranks = 3;
  s.channels = 2;
  s.ring = {1, 2, 0};
  const auto calls = EveryCollective(3, 517, false);
  RunAndCheck<Native<int8_t>, ProdOp>(s, calls);
  RunAndCheck<Native<uint8_t>, MinOp>(s, calls);
  RunAndCheck<HostHalf, SumOp>(s, calls);
  RunAndCheck<HostBf16, MaxOp>(s, calls);
  RunAndCheck<HostE4m3, SumOp>(s, calls);
  RunAndCheck<HostE5m2, MinOp>(s, calls);
  RunAndCheck<Native<uint64_t>, ProdOp>(s, calls);
  RunAndCheck<Native<float>, SumOp>(s, calls, /*divisor=*/3);  // weftAvg
  RunAndCheck<Native<int32_t>, SumOp>(s, calls, /*divisor=*/3);
}

TEST(NetRingProtocol, EmptyCallsMoveNothing) {
  Shape s;
  s.nranks = 3;
  Job job(s);
  std::vector<proto::NetRingArgs> args;
  for (int r = 0; r < 3; ++r)
    args.push_back(job.Args(r, Call{DeviceColl::kAllReduce, 0, 0, false}, nullptr, nullptr));
  for (const Status& st : job.Run<Native<float>, SumOp>(args))
    EXPECT_TRUE(st.ok()) << st.message();
  for (auto& p : job.proxies)
    EXPECT_EQ(p->messages_sent(), 0u);
}

TEST(NetRingProtocol, ARankThatNeverRunsIsNamedByItsNeighbours) {
  Shape s;
  s.nranks = 4;
  Job job(s);
  std::vector<std::vector<float>> in(4, std::vector<float>(4096, 1.0f)), out = in;
  std::vector<proto::NetRingArgs> args;
  for (int r = 0; r < 4; ++r) {
    args.push_back(job.Args(r, Call{DeviceColl::kAllReduce, 4096, 0, false},
                            in[static_cast<size_t>(r)].data(), out[static_cast<size_t>(r)].data()));
    args.back().limits.timeout_ns = 300'000'000ull;
  }
  const std::vector<Status> st = job.Run<Native<float>, SumOp>(args, /*absent=*/2);
  // Rank 3 waits for data from 2; rank 1 for 2 to free a slot (its sends fill the FIFOs).
  EXPECT_EQ(st[3].code(), weftTimeout);
  EXPECT_NE(st[3].message().find("rank 2"), std::string::npos) << st[3].message();
  EXPECT_EQ(job.proxies[3]->StuckPeer(), 2);
  for (int r : {0, 1})
    EXPECT_FALSE(st[static_cast<size_t>(r)].ok()) << "rank " << r;
}

TEST(NetRingProtocol, AnAbortEndsEveryWait) {
  Shape s;
  s.nranks = 3;
  Job job(s);
  std::vector<std::vector<float>> in(3, std::vector<float>(1 << 16, 1.0f)), out = in;
  std::vector<proto::NetRingArgs> args;
  for (int r = 0; r < 3; ++r)
    args.push_back(job.Args(r, Call{DeviceColl::kAllReduce, 1 << 16, 0, false},
                            in[static_cast<size_t>(r)].data(), out[static_cast<size_t>(r)].data()));
  // Rank 0 never runs, so the others wait; the abort ends them long before the timeout.
  const std::vector<Status> st =
      job.Run<Native<float>, SumOp>(args, /*absent=*/0, /*abort_midway=*/true);
  for (int r : {1, 2}) {
    EXPECT_EQ(st[static_cast<size_t>(r)].code(), weftRemoteError)
        << st[static_cast<size_t>(r)].message();
    EXPECT_NE(st[static_cast<size_t>(r)].message().find("aborted"), std::string::npos);
  }
}

TEST(NetRingProtocol, BadShapesAreRefused) {
  LoopbackFabric fabric(2);
  std::unique_ptr<NetProxy> p;
  NetProxyOptions o;
  o.ring = {0, 1};
  o.shape.nslots = 1;
  EXPECT_EQ(NetProxy::Create(fabric.transport(0), o, &p).code(), weftInvalidArgument);
  o.shape.nslots = 2;
  o.shape.slot_bytes = 64;
  EXPECT_EQ(NetProxy::Create(fabric.transport(0), o, &p).code(), weftInvalidArgument);
  o.shape.slot_bytes = 4096;
  o.channels = 17;
  EXPECT_EQ(NetProxy::Create(fabric.transport(0), o, &p).code(), weftInvalidArgument);
  o.channels = 2;
  o.first_tag_channel = 62;
  EXPECT_EQ(NetProxy::Create(fabric.transport(0), o, &p).code(), weftInvalidArgument);
  o.first_tag_channel = 0;
  o.ring = {1, 2};  // rank 0 is not on it
  EXPECT_EQ(NetProxy::Create(fabric.transport(0), o, &p).code(), weftInvalidArgument);
}

}  // namespace
}  // namespace weft
