// One-shot collectives for small messages between the ranks of one host: NCCL's LL
// protocol in its one-hop form (collectives/device/proto/one_shot.h, the code the GPU kernel
// runs). Each rank's scratch, shared memory mapped into every peer at init, takes one slot
// per source rank; a rank stores what each peer needs of its input there as LL lines (4 bytes
// of data and a 4-byte flag per 8-byte word, the flag the call's epoch) and then builds its
// output from the lines in its own scratch as they arrive: all-reduce, reduce-scatter and
// reduce reduce them in rank order, all-gather and broadcast copy them. No FIFO counters, no
// barrier, one hop: a rank waits only for the lines it reads. Twice the bytes of the data
// cross per peer: for small calls only (WEFT_ONE_SHOT_MAX_BYTES per rank's block).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "collectives/device/proto/one_shot.h"
#include "collectives/plan.h"

namespace weft {

// A rank's doorbell, in front of its scratch on the host, so that a rank that waits long
// sleeps (a futex on `rung`) instead of polling lines. The sleeper raises `waiting`, fences,
// and looks at the line it waits for once more; a peer that has stored all its lines of a
// call fences and, only if `waiting` is up, rings (`rung` + 1) and wakes it. One of the two
// always sees the other; a call with nobody asleep pays a fence and a read of a line that
// stays in every cache.
struct alignas(64) OneShotBell {
  uint32_t rung;
  uint32_t waiting;
};

// A communicator's one-shot scratch, as this rank sees it: every rank's, mapped here, and
// this rank's count of one-shot calls (the protocol's epoch; every rank counts alike).
struct OneShotScratch {
  std::vector<proto::LlLine*> ranks;  // by rank
  std::vector<OneShotBell*> bells;    // by rank (null: no doorbells, waiters yield)
  size_t lines = 0;                   // per (parity, source) slot
  uint32_t epoch = 0;

  size_t max_bytes() const { return lines * proto::kLlDataBytes; }
  // Bytes of one rank's scratch for calls of up to `max_bytes` among `nranks` (its lines; the
  // doorbell in front of them takes sizeof(OneShotBell) more).
  static size_t Bytes(int nranks, size_t max_bytes);
};

// The plan: one kOneShot step (none for an empty call).
Status BuildOneShotPlan(CollType coll, int rank, int nranks, size_t count, int root, Plan* out);

// The protocol's name of a collective.
proto::OneShotColl ToOneShotColl(CollType c);

// Runs (or, with a.cursor, goes on with) the protocol on this thread for a (type, op) it
// computes (OneShotTakesType); kNotYet when a line it needs has not arrived within
// a.limits.max_looks looks.
proto::WaitResult RunOneShotOnHost(weftDataType_t type, weftRedOp_t op,
                                   const proto::OneShotArgs& a);
// The types the protocol computes: every type of the API (fp16, bf16 and fp8 in float32,
// rounded once after the last rank's input).
bool OneShotTakesType(weftDataType_t type);

}  // namespace weft
