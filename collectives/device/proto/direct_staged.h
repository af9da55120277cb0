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
  // Peer p's buffer posted as `word` (DirectWindowWord), as reached here; null if it is in
  // no window (it goes through p's staging).
  auto windowed = [&](int p, uint64_t word) -> S* {
    if (word == 0) return nullptr;
    const uint64_t slot = (word >> 48) - 1;
    // Acquire: the host fills a slot's entries while earlier kernels run (the registration
    // cache), and another owner's slot of the same number shares the line: never a stale copy.
    const uint64_t base =
        LoadAcquire(&a.windows[slot * kDirectMaxRanks + static_cast<uint64_t>(p)]);
    return reinterpret_cast<S*>(base + (word & ((uint64_t{1} << 48) - 1)));
  };
  const bool my_input_shared = a.input_window != 0;    // peers read my input where it lies
  const bool my_output_shared = a.output_window != 0;  // all-reduce: and my reduced chunk
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
    if (!my_input_shared) {
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
                         in + static_cast<size_t>(q) * a.count + win.begin, win_bytes, tid,
                         nthreads);
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
    }
    if (tid == 0) {  // read by the peers after they see `posted`
      mine->input = a.input_window;
      mine->output = a.output_window;
    }
    DirectPost(mine, &DirectBoard::posted, flag, tid);
    WaitResult wr = DirectWaitPeers(a, channel, &DirectBoard::posted, flag, reads, tid, shared);
    if (wr != WaitResult::kReady) return wr;

    // Peer p's part of element `at` of block `block` of its input, which its staging holds
    // as piece `piece` (at the window's start).
    auto peer_input = [&](int p, size_t block, size_t at, size_t piece) -> const S* {
      const S* shared_in = windowed(p, a.boards[p][channel].input);
      return shared_in != nullptr ? shared_in + block * a.count + at : stage_of(p) + piece * w;
    };
    // Reduces window `wd` of block `block` of every input (rank order) into dest.
    auto reduce_window = [&](S* dest, size_t block, Span wd) {
      const S* ins[kDirectMaxRanks];
      for (int p = 0; p < n; ++p)
        ins[p] = p == r ? in + block * a.count + wd.begin : peer_input(p, block, wd.begin, block);
      DirectReduce<F, Op>(dest, ins, n, wd.end - wd.begin, a.divisor, tid, nthreads);
    };
    switch (a.coll) {
      case DeviceColl::kAllReduce: {
        // My chunk's window, reduced where the peers will copy it from: my output if they
        // reach it, else my staging's out area. Chunks are parts of one block: block 0, and
        // the peers' staging holds my chunk as piece r.
        const Span wm = window(r);
        S* const reduced_at =
            my_output_shared ? out + wm.begin : stage + static_cast<size_t>(n) * w;
        const S* ins[kDirectMaxRanks];
        for (int p = 0; p < n; ++p) {
          const S* shared_in = p == r ? nullptr : windowed(p, a.boards[p][channel].input);
          ins[p] = p == r                 ? in + wm.begin
                   : shared_in != nullptr ? shared_in + wm.begin
                                          : stage_of(p) + static_cast<size_t>(r) * w;
        }
        DirectReduce<F, Op>(reduced_at, ins, n, wm.end - wm.begin, a.divisor, tid, nthreads);
        DirectPost(mine, &DirectBoard::reduced, flag, tid);
        wr = DirectWaitPeers(a, channel, &DirectBoard::reduced, flag, everyone, tid, shared);
        if (wr != WaitResult::kReady) return wr;
        for (int k = 0; k < n; ++k) {
          const int p = (r + k) % n;
          const Span wp = window(p);
          if (p == r && my_output_shared) continue;  // reduced in place
          const S* shared_out = p == r ? nullptr : windowed(p, a.boards[p][channel].output);
          const S* from = shared_out != nullptr ? shared_out + wp.begin
                                                : stage_of(p) + static_cast<size_t>(n) * w;
          DirectCopy(out + wp.begin, from, (wp.end - wp.begin) * sizeof(S), tid, nthreads);
        }
        break;
      }
      case DeviceColl::kReduceScatter:  // out's element 0 is block r's first
        reduce_window(out + win.begin, static_cast<size_t>(r), win);
        break;
      case DeviceColl::kAllGather:
        for (int k = 0; k < n; ++k) {
          const int p = (r + k) % n;
          S* block = out + static_cast<size_t>(p) * a.count;
          if (p == r) {
            if (block != in)
              DirectCopy(block + win.begin, in + win.begin, win_bytes, tid, nthreads);
          } else {
            DirectCopy(block + win.begin, peer_input(p, 0, win.begin, 0), win_bytes, tid, nthreads);
          }
        }
        break;
      case DeviceColl::kBroadcast:
        if (r != a.root)
          DirectCopy(out + win.begin, peer_input(a.root, 0, win.begin, 0), win_bytes, tid,
                     nthreads);
        else if (out != in)
          DirectCopy(out + win.begin, in + win.begin, win_bytes, tid, nthreads);
        break;
      case DeviceColl::kReduce:
        if (r == a.root) {
          const S* ins[kDirectMaxRanks];
          for (int p = 0; p < n; ++p)
            ins[p] = p == r ? in + win.begin : peer_input(p, 0, win.begin, 0);
          DirectReduce<F, Op>(out + win.begin, ins, n, win.end - win.begin, a.divisor, tid,
                              nthreads);
        }
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
