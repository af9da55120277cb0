// Queues one collective on device buffers that goes through pinned host memory, piece by
// piece (staging_plan.h), as stream work plus the host stages of the device queue:
//
//   stream:  in 0, E0, in 1, E1, | G0, out 0, in 2, E2 | G1, out 1, in 3, E3 | ...
//   host:    when E_k completes: the host collective of piece k, then open G_k
//
// With two staging slots (staging_plan.h) piece k+2 reuses piece k's slot, so its copy-in
// follows piece k's copy-out. While the host runs piece k the device copies piece k-1 back
// out and piece k+1 in: copies overlap the host collective, and the time approaches the
// slowest of the three rather than their sum, through two pieces' worth of pinned memory. Copy-outs
// are kernels reading descriptors filled at enqueue with skip set; a piece's host collective clears
// its skip only when it succeeded, so a failure writes no piece from there on.
//
// Device access goes through StagingStream: CUDA in device_engine.cc, a fake device in
// tests/unit/staged_call_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "collectives/device/device_phase.h"
#include "collectives/device/device_queue.h"
#include "collectives/device/staging_plan.h"
#include "common/status.h"

namespace weft {

class StagingStream {
 public:
  virtual ~StagingStream() = default;
  virtual Status RecordEvent(int* id) = 0;
  virtual Status WaitGate(uint32_t value) = 0;
  // Queues the copy `c` from the user's device send buffer to the staging send region.
  virtual Status CopyIn(const StagingCopy& c) = 0;
  // Queues a copy kernel that runs `phase`'s tasks (none when skip is set); `max_count`
  // is its largest task's element count, for the launch shape.
  virtual Status LaunchCopyOut(const DevicePhase* phase, size_t max_count) = 0;
};

struct StagedCall {
  const StagingPlan* plan = nullptr;
  // CopyOutLaunches(*plan) descriptors in memory the device reads; filled here.
  DevicePhase* phases = nullptr;
  const void* host_recv = nullptr;  // the staging recv region, as the device addresses it
  void* device_recv = nullptr;      // the user's recv buffer
  size_t elem_size = 1;
  // Runs the host collective of one piece (blocking, bounded by WEFT_TIMEOUT_MS).
  std::function<Status(const StagingPiece&)> run_piece;
  std::function<uint32_t()> next_gate;  // a fresh gate value, above every earlier one
};

// Queues the call's stream work and appends its stages to `op` (and sets op->skip). On an
// error midway `op` holds the stages whose work was queued, so the caller can still push it
// and fail the queue, releasing the stream.
Status QueueStagedCall(const StagedCall& call, StagingStream* stream, DeviceOp* op);

}  // namespace weft
