// How a collective on device buffers moves through pinned host memory in pieces, so that
// the device copies overlap the host collective: while the host runs piece k, the device
// copies piece k+1 in and piece k-1 back out. Plain data, built and tested without CUDA
// (tests/unit/staging_plan_test.cc runs the plans of every collective for N ranks on host
// arrays against the collective itself).
//
// Pieces split the per-rank count, so every rank gets the same pieces and runs the same
// sequence of host collectives. All-gather and reduce-scatter lay each piece out as the host
// collective needs it (N rows of the piece, one per rank, contiguous), which makes their
// device-side copies strided: a StagingCopy is 2-D (rows at a pitch on each side).
//
// The staging memory is a few slots of one piece each (two by default: double buffering),
// which the pieces take in turn, so a call of any size stages through a bounded amount of
// pinned memory; staged_call.h orders the copies so that a slot is refilled only after its
// previous piece was copied back out.
#pragma once

#include <cstddef>
#include <vector>

#include "collectives/coll_args.h"
#include "collectives/device/device_phase.h"

namespace weft {

// At most this many pieces per collective: each is a host collective, an event and a gate.
constexpr size_t kMaxStagingPieces = 64;
// Staging slots per collective by default: one piece in the host collective while the
// device copies the next one in and the previous one out.
constexpr size_t kStagingSlots = 2;

// `rows` rows of `bytes` bytes: row i starts at device_offset + i * device_pitch in the
// user's device buffer and at host_offset + i * host_pitch in the staging region.
struct StagingCopy {
  size_t device_offset = 0;
  size_t host_offset = 0;
  size_t bytes = 0;
  size_t rows = 1;
  size_t device_pitch = 0;
  size_t host_pitch = 0;
};

struct StagingPiece {
  size_t begin = 0;             // the piece's first element in a per-rank block
  size_t slot = 0;              // the staging slot it uses
  std::vector<StagingCopy> in;  // device send buffer -> staging send region
  // The host collective of this piece: the call's collective, type, op and root, with this
  // count (the API's meaning) on these offsets into the staging regions.
  size_t count = 0;
  size_t send_offset = 0;
  size_t recv_offset = 0;
  std::vector<StagingCopy> out;  // staging recv region -> device recv buffer
};

struct StagingPlan {
  size_t slots = 0;  // piece k uses slot k % slots
  size_t slot_send_bytes = 0;
  size_t slot_recv_bytes = 0;
  size_t send_bytes = 0;  // sizes of the two staging regions: slots x slot bytes
  size_t recv_bytes = 0;
  std::vector<StagingPiece> pieces;  // none for a count of 0
};

// `piece_bytes`: about how many bytes one piece moves through the host collective (its
// larger buffer); 0 means one piece. Pieces hold whole 16-byte vectors except the last.
// `slots`: staging slots the pieces take in turn (fewer when there are fewer pieces).
StagingPlan PlanStaging(const CollArgs& a, int rank, int nranks, size_t piece_bytes,
                        size_t slots = kStagingSlots);

// Copies back to the device run as kernel tasks (so a failed piece is skipped and leaves
// the user's buffer alone): one task per row, kMaxDeviceTasks per launch.
size_t CopyOutLaunches(const StagingPiece& piece);
size_t CopyOutLaunches(const StagingPlan& plan);  // the whole plan's, for its descriptors
// Fills the tasks of launch `launch` of `piece`'s copy-out (0 <= launch < CopyOutLaunches)
// into `phase` (ntasks, tasks; skip and divisor are left alone); returns the largest task's
// element count. `host_recv` is the staging recv region as the device addresses it.
size_t FillCopyOut(const StagingPiece& piece, size_t launch, const void* host_recv,
                   void* device_recv, size_t elem_size, DevicePhase* phase);

}  // namespace weft
