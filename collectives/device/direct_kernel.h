// The direct collectives for large messages (collectives/device/proto/direct.h, and
// direct_staged.h where args.staging is set) as a CUDA kernel: one block per channel, whose
// threads share the channel's slices. Host-callable; no
// CUDA headers here. The device engine launches it (device_kernels.h).
#pragma once

#include <cstdint>

#include "collectives/device/proto/direct.h"
#include "common/status.h"
#include "weft/weft.h"

namespace weft {

// Threads per block of the direct kernel.
constexpr int kDirectThreads = 512;

// Queues the kernel on `stream` (a cudaStream_t) with args.channels blocks. What `args`
// points to (boards table, boards, epochs, abort flag, the staging or the buffers of every
// rank) must be reachable from this device. *status (0 before) stays 0 when the call completes,
// else takes a failing block's WaitResult.
Status LaunchDirect(const proto::DirectArgs& args, weftDataType_t type, weftRedOp_t op,
                    uint32_t* status, void* stream);

// Loads every instantiation now (lazy loading behind a spinning kernel: docs/cuda.md).
Status PreloadDirectKernels();

}  // namespace weft
