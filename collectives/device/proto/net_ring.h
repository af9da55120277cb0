// Ring collectives across hosts as the kernel runs them (NCCL's ring over network FIFOs):
// the kernel does every byte of arithmetic, reading what arrived from the previous rank in
// its receive FIFO, combining it with its own data and writing what the next rank needs into
// its send FIFO; a proxy thread only moves the slots over the network (net_proxy.h). Written
// once for the GPU kernel and for CPU threads standing in for it in CI.
//
// Each call is a sequence of steps per piece (a slot's worth of elements), every step at most
// one receive and one send (NCCL's primitives: send, recvReduceSend, recvReduceCopySend,
// recvCopySend, recv):
//   all-reduce      2n - 1 steps: the reduce-scatter half, then the all-gather half; chunk
//                   (pos - j) mod n at step j, so the chunk a rank finishes at step n - 1 is
//                   the one the next rank receives first in the all-gather half;
//   reduce-scatter  n steps, the first half, chunk (pos - j - 1) mod n (ending on its own);
//   all-gather      n steps, the second half;
//   broadcast       a chain from the root; reduce a chain that ends at the root.
// Pieces are the outer loop, so a piece streams around the ring while the next one is sent.
// A step whose piece is empty (a short chunk) is skipped by its sender and its receiver
// alike: both compute the same chunk for the same message. A reduction is folded in ring
// order (the chunk's first rank, then each next one), rounded to the type at every hop, as a
// ring does; weftAvg divides once, where the chunk is complete.
//
// Channels (on the GPU one block each) split every chunk and have FIFOs of their own, so they
// never wait for one another.
#pragma once

#include <cstddef>
#include <cstdint>

#include "collectives/device/proto/coll.h"
#include "collectives/device/proto/direct.h"
#include "collectives/device/proto/net_fifo.h"

namespace weft::proto {

constexpr int kNetRingMaxChannels = 16;

struct NetRingArgs {
  DeviceColl coll = DeviceColl::kAllReduce;
  int pos = 0;     // this rank's position on the ring; data flows from pos to pos + 1
  int nranks = 1;  // ranks on the ring
  int root = 0;    // broadcast, reduce: the root's position
  // ring[q]: the rank at position q, whose block an all-gather or reduce-scatter moves.
  const int* ring = nullptr;
  // In place as NCCL's (one_shot.h says how); count is the C API's (elements per block).
  const void* input = nullptr;
  void* output = nullptr;
  size_t count = 0;
  int divisor = 0;  // weftAvg: divide the rounded sum (one_shot.h)
  int channels = 1;
  // Per channel: the FIFO to the next rank (this kernel produces) and from the previous
  // rank (this kernel consumes), and the messages this rank has sent on and received from
  // them so far (its own memory; the call advances them).
  const NetFifo* send = nullptr;
  const NetFifo* recv = nullptr;
  uint64_t* sent = nullptr;
  uint64_t* received = nullptr;
  WaitLimits limits;
  // Where a wait that gives up says whom it waited for: 1 + the rank before this one (data
  // that did not arrive) or after it (a slot it did not free), as ring[] names them.
  uint32_t* stuck_source = nullptr;
};

// What one step of the ring does with its piece.
struct NetRingStep {
  int chunk = 0;  // the ring position whose chunk (or block) it moves
  bool recv = false;
  bool reduce = false;  // combine what arrived with the local data (else copy it)
  bool send = false;
  bool write = false;  // write the result into the output
  bool final = false;  // the reduction is complete: weftAvg divides here
};

WEFT_HOST_DEVICE inline int NetRingMod(int a, int n) {
  return ((a % n) + n) % n;
}

// Steps of one piece.
WEFT_HOST_DEVICE inline int NetRingSteps(const NetRingArgs& a) {
  const int n = a.nranks;
  switch (a.coll) {
    case DeviceColl::kAllReduce:
      return 2 * n - 1;
    case DeviceColl::kReduceScatter:
    case DeviceColl::kAllGather:
      return n;
    default:
      return 1;
  }
}

// Step j of a piece on a ring of at least two ranks.
WEFT_HOST_DEVICE inline NetRingStep NetRingStepOf(const NetRingArgs& a, int j) {
  const int n = a.nranks;
  NetRingStep s;
  switch (a.coll) {
    case DeviceColl::kAllReduce:
      s.chunk = NetRingMod(a.pos - j, n);
      s.recv = j > 0;
      s.reduce = j > 0 && j < n;
      s.send = j < 2 * n - 2;
      s.write = j >= n - 1;
      s.final = j == n - 1;
      break;
    case DeviceColl::kReduceScatter:
      s.chunk = NetRingMod(a.pos - j - 1, n);
      s.recv = j > 0;
      s.reduce = j > 0;
      s.send = j < n - 1;
      s.write = j == n - 1;
      s.final = j == n - 1;
      break;
    case DeviceColl::kAllGather:
      s.chunk = NetRingMod(a.pos - j, n);
      s.recv = j > 0;
      s.send = j < n - 1;
      s.write = true;
      break;
    case DeviceColl::kBroadcast: {  // root, root + 1, ..., root - 1
      const int d = NetRingMod(a.pos - a.root, n);
      s.chunk = a.root;
      s.recv = d > 0;
      s.send = d < n - 1;
      s.write = true;
      break;
    }
    case DeviceColl::kReduce: {  // root + 1, root + 2, ..., root
      const int d = NetRingMod(a.pos - a.root - 1, n);
      s.chunk = a.root;
      s.recv = d > 0;
      s.reduce = d > 0;
      s.send = d < n - 1;
      s.write = d == n - 1;
      s.final = d == n - 1;
      break;
    }
  }
  return s;
}

// The buffers of one chunk as a step sees them.
template <typename S>
struct NetRingBuffers {
  const S* local;     // the input of the step's chunk
  S* out;             // where its result goes
  size_t begin, end;  // the channel's elements of the chunk, relative to local and out
};

// The input and output of chunk `chunk`, and channel `channel`'s part of it.
template <typename S>
WEFT_HOST_DEVICE inline NetRingBuffers<S> NetRingChunk(const NetRingArgs& a, int chunk,
                                                       int channel) {
  constexpr size_t kUnit = DirectUnit<S>();
  const auto* in = static_cast<const S*>(a.input);
  auto* out = static_cast<S*>(a.output);
  NetRingBuffers<S> b{in, out, 0, 0};
  Span whole{0, a.count};
  switch (a.coll) {
    case DeviceColl::kAllReduce:
      whole = DirectSplit(a.count, a.nranks, chunk, kUnit);
      break;
    case DeviceColl::kReduceScatter:  // block ring[chunk] of the input; the output is one block
      b.local = in + static_cast<size_t>(a.ring[chunk]) * a.count;
      break;
    case DeviceColl::kAllGather:  // the input is one block; block ring[chunk] of the output
      b.out = out + static_cast<size_t>(a.ring[chunk]) * a.count;
      break;
    default:
      break;
  }
  const Span s = DirectSplit(whole.end - whole.begin, a.channels, channel, kUnit);
  b.begin = whole.begin + s.begin;
  b.end = whole.begin + s.end;
  return b;
}

// Elements of one piece: a whole number of split units that fits a slot.
template <typename S>
WEFT_HOST_DEVICE inline size_t NetRingPieceElems(size_t slot_bytes) {
  return slot_bytes / kDirectUnitBytes * DirectUnit<S>();
}

// The smallest slot the ring takes: one split unit.
constexpr size_t kNetRingMinSlotBytes = kDirectUnitBytes;

// Thread 0 runs a wait; the block learns its outcome through *shared (direct.h's way).
template <typename Wait>
WEFT_HOST_DEVICE inline WaitResult NetRingWait(Wait wait, uint32_t tid, uint32_t* shared) {
  if (tid == 0) *shared = static_cast<uint32_t>(wait());
  BlockSync();
  const auto r = static_cast<WaitResult>(*shared);
  BlockSync();
  return r;
}

// Channel `channel`'s part of the call, by thread tid of nthreads (on the GPU one block's
// threads, with `shared` in its shared memory; on the CPU 1 of 1). Returns the first wait
// that did not end ready (what was not reached of the output is left as it was; the FIFOs'
// counters are then the proxy's to abandon).
template <typename F, typename Op>
WEFT_HOST_DEVICE WaitResult NetRing(const NetRingArgs& a, int channel, uint32_t tid,
                                    uint32_t nthreads, uint32_t* shared) {
  using S = typename F::Stored;
  const int n = a.nranks;
  if (n == 1) {  // nothing to move: the output is the input
    const NetRingBuffers<S> b = NetRingChunk<S>(a, 0, channel);
    const S* from = a.coll == DeviceColl::kReduceScatter ? b.local : static_cast<const S*>(a.input);
    if (static_cast<const void*>(b.out + b.begin) != static_cast<const void*>(from + b.begin)) {
      if (a.divisor > 1 && (a.coll == DeviceColl::kAllReduce || a.coll == DeviceColl::kReduce ||
                            a.coll == DeviceColl::kReduceScatter)) {
        const S* ins[1] = {from + b.begin};
        DirectReduce<F, Op>(b.out + b.begin, ins, 1, b.end - b.begin, a.divisor, tid, nthreads);
      } else {
        DirectCopy(b.out + b.begin, from + b.begin, (b.end - b.begin) * sizeof(S), tid, nthreads);
      }
    }
    return WaitResult::kReady;
  }
  const NetFifo& tx = a.send[channel];
  const NetFifo& rx = a.recv[channel];
  const size_t piece =
      NetRingPieceElems<S>(tx.slot_bytes < rx.slot_bytes ? tx.slot_bytes : rx.slot_bytes);
  const int steps = NetRingSteps(a);
  // The most pieces any chunk of this channel has.
  size_t pieces = 0;
  for (int q = 0; q < (a.coll == DeviceColl::kAllReduce ? n : 1); ++q) {
    const NetRingBuffers<S> b = NetRingChunk<S>(a, q, channel);
    const size_t k = (b.end - b.begin + piece - 1) / piece;
    pieces = k > pieces ? k : pieces;
  }
  uint64_t sent = a.sent[channel];
  uint64_t received = a.received[channel];
  auto stuck = [&](int position) {
    if (a.stuck_source != nullptr)
      StoreRelease(a.stuck_source, static_cast<uint32_t>(a.ring[position]) + 1);
  };
  for (size_t p = 0; p < pieces; ++p) {
    for (int j = 0; j < steps; ++j) {
      const NetRingStep st = NetRingStepOf(a, j);
      const NetRingBuffers<S> b = NetRingChunk<S>(a, st.chunk, channel);
      const size_t first = b.begin + p * piece;
      if (first >= b.end) continue;  // this chunk has no piece p: nor does its peer's step
      const size_t elems = (b.end - first < piece) ? b.end - first : piece;
      // (Off the root a broadcast has no input and a reduce no output: null, never offset.)
      const S* local = b.local != nullptr ? b.local + first : nullptr;
      S* out = b.out != nullptr ? b.out + first : nullptr;
      const S* arrived = nullptr;
      S* outgoing = nullptr;
      if (st.recv) {
        const WaitResult w =
            NetRingWait([&] { return NetFifoWaitData(rx, received, a.limits); }, tid, shared);
        if (w != WaitResult::kReady) {
          if (tid == 0) stuck(NetRingMod(a.pos - 1, n));
          return w;
        }
        arrived = reinterpret_cast<const S*>(rx.Slot(received));
      }
      if (st.send) {
        const WaitResult w =
            NetRingWait([&] { return NetFifoWaitSpace(tx, sent, a.limits); }, tid, shared);
        if (w != WaitResult::kReady) {
          if (tid == 0) stuck(NetRingMod(a.pos + 1, n));
          return w;
        }
        outgoing = reinterpret_cast<S*>(tx.Slot(sent));
      }
      // The step's result goes to the first of (output, send slot) it has; then, where it
      // has both, from there to the other.
      S* first_dest = st.write ? out : outgoing;
      if (st.reduce) {
        const S* ins[2] = {arrived, local};
        DirectReduce<F, Op>(first_dest, ins, 2, elems, st.final ? a.divisor : 0, tid, nthreads);
      } else {
        const S* from = st.recv ? arrived : local;
        if (from != first_dest) DirectCopy(first_dest, from, elems * sizeof(S), tid, nthreads);
      }
      if (st.write && st.send) {
        BlockSync();  // the output's elements, written by any thread, are read by another
        DirectCopy(outgoing, out, elems * sizeof(S), tid, nthreads);
      }
      BlockSync();
      if (tid == 0) {
        FenceSystem();
        if (st.recv) NetFifoRelease(rx, received);
        if (st.send) NetFifoPost(tx, sent, elems * sizeof(S));
      }
      if (st.recv) ++received;
      if (st.send) ++sent;
    }
  }
  if (tid == 0) {
    a.sent[channel] = sent;
    a.received[channel] = received;
  }
  return WaitResult::kReady;
}

}  // namespace weft::proto
