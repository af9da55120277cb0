// The one-shot LL collectives (collectives/device/proto/one_shot.h) as a CUDA kernel: one
// block whose threads share the lines. Host-callable; no CUDA headers here. The device
// engine launches it for small collectives (device_one_shot.h).
#pragma once

#include <cstdint>

#include "collectives/device/proto/one_shot.h"
#include "common/status.h"
#include "weft/weft.h"

namespace weft {

// Whether the kernel serves this type: every type of the API (fp16, bf16 and fp8 computed
// in float32 and rounded once, as the host's one-shot does).
bool OneShotServes(weftDataType_t type);

// Queues the kernel on `stream` (a cudaStream_t) with `threads` threads. `args` is copied
// into the launch; what it points to (scratch table, scratch, epoch, abort flag) must be
// device-accessible. *status (device or mapped host memory, 0 before the launch) stays 0
// when every line arrived, else takes a failing thread's WaitResult.
Status LaunchOneShot(const proto::OneShotArgs& args, weftDataType_t type, weftRedOp_t op,
                     int threads, uint32_t* status, void* stream);

// Loads every instantiation of the kernel now (CUDA loads modules lazily, and a first launch
// behind a spinning kernel can wait for the device forever: docs/cuda.md).
Status PreloadOneShotKernels();

}  // namespace weft
