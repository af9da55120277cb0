// Direct collectives for large messages inside a host (NCCL's symmetric "RSxLD/AGxST"
// kernels, MSCCL++'s all-pairs all-reduce): each rank's kernel reads its peers' buffers
// where they lie, so every byte crosses memory the fewest times the collective allows, and
// the ranks meet through three sequence-numbered flags per call on boards in mapped memory:
//
//   posted   my buffers are named on my board and my input may be read;
//   reduced  my share of the output is written (all-reduce only: peers copy it next);
//   done     I have read everything of yours I need: you may return, and your buffers are
//            yours again.
//
// The call's work is split into channels (on the GPU, one block each) that never wait for
// one another: channel c of every rank moves slice c of every chunk, and waits only for
// channel c of its peers, so blocks need no grid-wide barrier. All-reduce: rank r reduces
// chunk r of the n inputs into its output (each input byte read once), posts `reduced`, then
// copies chunk p from peer p's output for every peer; reduce-scatter is the first half,
// all-gather the second on the inputs, broadcast and reduce their rooted cases. In place
// works as NCCL's: no rank writes memory a peer reads in the same phase, and chunks and
// slices start on 128-byte boundaries so no cache line is shared by what two phases touch.
//
// Every wait looks at the abort flag and the clock (wait.h). The final `done` barrier is
// also what makes the boards reusable without double buffering: a rank posts call e + 1
// only after every peer has finished call e, so no peer still reads its board of call e.
//
// Buffers are named by their addresses in the poster's process: the protocol serves ranks
// that share an address space (threads of one process, NCCL's one-process-many-GPUs use);
// direct_staged.h serves ranks in several processes with the same boards and parts.
// Written once for the GPU kernel and for CPU threads in CI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "collectives/device/proto/coll.h"
#include "collectives/device/proto/wait.h"

namespace weft::proto {

// One rank's board for one channel: written by its owner, read by its peers. Flags hold the
// call's sequence number plus one (memory never written, 0, is no call).
struct alignas(64) DirectBoard {
  uint64_t posted;
  uint64_t reduced;
  uint64_t done;
  uint64_t input;   // the call's buffers, as addresses in the owner's process
  uint64_t output;  // (plain: ordered by the flags around them)
};

constexpr int kDirectMaxChannels = 32;    // boards per rank
constexpr int kDirectMaxRanks = 16;       // the CUDA IPC path's limit
constexpr size_t kDirectUnitBytes = 128;  // chunks and slices start on multiples of this
constexpr int kDirectMaxWindows = 64;     // registered windows per communicator

// A buffer in a registered window, as a rank posts it to peers in other processes (0: not
// in a window): the window's slot plus one above bit 48, the offset below.
WEFT_HOST_DEVICE constexpr uint64_t DirectWindowWord(int slot, uint64_t offset) {
  return (static_cast<uint64_t>(slot + 1) << 48) | offset;
}

struct DirectArgs {
  DeviceColl coll = DeviceColl::kAllReduce;
  int root = 0;  // broadcast, reduce
  int rank = 0;
  int nranks = 1;
  // In place as NCCL's (one_shot.h says how); count is the C API's (elements per block).
  const void* input = nullptr;
  void* output = nullptr;
  size_t count = 0;
  DirectBoard* const* boards = nullptr;  // per rank: its kDirectMaxChannels boards
  int channels = 1;                      // 1..kDirectMaxChannels, the same on every rank
  uint64_t* epochs = nullptr;            // this rank's calls so far, per channel
  int divisor = 0;                       // weftAvg: divide the rounded sum (one_shot.h)
  WaitLimits limits;
  uint32_t* stuck_source = nullptr;  // where a wait that gives up names its peer, plus one
  // Ranks in several processes (direct_staged.h): per rank its staging, as reached here,
  // staging_bytes per channel. Null: the ranks share an address space (Direct).
  void* const* staging = nullptr;
  size_t staging_bytes = 0;
  // Registered windows (direct_staged.h): windows[slot * kDirectMaxRanks + p] is rank p's
  // window `slot` as reached here (slots from kDirectMaxWindows up: rank p's allocations
  // in the registration cache); this rank's input and output as DirectWindowWord (0: not
  // in a window, so they go through the staging).
  const uint64_t* windows = nullptr;
  uint64_t input_window = 0;
  uint64_t output_window = 0;
};

// [begin, end) of part `index` of `parts` over `total` elements, in whole units of `unit`
// elements (the last part takes the rest).
struct Span {
  size_t begin, end;
};
WEFT_HOST_DEVICE inline Span DirectSplit(size_t total, int parts, int index, size_t unit) {
  const size_t units = (total + unit - 1) / unit;
  const size_t per = units / static_cast<size_t>(parts);
  const size_t extra = units % static_cast<size_t>(parts);
  const size_t i = static_cast<size_t>(index);
  const size_t first = i * per + (i < extra ? i : extra);
  const size_t n = per + (i < extra ? 1 : 0);
  const size_t b = first * unit < total ? first * unit : total;
  const size_t e = (first + n) * unit < total ? (first + n) * unit : total;
  return Span{b, e};
}

// Elements of type S in one split unit.
template <typename S>
WEFT_HOST_DEVICE constexpr size_t DirectUnit() {
  return kDirectUnitBytes / sizeof(S);
}

// A scalar's bits, loaded past the SM's cache (peers' data), as the vectors are.
template <typename S>
WEFT_HOST_DEVICE inline S LoadScalar(const S* p) {
#ifdef __CUDA_ARCH__
  static_assert(sizeof(S) == 1 || sizeof(S) == 2 || sizeof(S) == 4 || sizeof(S) == 8, "size");
  S v;
  if constexpr (sizeof(S) == 1) {
    const uint8_t b = *reinterpret_cast<const volatile uint8_t*>(p);
    memcpy(&v, &b, 1);
  } else if constexpr (sizeof(S) == 2) {
    const uint16_t b = *reinterpret_cast<const volatile uint16_t*>(p);
    memcpy(&v, &b, 2);
  } else if constexpr (sizeof(S) == 4) {
    const uint32_t b = *reinterpret_cast<const volatile uint32_t*>(p);
    memcpy(&v, &b, 4);
  } else {
    const uint64_t b = *reinterpret_cast<const volatile uint64_t*>(p);
    memcpy(&v, &b, 8);
  }
  return v;
#else
  return *p;
#endif
}

WEFT_HOST_DEVICE inline bool Aligned16(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15u) == 0;
}

// The reduced value as stored: rounded to the type, then divided for weftAvg and rounded
// again (integers truncate), as the host's Divide after a sum.
template <typename F>
WEFT_HOST_DEVICE inline typename F::Stored DirectFinish(typename F::Compute acc, int divisor) {
  typename F::Stored r = F::Store(acc);
  if (divisor > 0) r = F::Store(F::Load(r) / static_cast<typename F::Compute>(divisor));
  return r;
}

// Vectors first, first + step, ..., first + (U - 1) * step of out, each the reduction of the
// same vectors of ins[0..n): every input's U loads are in flight before they are combined.
template <typename F, typename Op, int U>
WEFT_HOST_DEVICE inline void DirectReduceVectors(typename F::Stored* out,
                                                 const typename F::Stored* const* ins, int n,
                                                 size_t first, size_t step, int divisor) {
  using S = typename F::Stored;
  constexpr size_t kPer = sizeof(Vec16) / sizeof(S);
  // Loads U vectors of input k and folds them in (k == 0: they start the accumulators).
  typename F::Compute acc[U][kPer];
  auto fold = [&](int k) {
    Vec16 v[U];
    for (int u = 0; u < U; ++u)
      v[u] = LoadVec(ins[k] + (first + static_cast<size_t>(u) * step) * kPer);
    for (int u = 0; u < U; ++u) {
      S s[kPer];
      memcpy(s, &v[u], sizeof(s));
      for (size_t j = 0; j < kPer; ++j)
        acc[u][j] = k == 0 ? F::Load(s[j]) : Op::Apply(acc[u][j], F::Load(s[j]));
    }
  };
  fold(0);
  for (int k = 1; k < n; ++k)
    fold(k);
  for (int u = 0; u < U; ++u) {
    S s[kPer];
    for (size_t j = 0; j < kPer; ++j)
      s[j] = DirectFinish<F>(acc[u][j], divisor);
    Vec16 v;
    memcpy(&v, s, sizeof(v));
    StoreVec(out + (first + static_cast<size_t>(u) * step) * kPer, v);
  }
}

constexpr int kDirectUnroll = 4;  // 16-byte vectors per thread in flight per input

// out[i] = ins[0][i] op ... op ins[n-1][i] for i < count (n >= 1), by thread tid of
// nthreads; in rank order, so every rank computes the same bits. 16-byte vectors, four per
// thread in flight per input, where every pointer allows; element by element otherwise.
template <typename F, typename Op>
WEFT_HOST_DEVICE WEFT_DEVICE_NOINLINE void DirectReduce(typename F::Stored* out,
                                                        const typename F::Stored* const* ins, int n,
                                                        size_t count, int divisor, uint32_t tid,
                                                        uint32_t nthreads) {
  using S = typename F::Stored;
  constexpr size_t kPer = sizeof(Vec16) / sizeof(S);
  bool aligned = Aligned16(out);
  for (int k = 0; k < n; ++k)
    aligned = aligned && Aligned16(ins[k]);
  size_t done = 0;
  if (aligned) {
    const size_t vecs = count / kPer;
    const size_t round = static_cast<size_t>(nthreads) * kDirectUnroll;
    const size_t whole = vecs / round * round;  // vectors of whole unrolled rounds
    for (size_t r = 0; r < whole; r += round)
      DirectReduceVectors<F, Op, kDirectUnroll>(out, ins, n, r + tid, nthreads, divisor);
    for (size_t i = whole + tid; i < vecs; i += nthreads)
      DirectReduceVectors<F, Op, 1>(out, ins, n, i, nthreads, divisor);
    done = vecs * kPer;
  }
  for (size_t i = done + tid; i < count; i += nthreads) {
    typename F::Compute acc = F::Load(LoadScalar(ins[0] + i));
    for (int k = 1; k < n; ++k)
      acc = Op::Apply(acc, F::Load(LoadScalar(ins[k] + i)));
    out[i] = DirectFinish<F>(acc, divisor);
  }
}

// out[0, bytes) = in[0, bytes) by thread tid of nthreads, as DirectReduce moves data.
WEFT_HOST_DEVICE WEFT_DEVICE_NOINLINE inline void DirectCopy(void* out, const void* in,
                                                             size_t bytes, uint32_t tid,
                                                             uint32_t nthreads) {
  auto* o = static_cast<unsigned char*>(out);
  const auto* s = static_cast<const unsigned char*>(in);
  size_t done = 0;
  if (Aligned16(o) && Aligned16(s)) {
    const size_t vecs = bytes / sizeof(Vec16);
    const size_t round = static_cast<size_t>(nthreads) * kDirectUnroll;
    const size_t whole = vecs / round * round;
    for (size_t r = 0; r < whole; r += round) {
      Vec16 v[kDirectUnroll];
      for (int u = 0; u < kDirectUnroll; ++u)
        v[u] = LoadVec(s + (r + tid + static_cast<size_t>(u) * nthreads) * sizeof(Vec16));
      for (int u = 0; u < kDirectUnroll; ++u)
        StoreVec(o + (r + tid + static_cast<size_t>(u) * nthreads) * sizeof(Vec16), v[u]);
    }
    for (size_t i = whole + tid; i < vecs; i += nthreads)
      StoreVec(o + i * sizeof(Vec16), LoadVec(s + i * sizeof(Vec16)));
    done = vecs * sizeof(Vec16);
  }
  for (size_t i = done + tid; i < bytes; i += nthreads)
    o[i] = LoadScalar(s + i);
}

// Whether `rank` reads peer `p`'s buffers in this collective (and so waits for its posting).
WEFT_HOST_DEVICE inline bool DirectReads(const DirectArgs& a, int p) {
  switch (a.coll) {
    case DeviceColl::kBroadcast:
      return p == a.root;
    case DeviceColl::kReduce:
      return a.rank == a.root;
    default:
      return true;
  }
}

// Thread 0 waits until every peer `p` with want(p) shows `flag` in `field` of its board for
// this channel; the block learns the outcome through *shared (a word every thread of the
// block sees; on the CPU, the caller's). Returns kReady or why the wait gave up.
template <typename Want>
WEFT_HOST_DEVICE WaitResult DirectWaitPeers(const DirectArgs& a, int channel,
                                            uint64_t DirectBoard::*field, uint64_t flag, Want want,
                                            uint32_t tid, uint32_t* shared) {
  if (tid == 0) {
    WaitResult r = WaitResult::kReady;
    for (int k = 1; k < a.nranks && r == WaitResult::kReady; ++k) {
      const int p = (a.rank + k) % a.nranks;
      if (!want(p)) continue;
      const uint64_t* f = &(a.boards[p][channel].*field);
      r = SpinUntil([&] { return LoadAcquire(f) >= flag; }, a.limits);
      if (r != WaitResult::kReady && a.stuck_source != nullptr)
        StoreRelease(a.stuck_source, static_cast<uint32_t>(p) + 1);
    }
    *shared = static_cast<uint32_t>(r);
  }
  BlockSync();
  const auto r = static_cast<WaitResult>(*shared);
  BlockSync();  // every thread has read *shared before thread 0 writes it again
  return r;
}

// The block's writes so far, then `flag` in `field` of this rank's board.
WEFT_HOST_DEVICE inline void DirectPost(DirectBoard* board, uint64_t DirectBoard::*field,
                                        uint64_t flag, uint32_t tid) {
  BlockSync();
  if (tid == 0) {
    FenceSystem();
    StoreRelease(&(board->*field), flag);
  }
}

// Channel `channel`'s part of the call, by thread tid of nthreads (on the GPU one block's
// threads, with `shared` in its shared memory; on the CPU 1 of 1). Returns the first wait
// that did not end ready; what was not reached of the output is left as it was. Advances
// the channel's epoch when the call completes (a graph replays it as it stands).
template <typename F, typename Op>
WEFT_HOST_DEVICE WaitResult Direct(const DirectArgs& a, int channel, uint32_t tid,
                                   uint32_t nthreads, uint32_t* shared) {
  using S = typename F::Stored;
  constexpr size_t kUnit = DirectUnit<S>();
  const uint64_t flag = a.epochs[channel] + 1;
  DirectBoard* const mine = &a.boards[a.rank][channel];
  const auto* in = static_cast<const S*>(a.input);
  auto* out = static_cast<S*>(a.output);
  const int n = a.nranks;
  const int channels = a.channels;
  // Peer p's buffers (valid once its `posted` is seen).
  auto input_of = [&](int p) {
    return p == a.rank ? in : reinterpret_cast<const S*>(a.boards[p][channel].input);
  };
  auto output_of = [&](int p) {
    return p == a.rank ? out : reinterpret_cast<const S*>(a.boards[p][channel].output);
  };
  auto everyone = [](int) { return true; };
  auto reads = [&](int p) { return DirectReads(a, p); };

  if (tid == 0) {
    mine->input = reinterpret_cast<uintptr_t>(a.input);
    mine->output = reinterpret_cast<uintptr_t>(a.output);
  }
  DirectPost(mine, &DirectBoard::posted, flag, tid);
  WaitResult w = DirectWaitPeers(a, channel, &DirectBoard::posted, flag, reads, tid, shared);
  if (w != WaitResult::kReady) return w;

  // Reduces span s of block `block` of every input (rank order) into `dest`.
  auto reduce_span = [&](S* dest, size_t block, Span s) {
    const S* ins[kDirectMaxRanks];
    for (int p = 0; p < n; ++p)
      ins[p] = input_of(p) + block * a.count + s.begin;
    DirectReduce<F, Op>(dest + s.begin, ins, n, s.end - s.begin, a.divisor, tid, nthreads);
  };
  switch (a.coll) {
    case DeviceColl::kAllReduce: {
      const Span chunk = DirectSplit(a.count, n, a.rank, kUnit);
      Span s = DirectSplit(chunk.end - chunk.begin, channels, channel, kUnit);
      s = Span{chunk.begin + s.begin, chunk.begin + s.end};
      reduce_span(out, 0, s);
      DirectPost(mine, &DirectBoard::reduced, flag, tid);
      w = DirectWaitPeers(a, channel, &DirectBoard::reduced, flag, everyone, tid, shared);
      if (w != WaitResult::kReady) return w;
      for (int k = 1; k < n; ++k) {
        const int p = (a.rank + k) % n;
        const Span pc = DirectSplit(a.count, n, p, kUnit);
        const Span ps = DirectSplit(pc.end - pc.begin, channels, channel, kUnit);
        const size_t b = pc.begin + ps.begin;
        DirectCopy(out + b, output_of(p) + b, (ps.end - ps.begin) * sizeof(S), tid, nthreads);
      }
      break;
    }
    case DeviceColl::kReduceScatter:  // out's element 0 is block `rank`'s first
      reduce_span(out, static_cast<size_t>(a.rank), DirectSplit(a.count, channels, channel, kUnit));
      break;
    case DeviceColl::kAllGather: {
      const Span s = DirectSplit(a.count, channels, channel, kUnit);
      for (int k = 0; k < n; ++k) {
        const int p = (a.rank + k) % n;
        S* block = out + static_cast<size_t>(p) * a.count;
        if (p == a.rank && block == in) continue;  // in place: already there
        DirectCopy(block + s.begin, input_of(p) + s.begin, (s.end - s.begin) * sizeof(S), tid,
                   nthreads);
      }
      break;
    }
    case DeviceColl::kBroadcast: {
      const Span s = DirectSplit(a.count, channels, channel, kUnit);
      if (a.rank != a.root || out != in)
        DirectCopy(out + s.begin, input_of(a.root) + s.begin, (s.end - s.begin) * sizeof(S), tid,
                   nthreads);
      break;
    }
    case DeviceColl::kReduce: {
      if (a.rank == a.root) reduce_span(out, 0, DirectSplit(a.count, channels, channel, kUnit));
      break;
    }
  }
  DirectPost(mine, &DirectBoard::done, flag, tid);
  w = DirectWaitPeers(a, channel, &DirectBoard::done, flag, everyone, tid, shared);
  if (w != WaitResult::kReady) return w;
  if (tid == 0) a.epochs[channel] = flag;
  return WaitResult::kReady;
}

}  // namespace weft::proto
