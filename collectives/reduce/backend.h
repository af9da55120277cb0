// The plan runner's arithmetic, by memory type (UCC's "execution components"): every copy and
// reduction a step does goes through one of these, so the same runner moves host buffers with
// the vectorized CPU code and device buffers with CUDA kernels.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "transport/transport.h"
#include "weft/weft.h"

namespace weft {

// Where a result is written. kCached: data read again soon (a FIFO slot, a result a later
// step forwards). kStream: a large output nothing reads again in this call; the host writes
// it around the caches (collectives/reduce/stream_store.h). A hint: back-ends may ignore it.
enum class StoreHint : uint8_t { kCached, kStream };

class ReduceBackend {
 public:
  virtual ~ReduceBackend() = default;
  virtual const char* name() const = 0;
  // dst = src (bytes).
  virtual Status Copy(void* dst, const void* src, size_t bytes) = 0;
  // dst = a op b, elementwise (weftAvg sums; Divide finishes it). dst may be a or b.
  virtual Status Reduce(void* dst, const void* a, const void* b, size_t count, weftDataType_t type,
                        weftRedOp_t op, StoreHint dst_hint) = 0;
  // dst = dst2 = a op b in one pass (a step that keeps a result and forwards it); the hint is
  // dst's (dst2, the forwarded copy, is always cached).
  virtual Status ReduceTwice(void* dst, void* dst2, const void* a, const void* b, size_t count,
                             weftDataType_t type, weftRedOp_t op, StoreHint dst_hint) = 0;
  // p = p / divisor: weftAvg's last step.
  virtual Status Divide(void* p, size_t count, weftDataType_t type, int divisor) = 0;
};

// The host's: vectorized CPU code (collectives/reduce/reduce.h); never fails.
ReduceBackend* HostReduceBackend();

// The back-end for buffers of `mem`: the host's, or CUDA kernels on a private stream, each
// operation complete when it returns (built with CUDA; otherwise null for device memory).
ReduceBackend* ReduceBackendFor(MemoryType mem);

}  // namespace weft
