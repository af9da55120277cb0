// The direct device collectives for large messages (collectives/device/proto/direct.h) run by
// CPU threads standing in for the kernels' blocks, one thread per (rank, channel) over one
// shared heap: every collective, 1-8 ranks, 1-5 channels, every root, in and out of place,
// sizes that do and do not fill the 128-byte units, unaligned buffers; each thread runs the
// whole sequence of calls without waiting for the others between calls, so ranks run ahead
// and lag as the GPU's blocks may; results bit-exact against a reference reduced in rank
// order; waits that end on abort and timeout naming the peer.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "collectives/device/proto/direct.h"
#include "collectives/device/proto/direct_staged.h"
#include "collectives/device/registration_cache.h"
#include "collectives/reduce/host_formats.h"
#include "collectives/reduce/native_format.h"

namespace weft::proto {
namespace {

struct Call {
  DeviceColl coll = DeviceColl::kAllReduce;
  size_t count = 0;  // the C API's
  int root = 0;
  bool in_place = false;
};

// One job's memory: every rank's boards (visible to all, as peer-mapped memory is) and
// epochs (its own device memory).
struct Job {
  // staging_bytes > 0: ranks in several processes (direct_staged.h), each with that much
  // staging per channel.
  Job(int nranks, int channels, size_t staging_bytes = 0)
      : nranks(nranks),
        channels(channels),
        staging_bytes(staging_bytes),
        store(static_cast<size_t>(nranks) * kDirectMaxChannels),
        epochs(static_cast<size_t>(nranks) * kDirectMaxChannels, 0) {
    std::memset(static_cast<void*>(store.data()), 0, store.size() * sizeof(DirectBoard));
    for (int r = 0; r < nranks; ++r)
      boards.push_back(store.data() + static_cast<size_t>(r) * kDirectMaxChannels);
    if (staging_bytes > 0) {
      // Poisoned, so a window read before it is staged shows.
      staging_store.assign(static_cast<size_t>(nranks) * channels * staging_bytes, 0xa5);
      for (int r = 0; r < nranks; ++r)
        staging.push_back(staging_store.data() +
                          static_cast<size_t>(r) * static_cast<size_t>(channels) * staging_bytes);
    }
  }
  template <typename F, typename Op>
  WaitResult Run(const DirectArgs& a, int channel) {
    uint32_t shared = 0;
    return staging_bytes > 0 ? DirectStaged<F, Op>(a, channel, 0, 1, &shared)
                             : Direct<F, Op>(a, channel, 0, 1, &shared);
  }
  DirectArgs Args(int rank, const Call& c, const void* input, void* output) {
    DirectArgs a;
    a.coll = c.coll;
    a.root = c.root;
    a.rank = rank;
    a.nranks = nranks;
    a.input = input;
    a.output = output;
    a.count = c.count;
    a.boards = boards.data();
    a.channels = channels;
    a.epochs = &epochs[static_cast<size_t>(rank) * kDirectMaxChannels];
    a.limits.timeout_ns = 60'000'000'000ull;  // a hang fails, never blocks
    if (staging_bytes > 0) {
      a.staging = staging.data();
      a.staging_bytes = staging_bytes;
    }
    return a;
  }
  int nranks, channels;
  size_t staging_bytes;
  std::vector<unsigned char> staging_store;
  std::vector<void*> staging;
  std::vector<DirectBoard> store;
  std::vector<DirectBoard*> boards;
  std::vector<uint64_t> epochs;
};

bool Reduces(DeviceColl c) {
  return c == DeviceColl::kAllReduce || c == DeviceColl::kReduceScatter || c == DeviceColl::kReduce;
}

// One rank's buffers for one call, in NCCL's layouts, with `skew` elements in front so that
// buffers need not be 16-byte aligned.
template <typename T>
struct RankBuffers {
  std::vector<T> in, out;
  const T* input = nullptr;
  T* output = nullptr;
  size_t out_elems = 0;
};

template <typename T>
T Value(int rank, size_t i, size_t call) {
  // Small values keep products of 8 ranks away from float rounding ties but still wrap the
  // narrow integers; negative values exercise max and min.
  const int v = static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13 + call * 5) % 11) - 3;
  return static_cast<T>(v == 0 ? 1 : v);
}

// Runs `calls` on n ranks of `channels` channels each and checks every rank's output bit for
// bit. `lag`: threads yield at random points between calls. `staging` > 0: the ranks are
// processes (direct_staged.h) with that much staging per channel, whose buffers lie in
// registered windows as `windows` says.
enum class Windows { kNone, kAll, kMixed };
// Mixed: even ranks' inputs, and the outputs of ranks r % 3 != 1, are in windows.
bool InputWindowed(Windows w, int r) {
  return w == Windows::kAll || (w == Windows::kMixed && r % 2 == 0);
}
bool OutputWindowed(Windows w, int r) {
  return w == Windows::kAll || (w == Windows::kMixed && r % 3 != 1);
}

template <typename T, typename Op, typename F = Native<T>>
void RunAndCheck(int n, int channels, const std::vector<Call>& calls, size_t skew = 0,
                 int divisor = 0, bool lag = false, size_t staging = 0,
                 Windows windows = Windows::kNone) {
  const auto nu = static_cast<size_t>(n);
  Job job(n, channels, staging);
  auto value = [](int r, size_t i, size_t call) {
    return F::Store(static_cast<typename F::Compute>(Value<int>(r, i, call)));
  };
  // Every call's buffers, made before any thread starts.
  std::vector<std::vector<RankBuffers<T>>> bufs(calls.size(), std::vector<RankBuffers<T>>(nu));
  for (size_t k = 0; k < calls.size(); ++k) {
    const Call& c = calls[k];
    const size_t in_elems = c.coll == DeviceColl::kReduceScatter ? nu * c.count : c.count;
    const size_t out_elems = c.coll == DeviceColl::kAllGather ? nu * c.count : c.count;
    for (int r = 0; r < n; ++r) {
      RankBuffers<T>& b = bufs[k][static_cast<size_t>(r)];
      b.out_elems = out_elems;
      b.in.assign(skew + in_elems, T{});
      b.out.assign(skew + out_elems, F::Store(static_cast<typename F::Compute>(42)));
      for (size_t i = 0; i < in_elems; ++i)
        b.in[skew + i] = value(r, i, k);
      if (!c.in_place) {
        b.input = b.in.data() + skew;
        b.output = b.out.data() + skew;
      } else if (c.coll == DeviceColl::kAllGather) {  // the input is block r of the output
        b.output = b.out.data() + skew;
        for (size_t i = 0; i < c.count; ++i)
          b.output[static_cast<size_t>(r) * c.count + i] = value(r, i, k);
        b.input = b.output + static_cast<size_t>(r) * c.count;
      } else if (c.coll == DeviceColl::kReduceScatter) {  // the output is block r of the input
        b.input = b.in.data() + skew;
        b.output = b.in.data() + skew + static_cast<size_t>(r) * c.count;
      } else {
        b.input = b.in.data() + skew;
        b.output = b.in.data() + skew;
      }
    }
  }
  // One window per rank from the lowest of its buffers: every buffer of every call lies in
  // it, at its distance from that base. Even ranks' in a registered window's slot (5, the
  // same for all, as registration is collective), odd ranks' in a slot of the buffer cache
  // (from kDirectMaxWindows up, each owner its own), as the two mix in a job.
  auto slot_of = [](int r) { return r % 2 == 0 ? 5 : kDirectMaxWindows + 7 + r; };
  std::vector<uint64_t> window_table(
      static_cast<size_t>(kDirectMaxWindows + kCachedWindows) * kDirectMaxRanks, 0);
  std::vector<uintptr_t> window_base(nu, UINTPTR_MAX);
  for (size_t k = 0; k < calls.size(); ++k)
    for (int r = 0; r < n; ++r) {
      const RankBuffers<T>& b = bufs[k][static_cast<size_t>(r)];
      for (const void* p :
           {static_cast<const void*>(b.in.data()), static_cast<const void*>(b.out.data())})
        window_base[static_cast<size_t>(r)] =
            std::min(window_base[static_cast<size_t>(r)], reinterpret_cast<uintptr_t>(p));
    }
  for (int r = 0; r < n; ++r)
    window_table[static_cast<size_t>(slot_of(r)) * kDirectMaxRanks + static_cast<size_t>(r)] =
        window_base[static_cast<size_t>(r)];
  auto word = [&](int r, const void* p) {
    return DirectWindowWord(slot_of(r),
                            reinterpret_cast<uintptr_t>(p) - window_base[static_cast<size_t>(r)]);
  };
  // What each rank's output must hold, from the inputs as made (before any call ran).
  std::vector<std::vector<std::vector<T>>> expect(calls.size(), std::vector<std::vector<T>>(nu));
  for (size_t k = 0; k < calls.size(); ++k) {
    const Call& c = calls[k];
    auto reduced = [&](size_t offset, size_t i) {
      auto acc = F::Load(value(0, offset + i, k));
      for (int p = 1; p < n; ++p)
        acc = Op::Apply(acc, F::Load(value(p, offset + i, k)));
      T r = F::Store(acc);
      if (divisor > 0) r = F::Store(F::Load(r) / static_cast<typename F::Compute>(divisor));
      return r;
    };
    for (int r = 0; r < n; ++r) {
      const RankBuffers<T>& b = bufs[k][static_cast<size_t>(r)];
      std::vector<T>& e = expect[k][static_cast<size_t>(r)];
      e.assign(b.output, b.output + b.out_elems);  // what is there: kept where not written
      for (size_t i = 0; i < c.count; ++i) {
        switch (c.coll) {
          case DeviceColl::kAllReduce:
            e[i] = reduced(0, i);
            break;
          case DeviceColl::kReduceScatter:
            e[i] = reduced(static_cast<size_t>(r) * c.count, i);
            break;
          case DeviceColl::kAllGather:
            for (int p = 0; p < n; ++p)
              e[static_cast<size_t>(p) * c.count + i] = value(p, i, k);
            break;
          case DeviceColl::kBroadcast:
            e[i] = value(c.root, i, k);
            break;
          case DeviceColl::kReduce:
            if (r == c.root) e[i] = reduced(0, i);
            break;
        }
      }
    }
  }
  std::vector<WaitResult> results(nu * static_cast<size_t>(channels), WaitResult::kReady);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    for (int ch = 0; ch < channels; ++ch) {
      threads.emplace_back([&, r, ch] {
        std::mt19937 rng(static_cast<uint32_t>(r * 131 + ch));
        for (size_t k = 0; k < calls.size(); ++k) {
          if (lag && rng() % 3 == 0) std::this_thread::yield();
          RankBuffers<T>& b = bufs[k][static_cast<size_t>(r)];
          DirectArgs a = job.Args(r, calls[k], b.input, b.output);
          a.divisor = Reduces(calls[k].coll) ? divisor : 0;
          if (windows != Windows::kNone) {
            a.windows = window_table.data();
            if (InputWindowed(windows, r)) a.input_window = word(r, b.input);
            if (OutputWindowed(windows, r)) a.output_window = word(r, b.output);
          }
          const WaitResult w = job.Run<F, Op>(a, ch);
          if (w != WaitResult::kReady) {
            results[static_cast<size_t>(r * channels + ch)] = w;
            return;
          }
        }
      });
    }
  }
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < results.size(); ++i)
    ASSERT_EQ(WaitResult::kReady, results[i]) << "thread " << i;
  for (size_t k = 0; k < calls.size(); ++k) {
    for (int r = 0; r < n; ++r) {
      const RankBuffers<T>& b = bufs[k][static_cast<size_t>(r)];
      const std::vector<T>& e = expect[k][static_cast<size_t>(r)];
      ASSERT_TRUE(e.empty() || std::memcmp(e.data(), b.output, e.size() * sizeof(T)) == 0)
          << "call " << k << " (coll " << static_cast<int>(calls[k].coll) << ", count "
          << calls[k].count << ", root " << calls[k].root << ", in place " << calls[k].in_place
          << ") rank " << r << " of " << n << ", " << channels << " channels";
    }
  }
  // Direct: one step per call; staged: one per round, the same on every rank.
  for (int r = 0; r < n; ++r)
    for (int ch = 0; ch < channels; ++ch)
      EXPECT_EQ(staging > 0 ? job.epochs[static_cast<size_t>(ch)] : calls.size(),
                job.epochs[static_cast<size_t>(r) * kDirectMaxChannels + static_cast<size_t>(ch)]);
}

// Every collective in a row, each rooted one from the next root, in and out of place, sizes
// below one unit, across units and channels, and not multiples of anything.
std::vector<Call> EveryCollective(int n, size_t scale) {
  std::vector<Call> calls;
  const size_t counts[] = {1, 31 * scale, 3, 1000 * scale + 7, 256 * scale};
  int root = 0;
  for (size_t count : counts) {
    for (DeviceColl coll :
         {DeviceColl::kAllReduce, DeviceColl::kAllGather, DeviceColl::kReduceScatter,
          DeviceColl::kBroadcast, DeviceColl::kReduce}) {
      for (bool in_place : {false, true}) {
        calls.push_back(Call{coll, count, root, in_place});
        root = (root + 1) % n;
      }
    }
  }
  return calls;
}

class DirectProtocol : public ::testing::TestWithParam<int> {};

TEST_P(DirectProtocol, EveryCollectiveIsExactInAndOutOfPlace) {
  const int n = GetParam();
  for (int channels : {1, 3}) {
    RunAndCheck<int32_t, SumOp>(n, channels, EveryCollective(n, 1));
    RunAndCheck<float, SumOp>(n, channels, EveryCollective(n, 1), /*skew=*/1);
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, DirectProtocol, ::testing::Range(1, 9));

// Ranks as processes: the same calls through the staging, windows from one unit per area
// (many rounds, the smallest staging allowed) to a staging larger than any call (one round).
class DirectStagedProtocol : public ::testing::TestWithParam<int> {};

TEST_P(DirectStagedProtocol, EveryCollectiveIsExactInAndOutOfPlace) {
  const int n = GetParam();
  for (int channels : {1, 3}) {
    for (size_t staging :
         {DirectStagedMinBytes(n), size_t{3} * DirectStagedMinBytes(n) + 128, size_t{1} << 16}) {
      SCOPED_TRACE(testing::Message() << channels << " channels, staging " << staging);
      RunAndCheck<int32_t, SumOp>(n, channels, EveryCollective(n, 1), 0, 0, false, staging);
      RunAndCheck<float, SumOp>(n, channels, EveryCollective(n, 1), /*skew=*/1, 0, false, staging);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, DirectStagedProtocol, ::testing::Range(1, 9));

TEST(DirectStagedProtocolTypes, EveryOpWidthAndNarrowFloat) {
  const std::vector<Call> calls = EveryCollective(4, 3);
  const size_t staging = 2 * DirectStagedMinBytes(4);
  RunAndCheck<int8_t, ProdOp>(4, 2, calls, 0, 0, false, staging);
  RunAndCheck<uint8_t, MaxOp>(4, 2, calls, 3, 0, false, staging);
  RunAndCheck<int64_t, MinOp>(4, 2, calls, 0, 0, false, staging);
  RunAndCheck<double, SumOp>(4, 2, calls, 1, 0, false, staging);
  RunAndCheck<uint16_t, SumOp, HostHalf>(4, 2, calls, 0, 0, false, staging);
  RunAndCheck<uint16_t, MaxOp, HostBf16>(4, 2, calls, 1, 0, false, staging);
  RunAndCheck<uint8_t, SumOp, HostE4m3>(4, 2, calls, 0, 0, false, staging);
  RunAndCheck<float, SumOp>(4, 2, calls, 0, /*divisor=*/4, false, staging);
  RunAndCheck<uint16_t, SumOp, HostBf16>(4, 2, calls, 1, 0, false, staging, Windows::kMixed);
  RunAndCheck<double, MaxOp>(4, 2, calls, 0, 0, false, staging, Windows::kAll);
}

TEST(DirectProtocolTypes, EveryOpAndWidthIsExact) {
  const std::vector<Call> calls = EveryCollective(4, 3);
  RunAndCheck<int8_t, ProdOp>(4, 2, calls);
  RunAndCheck<uint8_t, MaxOp>(4, 2, calls, 3);
  RunAndCheck<int64_t, MinOp>(4, 2, calls);
  RunAndCheck<double, SumOp>(4, 2, calls, 1);
  RunAndCheck<uint64_t, ProdOp>(3, 5, EveryCollective(3, 2));
}

TEST(DirectProtocolTypes, NarrowFloatsAndAverage) {
  const std::vector<Call> calls = EveryCollective(4, 2);
  RunAndCheck<uint16_t, SumOp, HostHalf>(4, 2, calls);
  RunAndCheck<uint16_t, MaxOp, HostBf16>(4, 2, calls, 1);
  RunAndCheck<uint8_t, SumOp, HostE4m3>(4, 2, calls);
  RunAndCheck<uint8_t, MinOp, HostE5m2>(4, 2, calls);
  RunAndCheck<float, SumOp>(4, 2, calls, 0, /*divisor=*/4);
  RunAndCheck<int32_t, SumOp>(4, 2, calls, 0, /*divisor=*/4);
}

// Many calls with threads that lag at random: a rank runs calls ahead of its slowest peer
// only as far as the `done` barrier lets it, and boards are reused every call.
TEST(DirectProtocolSequence, ManyCallsWithLaggingRanks) {
  std::vector<Call> calls;
  std::mt19937 rng(7);
  for (int k = 0; k < 200; ++k) {
    Call c;
    c.coll = static_cast<DeviceColl>(rng() % 5);
    c.count = 1 + rng() % 700;
    c.root = static_cast<int>(rng() % 5);
    c.in_place = rng() % 2 == 0;
    calls.push_back(c);
  }
  RunAndCheck<int32_t, SumOp>(5, 2, calls, 0, 0, /*lag=*/true);
  RunAndCheck<int32_t, SumOp>(5, 2, calls, 0, 0, /*lag=*/true, DirectStagedMinBytes(5) * 2);
  RunAndCheck<int32_t, SumOp>(5, 2, calls, 0, 0, /*lag=*/true, DirectStagedMinBytes(5) * 2,
                              Windows::kMixed);
}

TEST(DirectProtocolSplit, PartsTileTheRangeOnUnitBoundaries) {
  for (size_t total : {size_t{0}, size_t{1}, size_t{31}, size_t{32}, size_t{1000}, size_t{4097}}) {
    for (int parts = 1; parts <= 9; ++parts) {
      size_t next = 0;
      for (int i = 0; i < parts; ++i) {
        const Span s = DirectSplit(total, parts, i, 32);
        EXPECT_EQ(next, s.begin) << total << " " << parts << " " << i;
        EXPECT_LE(s.begin, s.end);
        if (s.begin < total) {
          EXPECT_EQ(0u, s.begin % 32);
        }
        next = s.end;
      }
      EXPECT_EQ(total, next);
    }
  }
}

// Ranks 0 and 1 call, rank 2 never does: their waits give up and name rank 2. As threads of
// one process (staging 0) and as processes.
class DirectProtocolFaults : public ::testing::TestWithParam<size_t> {};

TEST_P(DirectProtocolFaults, AWaitTimesOutNamingThePeer) {
  Job job(3, 1, GetParam());
  std::vector<float> in(64, 1.0f), out0(64), out1(64);
  uint32_t stuck[2] = {0, 0};
  WaitResult results[2];
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      DirectArgs a = job.Args(r, Call{DeviceColl::kAllReduce, 64, 0, false}, in.data(),
                              r == 0 ? out0.data() : out1.data());
      a.limits.timeout_ns = 50'000'000;  // 50 ms
      a.stuck_source = &stuck[r];
      results[r] = job.Run<Native<float>, SumOp>(a, 0);
    });
  }
  for (auto& t : ranks)
    t.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(WaitResult::kTimedOut, results[r]);
    EXPECT_EQ(3u, stuck[r]) << "rank " << r << " names rank 2 (plus one)";
    EXPECT_EQ(0u, job.epochs[static_cast<size_t>(r) * kDirectMaxChannels]) << "no call completed";
  }
}

// The abort flag ends every wait, whenever it is raised: before or during the wait.
TEST_P(DirectProtocolFaults, TheAbortFlagEndsEveryWait) {
  Job job(3, 2, GetParam());
  std::vector<int32_t> in(4096, 1), out(4096);
  uint32_t abort_flag = 0;
  std::vector<WaitResult> results(4, WaitResult::kReady);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    for (int ch = 0; ch < 2; ++ch) {
      threads.emplace_back([&, r, ch] {
        std::vector<int32_t> mine(4096);
        DirectArgs a =
            job.Args(r, Call{DeviceColl::kAllGather, 1024, 0, false}, in.data(), mine.data());
        a.limits.abort_flag = &abort_flag;
        results[static_cast<size_t>(r * 2 + ch)] = job.Run<Native<int32_t>, SumOp>(a, ch);
      });
    }
  }
  StoreRelease(&abort_flag, 1u);
  for (auto& t : threads)
    t.join();
  for (WaitResult w : results)
    EXPECT_EQ(WaitResult::kAborted, w);
}

INSTANTIATE_TEST_SUITE_P(Staging, DirectProtocolFaults,
                         ::testing::Values(size_t{0}, DirectStagedMinBytes(3)));

}  // namespace
}  // namespace weft::proto
