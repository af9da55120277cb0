// One-shot collectives over LL lines, for small messages inside a host (NCCL's symmetric
// AllReduce_AGxLL_R and its kin): every rank stores what each peer needs of its input, as LL
// lines flagged with the call's epoch, into its slot of that peer's scratch, then builds its
// output from the lines it holds: all-reduce and reduce-scatter reduce the n inputs in rank
// order (every rank computes the same bits), all-gather and broadcast copy them, reduce
// reduces at the root. One hop and no barrier: a rank waits only for the lines it reads.
// Written once for the GPU kernel and for CPU threads in CI.
//
// Scratch: each rank's, mapped into every peer, as [2 parities][nranks sources][lines].
// Epoch e uses parity e % 2. Reuse is safe without a barrier: a rank writes a peer's
// parity-p slot for epoch e + 2 only after finishing e + 1, which needed a line the peer
// stored at e + 1, which the peer stored only after it had read everything of epoch e. So
// every rank must hear from every peer in every call: where no data flows from a rank to a
// peer (broadcast, reduce), it stores a token line into the slot the data would take. (Hearing
// only from the peers one writes to is not enough: in a reduce, a leaf hears only from the
// root, which may have read a slow third rank's lines before that rank has read the leaf's.)
// And a call must have at least one line: callers make no call of zero bytes (the epoch
// stays where it is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "collectives/device/proto/coll.h"
#include "collectives/device/proto/ll.h"
#include "collectives/reduce/native_format.h"

namespace weft::proto {

using OneShotColl = DeviceColl;

// Where a caller that polls (WaitLimits::max_looks) resumes a call: the lines done in each
// phase, and the rank whose line it waits for. One thread only (nthreads == 1).
struct OneShotCursor {
  size_t stored = 0;   // phase 1: lines stored into the peers' scratch
  size_t reduced = 0;  // phase 2: output lines written
  int waiting_for = -1;
  // The line it waits for, and the flag that line must carry: a caller that sleeps looks at
  // it once more after raising its flag (the host's doorbell, collectives/plan_executor.cc).
  const LlLine* waiting_line = nullptr;
  uint32_t waiting_flag = 0;
};

struct OneShotArgs {
  OneShotColl coll = OneShotColl::kAllReduce;
  int root = 0;  // broadcast, reduce
  int rank = 0;
  int nranks = 1;
  // In place as NCCL's: the same buffer (all-reduce, broadcast, reduce), the input at block
  // `rank` of the output (all-gather), the output at block `rank` of the input (reduce-scatter).
  const void* input = nullptr;
  void* output = nullptr;
  size_t count = 0;                  // elements per block: the C API's count (sendcount, recvcount)
  LlLine* const* scratch = nullptr;  // per rank: its scratch, as mapped here
  size_t lines = 0;           // lines per (parity, source) slot: at least OneShotLines(count bytes)
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

// Whether `rank` stores lines of its input into `peer`'s scratch in this collective.
WEFT_HOST_DEVICE inline bool OneShotSends(const OneShotArgs& a, int peer) {
  switch (a.coll) {
    case OneShotColl::kBroadcast:
      return a.rank == a.root;
    case OneShotColl::kReduce:
      return peer == a.root;
    default:
      return true;
  }
}
// Whether `rank` reads the lines `src` stores (the other direction of OneShotSends).
WEFT_HOST_DEVICE inline bool OneShotReads(const OneShotArgs& a, int src) {
  switch (a.coll) {
    case OneShotColl::kBroadcast:
      return src == a.root;
    case OneShotColl::kReduce:
      return a.rank == a.root;
    default:
      return true;
  }
}
// The rooted collectives' tokens: every rank hears from every peer in every call (the scratch
// reuse rule above), so a rank stores a token line into each peer's scratch that gets no
// data from it: "I have started this call, so I have read everything of the last one". Each
// rank waits for the token of every peer whose data it does not read.
WEFT_HOST_DEVICE inline bool OneShotTokenTo(const OneShotArgs& a, int peer) {
  return !OneShotSends(a, peer);
}

// The part of the call thread `tid` of `nthreads` does (on the GPU, one block's threads;
// on the CPU, 1 of 1): lines tid, tid + nthreads, ... of both phases, so that in place a
// line of the input is read before the same thread overwrites it. The caller advances
// *epoch once every thread has returned. Returns the first wait that did not end ready;
// the output lines not reached are left as they were. With a cursor, a call that returns
// kNotYet is called again with the same arguments and goes on where it stopped (a line is
// redone from its first source: its output is written only once all sources are in).
template <typename F, typename Op>
WEFT_HOST_DEVICE WaitResult OneShot(const OneShotArgs& a, uint32_t tid, uint32_t nthreads) {
  using S = typename F::Stored;
  static_assert(kLlDataBytes % sizeof(S) == 0, "elements must tile a line");
  constexpr size_t kPerLine = kLlDataBytes / sizeof(S);
  const uint32_t epoch = *a.epoch;
  const uint32_t flag = LlFlag(epoch);
  const int parity = static_cast<int>(epoch & 1u);
  const size_t bytes = a.count * sizeof(S);  // one block
  const size_t lines = OneShotLines(bytes);
  const size_t tail = bytes % kLlDataBytes;  // bytes of a last, partial line (0: none)
  const auto* in = static_cast<const unsigned char*>(a.input);
  auto* out = static_cast<unsigned char*>(a.output);
  const bool reduces = a.coll == OneShotColl::kAllReduce || a.coll == OneShotColl::kReduceScatter ||
                       (a.coll == OneShotColl::kReduce && a.rank == a.root);
  // Line i of the block at `block`: whole lines in one 8-byte load, the last one in part.
  auto load_line = [&](const unsigned char* block, size_t i) {
    uint64_t data = 0;
    if (i + 1 < lines || tail == 0)
      memcpy(&data, block + i * kLlDataBytes, kLlDataBytes);
    else
      memcpy(&data, block + i * kLlDataBytes, tail);
    return data;
  };
  auto store_line = [&](unsigned char* block, size_t i, const void* data) {
    if (i + 1 < lines || tail == 0)
      memcpy(block + i * kLlDataBytes, data, kLlDataBytes);
    else
      memcpy(block + i * kLlDataBytes, data, tail);
  };
  // What this rank sends `peer`: the peer's chunk of the input in a reduce-scatter.
  auto sent_block = [&](int peer) {
    return a.coll == OneShotColl::kReduceScatter ? in + static_cast<size_t>(peer) * bytes : in;
  };
  OneShotCursor* const cur = a.cursor;
  auto give_up = [&](WaitResult w, int src, const LlLine* line) {
    if (cur != nullptr) {
      cur->waiting_for = src;
      cur->waiting_line = line;
      cur->waiting_flag = flag;
    }
    if (a.stuck_source != nullptr && w != WaitResult::kNotYet)
      StoreRelease(a.stuck_source, static_cast<uint32_t>(src) + 1);
    return w;
  };
  // Phase 1: into my slot of each peer's scratch, what it needs of my input; tokens first.
  if (tid == 0 && (cur == nullptr || cur->stored == 0)) {
    for (int k = 1; k < a.nranks; ++k) {
      const int peer = (a.rank + k) % a.nranks;
      if (OneShotTokenTo(a, peer))
        LlStore(a.scratch[peer] + OneShotSlot(parity, a.rank, a.nranks, a.lines), 0, flag);
    }
  }
  for (size_t i = tid + (cur != nullptr ? cur->stored : 0); i < lines; i += nthreads) {
    for (int k = 1; k < a.nranks; ++k) {
      const int peer = (a.rank + k) % a.nranks;
      if (!OneShotSends(a, peer)) continue;
      LlStore(a.scratch[peer] + OneShotSlot(parity, a.rank, a.nranks, a.lines) + i,
              load_line(sent_block(peer), i), flag);
    }
    if (cur != nullptr) cur->stored = i + 1;
  }
  // Phase 2, from my scratch (my own block from my input).
  const LlLine* mine = a.scratch[a.rank];
  auto slot = [&](int src) { return mine + OneShotSlot(parity, src, a.nranks, a.lines); };
  if (tid == 0) {  // the tokens of the peers whose data I do not read
    for (int src = 0; src < a.nranks; ++src) {
      if (src == a.rank || OneShotReads(a, src)) continue;
      uint64_t token = 0;
      const WaitResult w = LlLoad(slot(src), flag, &token, a.limits);
      if (w != WaitResult::kReady) return give_up(w, src, slot(src));
    }
  }
  // One thread (the CPU's way): first wait for each source's last line. A reader that polls
  // a line the writer has not reached yet takes its cache line back from the writer, which
  // then takes it again for the next line: four round trips per cache line instead of one.
  // Once the last line is in, the others have come (one writer stores them in order; where
  // stores may become visible out of order, the per-line flags below still decide).
  if (nthreads == 1 && lines > 0 && (cur == nullptr || cur->reduced == 0)) {
    for (int src = 0; src < a.nranks; ++src) {
      if (src == a.rank || !OneShotReads(a, src)) continue;
      uint64_t data = 0;
      const WaitResult w = LlLoad(slot(src) + lines - 1, flag, &data, a.limits);
      if (w != WaitResult::kReady) return give_up(w, src, slot(src) + lines - 1);
    }
  }
  const unsigned char* own =
      a.coll == OneShotColl::kReduceScatter ? in + static_cast<size_t>(a.rank) * bytes : in;
  for (size_t i = tid + (cur != nullptr ? cur->reduced : 0); i < lines; i += nthreads) {
    // Rank src's line i: its lines in my scratch, mine from my input.
    auto fetch = [&](int src, uint64_t* data) {
      if (src == a.rank) {
        *data = load_line(own, i);
        return WaitResult::kReady;
      }
      const WaitResult w = LlLoad(slot(src) + i, flag, data, a.limits);
      return w == WaitResult::kReady ? w : give_up(w, src, slot(src) + i);
    };
    uint64_t data = 0;
    WaitResult w = WaitResult::kReady;
    if (reduces) {
      S from[kPerLine];
      if ((w = fetch(0, &data)) != WaitResult::kReady) return w;
      memcpy(from, &data, kLlDataBytes);
      typename F::Compute acc[kPerLine];
      for (size_t j = 0; j < kPerLine; ++j)
        acc[j] = F::Load(from[j]);
      for (int src = 1; src < a.nranks; ++src) {
        if ((w = fetch(src, &data)) != WaitResult::kReady) return w;
        memcpy(from, &data, kLlDataBytes);
        for (size_t j = 0; j < kPerLine; ++j)
          acc[j] = Op::Apply(acc[j], F::Load(from[j]));
      }
      S result[kPerLine];
      for (size_t j = 0; j < kPerLine; ++j) {
        result[j] = F::Store(acc[j]);
        if (a.divisor > 0)
          result[j] = F::Store(F::Load(result[j]) / static_cast<typename F::Compute>(a.divisor));
      }
      store_line(out, i, result);
    } else if (a.coll == OneShotColl::kAllGather) {
      for (int src = 0; src < a.nranks; ++src) {
        unsigned char* block = out + static_cast<size_t>(src) * bytes;
        if (src == a.rank && block == in) continue;  // in place: already there
        if ((w = fetch(src, &data)) != WaitResult::kReady) return w;
        store_line(block, i, &data);
      }
    } else if (a.coll == OneShotColl::kBroadcast) {
      if (a.rank != a.root || out != in) {
        if ((w = fetch(a.root, &data)) != WaitResult::kReady) return w;
        store_line(out, i, &data);
      }
    }  // else a reduce off the root: nothing to write
    if (cur != nullptr) cur->reduced = i + 1;
  }
  return WaitResult::kReady;
}

}  // namespace weft::proto
