// The GPU-driven path for small collectives between the ranks of one host (docs/cuda.md):
// one kernel per call running the one-shot LL protocol (collectives/device/proto/), with no
// host stage and no gate, so a call costs its launch and the peers' lines, and a CUDA graph
// captures it. Its memory is set up once, when the device engine starts: every rank's
// scratch (device memory, zeroed) mapped into every peer (CUDA IPC, or the pointer itself
// where the peer is a thread of this process), the rank's epoch (device memory, advanced by
// the kernel, so a graph replays it as it is), and in mapped host memory the abort flag the
// kernels watch and the status a failing kernel leaves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "collectives/algorithms/one_shot.h"
#include "collectives/coll_args.h"
#include "common/status.h"

namespace weft {

class HostCollectives;

// Whether the one-shot kernel takes a call: any collective whose block (the C API's count)
// holds 1 to `max_bytes` bytes, with a built-in op (a PreMulSum stays on the gated path,
// which multiplies first).
inline bool DeviceOneShotTakes(const CollArgs& a, size_t element_bytes, size_t max_bytes) {
  const size_t bytes = a.count * element_bytes;
  return a.count > 0 && bytes <= max_bytes && OneShotTakesType(a.type) &&
         (a.op == weftSum || a.op == weftProd || a.op == weftMax || a.op == weftMin ||
          a.op == weftAvg);
}

class DeviceOneShot {
 public:
  struct Options {
    int device = 0;
    int rank = 0;
    int nranks = 1;
    size_t max_bytes = 64 << 10;  // WEFT_ONE_SHOT_MAX_BYTES
    int64_t timeout_ms = 300000;  // each wait of a kernel
  };
  // Collective: every rank of the engine calls it; the scratch exchange runs on `host`.
  static Status Create(HostCollectives* host, const Options& o,
                       std::unique_ptr<DeviceOneShot>* out);
  ~DeviceOneShot();
  DeviceOneShot(const DeviceOneShot&) = delete;
  DeviceOneShot& operator=(const DeviceOneShot&) = delete;

  bool Takes(const CollArgs& a) const;
  // Queues the kernel on a.stream (the engine's enqueue lock held: launches keep call order).
  Status Launch(const CollArgs& a);
  // Every running and later kernel returns at its next look (weftCommAbort, a failed peer).
  void RaiseAbort();
  // Ok, or why a kernel gave up (the peer it waited for named), once one has.
  Status KernelStatus() const;

 private:
  DeviceOneShot() = default;
  Status Init(HostCollectives* host);

  Options o_;
  size_t lines_ = 0;
  void* scratch_ = nullptr;         // this rank's, device memory
  void* table_ = nullptr;           // device memory: every rank's scratch as mapped here
  uint32_t* epoch_ = nullptr;       // device memory
  uint32_t* host_words_ = nullptr;  // mapped host memory: [0] abort, [1] status, [2] stuck
  uint32_t* device_words_ = nullptr;
  std::vector<void*> opened_;  // peers' scratch opened by CUDA IPC, closed at the end
};

}  // namespace weft
