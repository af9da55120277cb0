// Device reductions: one kernel launch runs the tasks of a DevicePhase (each an N-input
// reduction or a copy) for any data type and operation. Host-callable; no CUDA headers here.
#pragma once

#include <cstddef>

#include "collectives/device/device_phase.h"
#include "common/status.h"
#include "weft/weft.h"

namespace weft {

// Queues one launch on `stream` (a cudaStream_t). The grid is sized now from `ntasks` and
// `max_count` (elements of the largest task); `phase` itself is read by the device when the
// launch runs, so the host may fill it in until then (behind a stream gate). `phase` must be
// device memory or mapped pinned host memory. Returns at once (the launch is asynchronous).
Status LaunchDevicePhase(const DevicePhase* phase, int ntasks, size_t max_count,
                         weftDataType_t type, weftRedOp_t op, int sm_count, void* stream);

// Loads every reduction kernel now. CUDA loads modules lazily at first launch by default
// (CUDA_MODULE_LOADING=LAZY), and a load can wait for the device: a first launch queued
// behind a closed stream gate would wait for a gate that opens only after the launch
// returns. Device collectives call this once, before queuing anything.
Status PreloadDeviceKernels();

}  // namespace weft
