// The ring across hosts (collectives/device/proto/net_ring.h) as a CUDA kernel: one block
// per channel, whose threads share each piece; its FIFOs are a NetProxy's, in pinned host
// memory the device maps. Host-callable; no CUDA headers here.
#pragma once

#include <cstdint>

#include "collectives/device/proto/net_ring.h"
#include "common/status.h"
#include "weft/weft.h"

namespace weft {

// Threads per block of the ring kernel.
constexpr int kNetRingThreads = 512;

// Queues the kernel on `stream` (a cudaStream_t) with args.channels blocks. What `args`
// points to (the FIFOs, counters, ring, abort flag, buffers) must be reachable from this
// device. *status (0 before) stays 0 when the call completes, else takes a failing block's
// WaitResult; each block adds one to *finished as it returns (the proxy's sign).
Status LaunchNetRing(const proto::NetRingArgs& args, weftDataType_t type, weftRedOp_t op,
                     uint32_t* status, uint32_t* finished, void* stream);

}  // namespace weft
