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

struct OneShotArgs {
  int rank = 0;
  int nranks = 1;
  const void* input = nullptr;
  void* output = nullptr;            // may be `input`
  size_t count = 0;                  // elements
  LlLine* const* scratch = nullptr;  // per rank: its scratch, as mapped here
  size_t lines = 0;           // lines per (parity, source) slot: at least OneShotLines(call bytes)
  uint32_t* epoch = nullptr;  // this rank's calls so far; the call advances it
  WaitLimits limits;
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
// the output lines not reached are left as they were.
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
  auto line_bytes = [&](size_t i) {
    const size_t left = bytes - i * kLlDataBytes;
    return left < kLlDataBytes ? left : kLlDataBytes;
  };
  // Phase 1: my input into my slot of every peer's scratch.
  for (size_t i = tid; i < lines; i += nthreads) {
    uint64_t data = 0;
    memcpy(&data, in + i * kLlDataBytes, line_bytes(i));
    for (int k = 1; k < a.nranks; ++k) {
      const int peer = (a.rank + k) % a.nranks;
      LlStore(a.scratch[peer] + OneShotSlot(parity, a.rank, a.nranks, a.lines) + i, data, flag);
    }
  }
  // Phase 2: every rank's input, in rank order, from my scratch (mine from my input).
  const LlLine* mine = a.scratch[a.rank];
  for (size_t i = tid; i < lines; i += nthreads) {
    S from[kPerLine];
    auto fetch = [&](int src) {
      uint64_t data = 0;
      WaitResult w = WaitResult::kReady;
      if (src == a.rank)
        memcpy(&data, in + i * kLlDataBytes, line_bytes(i));
      else
        w = LlLoad(mine + OneShotSlot(parity, src, a.nranks, a.lines) + i, flag, &data, a.limits);
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
    for (size_t j = 0; j < kPerLine; ++j)
      result[j] = F::Store(acc[j]);
    memcpy(out + i * kLlDataBytes, result, line_bytes(i));
  }
  return WaitResult::kReady;
}

}  // namespace weft::proto
