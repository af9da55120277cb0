// The direct collectives for ranks in several processes (one process per GPU, as frameworks
// run): a rank cannot name its buffers to a peer by address, so what its peers must read
// passes through its staging, communicator-owned device memory mapped into every peer at
// init (NCCL's non-registered buffers go through its connection buffers the same way). The
// call runs in rounds that each fit the staging; a round is direct.h's call on one window of
// every part:
//
//   stage    copy what the peers read of my input into my staging (all-reduce and
//            reduce-scatter: my window of every peer's chunk or block; all-gather, broadcast
//            and reduce: my window of the block), then post `posted`;
//   reduce   all-reduce: reduce my chunk's window (my input where it lies, the peers' from
//            their staging, in rank order) into my staging's out area, post `reduced`, and
//            copy every rank's out area into my output; reduce-scatter and reduce: into my
//            output; all-gather and broadcast: copy the peers' staging into my output;
//   done     post `done` and wait for everyone's, so the next round may overwrite the staging.
//
// Flags hold a per-channel round count plus one, so the rounds of a call and the calls
// follow one another on the same boards. Every rank computes the same number of rounds
// (from the call and the staging size, the same on every rank). Memory traffic against
// Direct: the staging copy adds a read and a write of what the peers read. In place works as
// Direct's: my input's window is staged or read before my output's window is written.
#pragma once

#include "collectives/device/proto/direct.h"

namespace weft::proto {

// Elements of S in one window of a staging of `bytes` per channel holding `areas` windows
// (whole units; 0 if not even one unit fits).
template <typename S>
WEFT_HOST_DEVICE constexpr size_t DirectStagedWindow(size_t bytes, int areas) {
  return bytes / sizeof(S) / static_cast<size_t>(areas) / DirectUnit<S>() * DirectUnit<S>();
}

// Windows in one channel's staging for a collective of n ranks: the peers' pieces, plus the
// all-reduce's out area.
WEFT_HOST_DEVICE inline int DirectStagedAreas(DeviceColl coll, int n) {
  switch (coll) {
    case DeviceColl::kAllReduce:
      return n + 1;
    case DeviceColl::kReduceScatter:
      return n;
    default:
      return 1;
  }
}

// The least staging per channel that serves every collective of n ranks in every type: one
// unit per window.
WEFT_HOST_DEVICE constexpr size_t DirectStagedMinBytes(int n) {
  return kDirectUnitBytes * static_cast<size_t>(n + 1);
}

template <typename F, typename Op>
WEFT_HOST_DEVICE WaitResult DirectStaged(const DirectArgs& a, int channel, uint32_t tid,
                                         uint32_t nthreads, uint32_t* shared) {
  using S = typename F::Stored;
  constexpr size_t kUnit = DirectUnit<S>();
  const int n = a.nranks;
  const int r = a.rank;
  const bool all_reduce = a.coll == DeviceColl::kAllReduce;
  const int areas = DirectStagedAreas(a.coll, n);
  const size_t w = DirectStagedWindow<S>(a.staging_bytes, areas);
  DirectBoard* const mine = &a.boards[r][channel];
  const auto* in = static_cast<const S*>(a.input);
  auto* out = static_cast<S*>(a.output);
  auto stage_of = [&](int p) {
    return reinterpret_cast<S*>(static_cast<unsigned char*>(a.staging[p]) +
                                static_cast<size_t>(channel) * a.staging_bytes);
  };
  S* const stage = stage_of(r);
  // This channel's part of block (all-reduce: chunk) q.
  auto part = [&](int q) {
    if (!all_reduce) return DirectSplit(a.count, a.channels, channel, kUnit);
    const Span c = DirectSplit(a.count, n, q, kUnit);
    const Span s = DirectSplit(c.end - c.begin, a.channels, channel, kUnit);
    return Span{c.begin + s.begin, c.begin + s.end};
  };
  size_t longest = 0;
  for (int q = 0; q < (all_reduce ? n : 1); ++q) {
    const Span s = part(q);
    longest = s.end - s.begin > longest ? s.end - s.begin : longest;
  }
  const size_t rounds = w == 0 ? 0 : (longest + w - 1) / w;
  auto everyone = [](int) { return true; };
  auto reads = [&](int p) { return DirectReads(a, p); };
  const uint64_t first = a.epochs[channel];

  for (size_t j = 0; j < rounds; ++j) {
    const uint64_t flag = first + j + 1;
    // Window j of part q: [begin, end), clipped to the part.
    auto window = [&](int q) {
      const Span s = part(q);
      const size_t b = s.begin + j * w < s.end ? s.begin + j * w : s.end;
      return Span{b, b + w < s.end ? b + w : s.end};
    };
    const Span win = window(0);  // every block's, where blocks share one part
    const size_t win_bytes = (win.end - win.begin) * sizeof(S);
    switch (a.coll) {
      case DeviceColl::kAllReduce:
        for (int q = 0; q < n; ++q) {
          if (q == r) continue;  // my own chunk I read where it lies
          const Span wq = window(q);
          DirectCopy(stage + static_cast<size_t>(q) * w, in + wq.begin,
                     (wq.end - wq.begin) * sizeof(S), tid, nthreads);
        }
        break;
      case DeviceColl::kReduceScatter:
        for (int q = 0; q < n; ++q)
          if (q != r)
            DirectCopy(stage + static_cast<size_t>(q) * w,
                       in + static_cast<size_t>(q) * a.count + win.begin, win_bytes, tid, nthreads);
        break;
      case DeviceColl::kAllGather:
        DirectCopy(stage, in + win.begin, win_bytes, tid, nthreads);
        break;
      case DeviceColl::kBroadcast:
        if (r == a.root) DirectCopy(stage, in + win.begin, win_bytes, tid, nthreads);
        break;
      case DeviceColl::kReduce:
        if (r != a.root) DirectCopy(stage, in + win.begin, win_bytes, tid, nthreads);
        break;
    }
    DirectPost(mine, &DirectBoard::posted, flag, tid);
    WaitResult wr = DirectWaitPeers(a, channel, &DirectBoard::posted, flag, reads, tid, shared);
    if (wr != WaitResult::kReady) return wr;

    // Reduces window `wd` of my block `block` with the peers' pieces `piece` into dest.
    auto reduce_window = [&](S* dest, size_t block, Span wd, size_t piece) {
      const S* ins[kDirectMaxRanks];
      for (int p = 0; p < n; ++p)
        ins[p] = p == r ? in + block * a.count + wd.begin : stage_of(p) + piece * w;
      DirectReduce<F, Op>(dest, ins, n, wd.end - wd.begin, a.divisor, tid, nthreads);
    };
    switch (a.coll) {
      case DeviceColl::kAllReduce: {
        const Span wr_span = window(r);
        reduce_window(stage + static_cast<size_t>(n) * w, 0, wr_span, static_cast<size_t>(r));
        DirectPost(mine, &DirectBoard::reduced, flag, tid);
        wr = DirectWaitPeers(a, channel, &DirectBoard::reduced, flag, everyone, tid, shared);
        if (wr != WaitResult::kReady) return wr;
        for (int k = 0; k < n; ++k) {
          const int p = (r + k) % n;
          const Span wp = window(p);
          DirectCopy(out + wp.begin, stage_of(p) + static_cast<size_t>(n) * w,
                     (wp.end - wp.begin) * sizeof(S), tid, nthreads);
        }
        break;
      }
      case DeviceColl::kReduceScatter:  // out's element 0 is block r's first
        reduce_window(out + win.begin, static_cast<size_t>(r), win, static_cast<size_t>(r));
        break;
      case DeviceColl::kAllGather:
        for (int k = 0; k < n; ++k) {
          const int p = (r + k) % n;
          S* block = out + static_cast<size_t>(p) * a.count;
          if (p == r) {
            if (block != in)
              DirectCopy(block + win.begin, in + win.begin, win_bytes, tid, nthreads);
          } else {
            DirectCopy(block + win.begin, stage_of(p), win_bytes, tid, nthreads);
          }
        }
        break;
      case DeviceColl::kBroadcast:
        if (r != a.root)
          DirectCopy(out + win.begin, stage_of(a.root), win_bytes, tid, nthreads);
        else if (out != in)
          DirectCopy(out + win.begin, in + win.begin, win_bytes, tid, nthreads);
        break;
      case DeviceColl::kReduce:
        if (r == a.root) reduce_window(out + win.begin, 0, win, 0);
        break;
    }
    DirectPost(mine, &DirectBoard::done, flag, tid);
    wr = DirectWaitPeers(a, channel, &DirectBoard::done, flag, everyone, tid, shared);
    if (wr != WaitResult::kReady) return wr;
    if (tid == 0) a.epochs[channel] = flag;
  }
  return WaitResult::kReady;
}

}  // namespace weft::proto
