// One-shot all-reduce over LL lines, for small messages inside a host (NCCL's symmetric
// AllReduce_AGxLL_R): every rank stores its input, as LL lines flagged with the call's
// epoch, into its slot of every peer's scratch, then reduces the n inputs it holds, in rank
// order, so every rank computes the same bits. One hop and no barrier: a rank waits only
// for the lines it reads. Written once for the GPU kernel and for CPU threads in CI.
//
// Scratch: each rank's, mapped into every peer, as [2 parities][nranks sources][lines].
// Epoch e uses parity e % 2. Reuse is safe without a barrier: a rank writes a peer's
// parity-p slot for epoch e + 2 only after finishing e + 1, which needed the peer's e + 1
// input, which the peer stored only after it had read everything of epoch e.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "collectives/device/proto/ll.h"
#include "collectives/reduce/native_format.h"

namespace weft::proto {

// Where a caller that polls (WaitLimits::max_looks) resumes a call: the lines done in each
// phase, and the rank whose line it waits for. One thread only (nthreads == 1).
struct OneShotCursor {
  size_t stored = 0;   // phase 1: lines stored into every peer's scratch
  size_t reduced = 0;  // phase 2: output lines written
  int waiting_for = -1;
};

struct OneShotArgs {
  int rank = 0;
  int nranks = 1;
  const void* input = nullptr;
  void* output = nullptr;            // may be `input`
  size_t count = 0;                  // elements
  LlLine* const* scratch = nullptr;  // per rank: its scratch, as mapped here
  size_t lines = 0;           // lines per (parity, source) slot: at least OneShotLines(call bytes)
  uint32_t* epoch = nullptr;  // this rank's calls so far; the call advances it
  // weftAvg: the reduced value, rounded to the type, is divided by this and rounded again
  // (integers truncate), as the host's Divide after a sum; 0: no division.
  int divisor = 0;
  WaitLimits limits;
  OneShotCursor* cursor = nullptr;  // a polling caller's (one thread); null on the GPU
  // Where a wait that gives up records the rank it waited for, plus one (any thread's: one
  // is enough to name the peer); null: nowhere.
  uint32_t* stuck_source = nullptr;
};

// Lines of one slot in a scratch of `lines` lines per slot, for `nranks` ranks.
WEFT_HOST_DEVICE inline size_t OneShotSlot(int parity, int source, int nranks, size_t lines) {
  return (static_cast<size_t>(parity) * static_cast<size_t>(nranks) + static_cast<size_t>(source)) *
         lines;
}

// Lines a call of `bytes` bytes needs per slot.
WEFT_HOST_DEVICE inline size_t OneShotLines(size_t bytes) {
  return (bytes + kLlDataBytes - 1) / kLlDataBytes;
}

// The part of the call thread `tid` of `nthreads` does (on the GPU, one block's threads;
// on the CPU, 1 of 1): lines tid, tid + nthreads, ... of both phases, so that in place a
// line of the input is read before the same thread overwrites it. The caller advances
// *epoch once every thread has returned. Returns the first wait that did not end ready;
// the output lines not reached are left as they were. With a cursor, a call that returns
// kNotYet is called again with the same arguments and goes on where it stopped (a line is
// redone from its first source: its output is written only once all sources are in).
template <typename F, typename Op>
WEFT_HOST_DEVICE WaitResult OneShotAllReduce(const OneShotArgs& a, uint32_t tid,
                                             uint32_t nthreads) {
  using S = typename F::Stored;
  static_assert(kLlDataBytes % sizeof(S) == 0, "elements must tile a line");
  constexpr size_t kPerLine = kLlDataBytes / sizeof(S);
  const uint32_t epoch = *a.epoch;
  const uint32_t flag = LlFlag(epoch);
  const int parity = static_cast<int>(epoch & 1u);
  const size_t bytes = a.count * sizeof(S);
  const size_t lines = OneShotLines(bytes);
  const auto* in = static_cast<const unsigned char*>(a.input);
  auto* out = static_cast<unsigned char*>(a.output);
  // A line's data from the input: whole lines in one 8-byte load, the last one in part.
  auto input_line = [&](size_t i) {
    uint64_t data = 0;
    if (i + 1 < lines || bytes % kLlDataBytes == 0)
      memcpy(&data, in + i * kLlDataBytes, kLlDataBytes);
    else
      memcpy(&data, in + i * kLlDataBytes, bytes % kLlDataBytes);
    return data;
  };
  OneShotCursor* const cur = a.cursor;
  // Phase 1: my input into my slot of every peer's scratch.
  for (size_t i = tid + (cur != nullptr ? cur->stored : 0); i < lines; i += nthreads) {
    const uint64_t data = input_line(i);
    for (int k = 1; k < a.nranks; ++k) {
      const int peer = (a.rank + k) % a.nranks;
      LlStore(a.scratch[peer] + OneShotSlot(parity, a.rank, a.nranks, a.lines) + i, data, flag);
    }
    if (cur != nullptr) cur->stored = i + 1;
  }
  // Phase 2: every rank's input, in rank order, from my scratch (mine from my input).
  const LlLine* mine = a.scratch[a.rank];
  // One thread (the CPU's way): first wait for each source's last line. A reader that polls
  // a line the writer has not reached yet takes its cache line back from the writer, which
  // then takes it again for the next line: four round trips per cache line instead of one.
  // Once the last line is in, the others have come (one writer stores them in order; where
  // stores may become visible out of order, the per-line flags below still decide).
  if (nthreads == 1 && lines > 0 && (cur == nullptr || cur->reduced == 0)) {
    for (int src = 0; src < a.nranks; ++src) {
      if (src == a.rank) continue;
      uint64_t data = 0;
      const WaitResult w = LlLoad(mine + OneShotSlot(parity, src, a.nranks, a.lines) + lines - 1,
                                  flag, &data, a.limits);
      if (w != WaitResult::kReady) {
        if (cur != nullptr) cur->waiting_for = src;
        if (a.stuck_source != nullptr && w != WaitResult::kNotYet)
          StoreRelease(a.stuck_source, static_cast<uint32_t>(src) + 1);
        return w;
      }
    }
  }
  for (size_t i = tid + (cur != nullptr ? cur->reduced : 0); i < lines; i += nthreads) {
    S from[kPerLine];
    auto fetch = [&](int src) {
      uint64_t data = 0;
      WaitResult w = WaitResult::kReady;
      if (src == a.rank)
        data = input_line(i);
      else
        w = LlLoad(mine + OneShotSlot(parity, src, a.nranks, a.lines) + i, flag, &data, a.limits);
      if (w != WaitResult::kReady && cur != nullptr) cur->waiting_for = src;
      if (w != WaitResult::kReady && w != WaitResult::kNotYet && a.stuck_source != nullptr)
        StoreRelease(a.stuck_source, static_cast<uint32_t>(src) + 1);
      memcpy(from, &data, kLlDataBytes);
      return w;
    };
    WaitResult w = fetch(0);
    if (w != WaitResult::kReady) return w;
    typename F::Compute acc[kPerLine];
    for (size_t j = 0; j < kPerLine; ++j)
      acc[j] = F::Load(from[j]);
    for (int src = 1; src < a.nranks; ++src) {
      if ((w = fetch(src)) != WaitResult::kReady) return w;
      for (size_t j = 0; j < kPerLine; ++j)
        acc[j] = Op::Apply(acc[j], F::Load(from[j]));
    }
    S result[kPerLine];
    for (size_t j = 0; j < kPerLine; ++j) {
      result[j] = F::Store(acc[j]);
      if (a.divisor > 0)
        result[j] = F::Store(F::Load(result[j]) / static_cast<typename F::Compute>(a.divisor));
    }
    if (i + 1 < lines || bytes % kLlDataBytes == 0)
      memcpy(out + i * kLlDataBytes, result, kLlDataBytes);
    else
      memcpy(out + i * kLlDataBytes, result, bytes % kLlDataBytes);
    if (cur != nullptr) cur->reduced = i + 1;
  }
  return WaitResult::kReady;
}

}  // namespace weft::proto
