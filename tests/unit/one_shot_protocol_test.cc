// The device one-shot LL all-reduce (collectives/device/proto/) run by CPU threads standing
// in for the kernels, one thread per rank over one shared heap: every (type, op), 1-8 ranks,
// in and out of place, sizes that vary from call to call, epochs across the 32-bit wrap;
// results bit-exact against the rank-order reduction; waits that end on abort and timeout.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "collectives/device/proto/one_shot.h"
#include "collectives/reduce/host_formats.h"

namespace weft::proto {
namespace {

// One job's memory: every rank's scratch (visible to all, as peer-mapped memory is) and
// epoch (its own device memory).
struct Job {
  Job(int nranks, size_t lines) : lines(lines), epochs(static_cast<size_t>(nranks), 0) {
    for (int r = 0; r < nranks; ++r)
      scratch_store.emplace_back(2 * static_cast<size_t>(nranks) * lines);  // zeroed
    for (auto& s : scratch_store)
      scratch.push_back(s.data());
  }
  // Rank `rank`'s arguments for a call on this job's memory (the rest left at their defaults).
  OneShotArgs Args(int rank, const void* input, void* output, size_t count) {
    OneShotArgs a;
    a.rank = rank;
    a.nranks = static_cast<int>(epochs.size());
    a.input = input;
    a.output = output;
    a.count = count;
    a.scratch = scratch.data();
    a.lines = lines;
    a.epoch = &epochs[static_cast<size_t>(rank)];
    return a;
  }
  size_t lines;
  std::vector<std::vector<LlLine>> scratch_store;
  std::vector<LlLine*> scratch;
  std::vector<uint32_t> epochs;
};

template <typename T>
T Value(int rank, size_t i, int call) {
  // Small values keep products of 8 ranks away from float rounding ties but still wrap the
  // narrow integers; negative values exercise max and min.
  const int v = static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13 + call * 5) % 11) - 3;
  return static_cast<T>(v == 0 ? 1 : v);
}

// Runs `calls` all-reduces of counts[c] elements on n CPU-thread ranks and checks every
// rank's output bit for bit against the reduction in rank order. `polling`: each rank gives
// up after one look and calls again with its cursor, as the host's plan runner does.
// F: the format (Native<T>, or one of the host's converting formats, T its storage);
// `divisor`: weftAvg's, the reference divides the rounded result as the host's Divide does.
template <typename T, typename Op, typename F = Native<T>>
void RunAndCheck(int n, const std::vector<size_t>& counts, bool in_place, uint32_t first_epoch = 0,
                 bool polling = false, int divisor = 0) {
  size_t max_count = 0;
  for (size_t c : counts)
    max_count = std::max(max_count, c);
  Job job(n, OneShotLines(max_count * sizeof(T)));
  for (auto& e : job.epochs)
    e = first_epoch;
  std::vector<std::vector<T>> inputs(static_cast<size_t>(n)), outputs(static_cast<size_t>(n));
  for (size_t call = 0; call < counts.size(); ++call) {
    const size_t count = counts[call];
    for (int r = 0; r < n; ++r) {
      auto& in = inputs[static_cast<size_t>(r)];
      in.resize(count);
      for (size_t i = 0; i < count; ++i)
        in[i] =
            F::Store(static_cast<typename F::Compute>(Value<int>(r, i, static_cast<int>(call))));
      outputs[static_cast<size_t>(r)].assign(count, T{});
    }
    std::vector<T> expect(count);
    for (size_t i = 0; i < count; ++i) {
      auto acc = F::Load(inputs[0][i]);
      for (int r = 1; r < n; ++r)
        acc = Op::Apply(acc, F::Load(inputs[static_cast<size_t>(r)][i]));
      expect[i] = F::Store(acc);
      if (divisor > 0)
        expect[i] = F::Store(F::Load(expect[i]) / static_cast<typename F::Compute>(divisor));
    }
    // A call of zero bytes is not made (the protocol's rule: every call has a line).
    if (count == 0) continue;
    std::vector<WaitResult> results(static_cast<size_t>(n), WaitResult::kTimedOut);
    std::vector<std::thread> ranks;
    for (int r = 0; r < n; ++r) {
      ranks.emplace_back([&, r] {
        const auto ru = static_cast<size_t>(r);
        OneShotArgs a =
            job.Args(r, inputs[ru].data(),
                     in_place ? static_cast<void*>(inputs[ru].data()) : outputs[ru].data(), count);
        a.divisor = divisor;
        a.limits.timeout_ns = 60'000'000'000ull;  // a hang fails, never blocks
        OneShotCursor cursor;
        if (polling) {
          a.limits.max_looks = 1;
          a.cursor = &cursor;
        }
        WaitResult w;
        while ((w = OneShot<F, Op>(a, 0, 1)) == WaitResult::kNotYet) {
          std::this_thread::yield();
        }
        results[ru] = w;
        ++job.epochs[ru];  // what the kernel's last thread does
      });
    }
    for (auto& t : ranks)
      t.join();
    for (int r = 0; r < n; ++r) {
      const auto ru = static_cast<size_t>(r);
      ASSERT_EQ(WaitResult::kReady, results[ru]) << "rank " << r << " call " << call;
      const std::vector<T>& got = in_place ? inputs[ru] : outputs[ru];
      // (memcmp of empty vectors: their data() may be null, which memcmp must not get)
      ASSERT_TRUE(count == 0 || std::memcmp(expect.data(), got.data(), count * sizeof(T)) == 0)
          << "rank " << r << " of " << n << ", call " << call << ", count " << count;
    }
  }
}

// Sizes that grow and shrink, so that lines written by a longer earlier call sit beside the
// ones a call reads (they carry an older flag and must not pass); an empty call among them.
const std::vector<size_t> kCounts = {1, 3, 64, 7, 1000, 0, 2, 999, 16, 1};

// All-gather, reduce-scatter, broadcast and reduce on n CPU-thread ranks, calls of the
// sizes above one after another on one scratch (each rooted call from another root), in and
// out of place in NCCL's layouts; every rank's output bit for bit against the reference.
template <typename T>
void RunCollAndCheck(OneShotColl coll, int n, bool in_place) {
  const size_t max_count = 1000;
  Job job(n, OneShotLines(max_count * sizeof(T)));
  const auto nu = static_cast<size_t>(n);
  for (size_t call = 0; call < kCounts.size(); ++call) {
    const size_t count = kCounts[call];
    if (count == 0) continue;
    const int root = static_cast<int>(call % nu);
    const size_t in_count = coll == OneShotColl::kReduceScatter ? nu * count : count;
    const size_t out_count = coll == OneShotColl::kAllGather ? nu * count : count;
    std::vector<std::vector<T>> in(nu), out(nu);
    for (size_t r = 0; r < nu; ++r) {
      in[r].resize(in_count);
      for (size_t i = 0; i < in_count; ++i)
        in[r][i] = Value<T>(static_cast<int>(r), i, static_cast<int>(call));
      out[r].assign(out_count, T{7});
    }
    // The reference, and the buffers as NCCL's in-place layouts have them.
    std::vector<std::vector<T>> expect(nu, std::vector<T>(out_count));
    for (size_t r = 0; r < nu; ++r) {
      for (size_t i = 0; i < out_count; ++i) {
        T v{};
        switch (coll) {
          case OneShotColl::kAllGather:
            v = in[i / count][i % count];
            break;
          case OneShotColl::kReduceScatter:
          case OneShotColl::kReduce:
            v = in[0][(coll == OneShotColl::kReduceScatter ? r * count : 0) + i];
            for (size_t q = 1; q < nu; ++q)
              v = SumOp::Apply(v, in[q][(coll == OneShotColl::kReduceScatter ? r * count : 0) + i]);
            if (coll == OneShotColl::kReduce && static_cast<int>(r) != root) v = T{7};  // untouched
            break;
          default:  // broadcast
            v = in[static_cast<size_t>(root)][i];
        }
        expect[r][i] = v;
      }
    }
    std::vector<const void*> send(nu);
    std::vector<void*> recv(nu);
    for (size_t r = 0; r < nu; ++r) {
      send[r] = in[r].data();
      recv[r] = out[r].data();
      if (!in_place) continue;
      if (coll == OneShotColl::kAllGather) {
        std::copy(in[r].begin(), in[r].end(), out[r].begin() + static_cast<long>(r * count));
        send[r] = out[r].data() + r * count;
      } else if (coll == OneShotColl::kReduceScatter) {
        recv[r] = in[r].data() + r * count;
      } else {
        out[r] = in[r];
        out[r].resize(out_count);
        send[r] = out[r].data();
      }
    }
    std::vector<WaitResult> results(nu, WaitResult::kTimedOut);
    std::vector<std::thread> ranks;
    for (int r = 0; r < n; ++r) {
      ranks.emplace_back([&, r] {
        const auto ru = static_cast<size_t>(r);
        OneShotArgs a = job.Args(r, send[ru], recv[ru], count);
        a.coll = coll;
        a.root = root;
        a.limits.timeout_ns = 60'000'000'000ull;
        results[ru] = OneShot<Native<T>, SumOp>(a, 0, 1);
        ++job.epochs[ru];
      });
    }
    for (auto& t : ranks)
      t.join();
    for (size_t r = 0; r < nu; ++r) {
      ASSERT_EQ(WaitResult::kReady, results[r]) << "rank " << r << " call " << call;
      const T* got = in_place && coll == OneShotColl::kReduceScatter ? in[r].data() + r * count
                                                                     : out[r].data();
      if (in_place && coll == OneShotColl::kReduce && static_cast<int>(r) != root) continue;
      ASSERT_EQ(0, std::memcmp(expect[r].data(), got, out_count * sizeof(T)))
          << "coll " << static_cast<int>(coll) << ", rank " << r << " of " << n << ", call " << call
          << ", count " << count << (in_place ? ", in place" : "");
    }
  }
}

// A random mix of all five collectives and roots on one scratch, with ranks that lag at
// random: no call may overwrite a line its reader has not read (which shows as a wait that
// never ends: the reader sees a later epoch's flag), and every all-reduce is exact.
TEST(OneShotProtocolCollectives, MixedSequenceWithLaggingRanks) {
  for (int n : {3, 4, 5}) {
    constexpr int kCalls = 1500;
    constexpr size_t kMax = 40;
    std::mt19937 plan_rng(static_cast<unsigned>(n));
    struct Call {
      OneShotColl coll;
      int root;
      size_t count;
    };
    std::vector<Call> calls(kCalls);
    for (Call& c : calls)
      c = {static_cast<OneShotColl>(plan_rng() % 5), static_cast<int>(plan_rng() % n),
           1 + plan_rng() % kMax};
    Job job(n, OneShotLines(kMax * sizeof(int32_t)));
    std::vector<int> failures(static_cast<size_t>(n), 0);
    std::vector<std::thread> ranks;
    for (int r = 0; r < n; ++r) {
      ranks.emplace_back([&, r] {
        std::mt19937 lag(static_cast<unsigned>(1000 + r));
        std::vector<int32_t> in(kMax * static_cast<size_t>(n)), out(in.size());
        for (int k = 0; k < kCalls; ++k) {
          const Call& c = calls[static_cast<size_t>(k)];
          for (size_t i = 0; i < in.size(); ++i)
            in[i] = Value<int32_t>(r, i, k);
          for (unsigned y = lag() % 4; y > 0; --y)
            std::this_thread::yield();
          OneShotArgs a = job.Args(r, in.data(), out.data(), c.count);
          a.coll = c.coll;
          a.root = c.root;
          a.limits.timeout_ns = 10'000'000'000ull;
          if (OneShot<Native<int32_t>, SumOp>(a, 0, 1) != WaitResult::kReady) {
            ++failures[static_cast<size_t>(r)];
            return;
          }
          ++job.epochs[static_cast<size_t>(r)];
          if (c.coll != OneShotColl::kAllReduce) continue;
          for (size_t i = 0; i < c.count; ++i) {
            int32_t expect = 0;
            for (int q = 0; q < n; ++q)
              expect += Value<int32_t>(q, i, k);
            if (out[i] != expect) ++failures[static_cast<size_t>(r)];
          }
        }
      });
    }
    for (auto& t : ranks)
      t.join();
    for (int r = 0; r < n; ++r)
      EXPECT_EQ(0, failures[static_cast<size_t>(r)]) << "rank " << r << " of " << n;
  }
}

TEST(OneShotProtocolCollectives, AllGatherReduceScatterBroadcastReduce) {
  for (int n : {1, 2, 3, 5, 8}) {
    for (OneShotColl coll : {OneShotColl::kAllGather, OneShotColl::kReduceScatter,
                             OneShotColl::kBroadcast, OneShotColl::kReduce}) {
      for (bool in_place : {false, true}) {
        RunCollAndCheck<int32_t>(coll, n, in_place);
        RunCollAndCheck<uint8_t>(coll, n, in_place);
        RunCollAndCheck<double>(coll, n, in_place);
      }
    }
  }
}

// Back-to-back broadcasts from one root, and reduces to one root: the rank that only sends
// (the broadcast's root, a reduce's leaves) must not overwrite a slot its peer has not read
// (the tokens hold it back); many rounds so a missing token would show as a wrong value.
TEST(OneShotProtocolCollectives, RepeatedRootedCallsWaitForTheReaders) {
  for (OneShotColl coll : {OneShotColl::kBroadcast, OneShotColl::kReduce}) {
    const int n = 4;
    Job job(n, 4);
    std::vector<std::vector<int32_t>> in(n, std::vector<int32_t>(8)), out = in;
    std::vector<int> bad(n, 0);
    std::vector<std::thread> ranks;
    for (int r = 0; r < n; ++r) {
      ranks.emplace_back([&, r] {
        for (int round = 0; round < 2000; ++round) {
          for (size_t i = 0; i < 8; ++i)
            in[r][i] = round * 100 + r + static_cast<int>(i);
          OneShotArgs a = job.Args(r, in[r].data(), out[r].data(), 8);
          a.coll = coll;
          a.root = 0;
          a.limits.timeout_ns = 60'000'000'000ull;
          if (OneShot<Native<int32_t>, SumOp>(a, 0, 1) != WaitResult::kReady) {
            ++bad[r];
            return;
          }
          ++job.epochs[static_cast<size_t>(r)];
          for (size_t i = 0; i < 8; ++i) {
            const int expect = coll == OneShotColl::kBroadcast
                                   ? round * 100 + static_cast<int>(i)
                                   : n * (round * 100 + static_cast<int>(i)) + (n * (n - 1)) / 2;
            if ((coll == OneShotColl::kBroadcast || r == 0) && out[r][i] != expect) ++bad[r];
          }
        }
      });
    }
    for (auto& t : ranks)
      t.join();
    for (int r = 0; r < n; ++r)
      EXPECT_EQ(0, bad[r]) << "rank " << r << ", coll " << static_cast<int>(coll);
  }
}

template <typename T>
void EveryOp(int n, bool in_place) {
  RunAndCheck<T, SumOp>(n, kCounts, in_place);
  RunAndCheck<T, ProdOp>(n, kCounts, in_place);
  RunAndCheck<T, MaxOp>(n, kCounts, in_place);
  RunAndCheck<T, MinOp>(n, kCounts, in_place);
}

class OneShotProtocol : public ::testing::TestWithParam<int> {};

TEST_P(OneShotProtocol, EveryTypeAndOpIsExactInAndOutOfPlace) {
  const int n = GetParam();
  for (bool in_place : {false, true}) {
    EveryOp<int8_t>(n, in_place);
    EveryOp<uint8_t>(n, in_place);
    EveryOp<int32_t>(n, in_place);
    EveryOp<uint32_t>(n, in_place);
    EveryOp<int64_t>(n, in_place);
    EveryOp<uint64_t>(n, in_place);
    EveryOp<float>(n, in_place);
    EveryOp<double>(n, in_place);
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, OneShotProtocol, ::testing::Range(1, 9));

// fp16, bf16 and fp8 in float32, rounded once after the last rank's input (the host's formats;
// the kernel's round alike), and weftAvg's division, integers truncating.
TEST(OneShotProtocolFormats, NarrowFloatsAndAverage) {
  for (int n : {1, 2, 3, 8}) {
    for (bool in_place : {false, true}) {
      RunAndCheck<uint16_t, SumOp, HostHalf>(n, kCounts, in_place);
      RunAndCheck<uint16_t, MaxOp, HostBf16>(n, kCounts, in_place);
      RunAndCheck<uint16_t, ProdOp, HostBf16>(n, kCounts, in_place);
      RunAndCheck<uint8_t, SumOp, HostE4m3>(n, kCounts, in_place);
      RunAndCheck<uint8_t, MinOp, HostE5m2>(n, kCounts, in_place);
      RunAndCheck<float, SumOp>(n, kCounts, in_place, 0, false, n);
      RunAndCheck<int32_t, SumOp>(n, kCounts, in_place, 0, true, n);
      RunAndCheck<uint16_t, SumOp, HostBf16>(n, kCounts, in_place, 0, false, n);
    }
  }
}

// The host's way: a rank that finds a line missing returns and resumes from its cursor
// (in place too: a resumed line rereads its input, not yet overwritten).
TEST(OneShotProtocolPolling, ResumedCallsAreExact) {
  for (int n : {2, 3, 5, 8}) {
    for (bool in_place : {false, true}) {
      RunAndCheck<int32_t, SumOp>(n, kCounts, in_place, 0, true);
      RunAndCheck<float, MaxOp>(n, kCounts, in_place, 0, true);
      RunAndCheck<uint8_t, ProdOp>(n, kCounts, in_place, 0xfffffffeu, true);
    }
  }
}

// A poll that finds the peer's line missing says which rank it waits for and leaves the
// output as it was.
TEST(OneShotProtocolPolling, APollNamesTheRankItWaitsFor) {
  Job job(3, 4);
  std::vector<int32_t> in = {1, 2, 3}, out(3, -7);
  OneShotArgs a = job.Args(1, in.data(), out.data(), in.size());
  a.limits.max_looks = 4;
  OneShotCursor cursor;
  a.cursor = &cursor;
  EXPECT_EQ(WaitResult::kNotYet, (OneShot<Native<int32_t>, SumOp>(a, 0, 1)));
  EXPECT_EQ(0, cursor.waiting_for);
  EXPECT_EQ(OneShotLines(in.size() * sizeof(int32_t)), cursor.stored);
  EXPECT_EQ(0u, cursor.reduced);
  EXPECT_EQ((std::vector<int32_t>{-7, -7, -7}), out);
}

// Across the 32-bit epoch wrap: flags skip 0 (never-written memory) and stay distinct for
// the two uses of a parity, so scratch never written and scratch two epochs old both fail
// to pass for the current call.
// The first long call comes at epoch 0xffffffff: most of its lines were never written.
TEST(OneShotProtocolEpochs, WrapAroundIsExact) {
  const std::vector<size_t> counts = {1, 1, 1, 300, 300, 5, 300, 2, 1000};
  RunAndCheck<int32_t, SumOp>(4, counts, false, 0xfffffffcu);
  RunAndCheck<float, SumOp>(3, counts, true, 0xfffffffcu);
  RunAndCheck<int64_t, MaxOp>(2, counts, false, 0xfffffffcu);
}

// (Adjacent epochs use the other parity's slots: their flags may match, at the wrap.)
TEST(OneShotProtocolEpochs, FlagsSkipZeroAndDifferTwoEpochsApart) {
  for (uint32_t e : {0u, 1u, 0xfffffffdu, 0xfffffffeu, 0xffffffffu}) {
    EXPECT_NE(0u, LlFlag(e)) << e;
    EXPECT_NE(LlFlag(e), LlFlag(e + 2)) << e;
  }
}

// A rank whose peer never arrives: its wait ends when the abort flag is raised (looked at
// before the first spin) or at its timeout, and the output is left as it was.
WaitResult LonelyRank(const WaitLimits& limits, std::vector<int32_t>* out, uint32_t epoch = 0,
                      uint32_t* stuck_source = nullptr) {
  Job job(2, 4);
  job.epochs[0] = epoch;
  std::vector<int32_t> in = {1, 2, 3};
  out->assign(3, -7);
  OneShotArgs a = job.Args(0, in.data(), out->data(), in.size());
  a.limits = limits;
  a.stuck_source = stuck_source;
  return OneShot<Native<int32_t>, SumOp>(a, 0, 1);
}

TEST(OneShotProtocolWaits, AnAbortEndsTheWaitAndLeavesTheOutput) {
  uint32_t abort_flag = 1;
  WaitLimits limits;
  limits.abort_flag = &abort_flag;
  std::vector<int32_t> out;
  EXPECT_EQ(WaitResult::kAborted, LonelyRank(limits, &out));
  EXPECT_EQ((std::vector<int32_t>{-7, -7, -7}), out);
}

TEST(OneShotProtocolWaits, AnAbortRaisedWhileWaitingIsSeen) {
  uint32_t abort_flag = 0;
  WaitLimits limits;
  limits.abort_flag = &abort_flag;
  limits.timeout_ns = 60'000'000'000ull;
  std::vector<int32_t> out;
  WaitResult result = WaitResult::kReady;
  std::thread waiter([&] { result = LonelyRank(limits, &out); });
  StoreRelease(&abort_flag, 1);  // whenever the waiter looks next, it sees it
  waiter.join();
  EXPECT_EQ(WaitResult::kAborted, result);
}

TEST(OneShotProtocolWaits, ATimeoutEndsTheWait) {
  WaitLimits limits;
  limits.timeout_ns = 20'000'000ull;  // 20 ms
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> out;
  EXPECT_EQ(WaitResult::kTimedOut, LonelyRank(limits, &out));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ((std::vector<int32_t>{-7, -7, -7}), out);
}

// A wait that gives up records whom it waited for (rank 1, as 2), for the error to name;
// on the GPU, the one of many threads that stores last.
TEST(OneShotProtocolWaits, AWaitThatGivesUpNamesThePeer) {
  for (int threads : {1, 4}) {
    WaitLimits limits;
    limits.timeout_ns = 1'000'000ull;  // 1 ms
    std::vector<int32_t> in(20, 1), out(20, -7);
    Job job(2, OneShotLines(in.size() * sizeof(int32_t)));
    uint32_t stuck = 0;
    std::vector<std::thread> team;
    for (int t = 0; t < threads; ++t) {
      team.emplace_back([&, t] {
        OneShotArgs a = job.Args(0, in.data(), out.data(), in.size());
        a.limits = limits;
        a.stuck_source = &stuck;
        EXPECT_EQ(WaitResult::kTimedOut,
                  (OneShot<Native<int32_t>, SumOp>(a, static_cast<uint32_t>(t),
                                                   static_cast<uint32_t>(threads))));
      });
    }
    for (auto& t : team)
      t.join();
    EXPECT_EQ(2u, LoadAcquire(&stuck)) << threads << " threads";
  }
}

// Scratch never written (zeros) never passes for a peer's line, at any epoch, the wrap's
// included: the lonely rank waits until its timeout.
TEST(OneShotProtocolWaits, MemoryNeverWrittenIsNotAPeersLine) {
  for (uint32_t epoch : {0u, 1u, 0xfffffffeu, 0xffffffffu}) {
    WaitLimits limits;
    limits.timeout_ns = 2'000'000ull;  // 2 ms
    std::vector<int32_t> out;
    EXPECT_EQ(WaitResult::kTimedOut, LonelyRank(limits, &out, epoch)) << "epoch " << epoch;
  }
}

}  // namespace
}  // namespace weft::proto
