// Collectives on device buffers, ordered on the caller's CUDA stream. The communicator
// hands every call whose buffers are on the GPU to its DeviceEngine, which queues the work
// on the stream and returns; the engine's thread does the host side (see device_queue.h).
//
// Two paths, chosen at creation and the same on every rank (and on the first, small calls
// run as one GPU-driven kernel each: device_kernels.h):
//  * CUDA IPC (every rank on one host): ranks exchange IPC handles of the call's buffers,
//    and kernels read the peers' buffers directly: all-reduce is a reduce-scatter (each rank
//    reduces its chunk from all N inputs in one pass) then an all-gather, both in place in
//    the peers' memory, with host barriers between phases.
//  * across hosts (otherwise), for the five ring collectives with a built-in op: one ring
//    kernel per call reduces on the device and writes into FIFOs in pinned host memory the
//    device maps, and the communicator's network proxy moves them over the transport
//    (net_proxy.h); the host reduces nothing. The engine's thread drives the proxy while
//    the kernel runs; the stream never waits for the host.
//  * host staging (the rest: PreMulSum, point to point, WEFT_NET_KERNEL=0): device -> pinned
//    host copy, the host collective (UCX, shared FIFOs), pinned host -> device copy, in
//    pieces so the copies overlap the host collective (staged_call.h).
// Builds without CUDA compile device_engine_none.cc: every buffer is host memory there.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collectives/coll_args.h"
#include "common/status.h"

namespace weft {

class HostCollectives;

// Where a buffer lives, from cudaPointerGetAttributes.
struct BufferLocation {
  bool device = false;  // device or managed memory: the collective is stream-ordered
  int device_id = -1;
};
// Never fails: memory CUDA does not know (or no CUDA at all) is host memory.
BufferLocation LocateBuffer(const void* ptr);
// Whether this process sees a CUDA device (asked once per communicator, at init).
bool CudaDevicePresent();
// The calling thread's current CUDA device; -1 without CUDA or a device.
int CurrentCudaDevice();
// The PCI id of the calling thread's current CUDA device, as CUDA spells it; "" if none.
std::string CurrentGpuPciId();

// Device memory as NCCL's ncclMemAlloc gives it: `bytes` on the calling thread's current
// device, one allocation of its own, so that CUDA IPC can share it and it may hold a whole
// window (weftCommWindowRegister). Without CUDA, a clear error.
Status AllocateDeviceMemory(size_t bytes, void** ptr);
// Frees what AllocateDeviceMemory gave (nullptr: nothing).
Status FreeDeviceMemory(void* ptr);

// Reads `bytes` (at most 8) from a scalar in device memory (a PreMulSum's weftScalarDevice)
// on a stream of its own that waits for no other: the caller's stream may be held at
// Weft's own gate while this runs, so a copy on the legacy default stream could deadlock.
Status ReadDeviceScalar(const void* ptr, size_t bytes, std::array<uint8_t, 8>* out);

// The CUDA IPC path reduces every rank's input in one kernel pass (kMaxDeviceInputs).
constexpr int kMaxDeviceRanksIpc = 16;

struct DeviceEngineOptions {
  int device = 0;
  bool ipc = false;  // the CUDA IPC path
  // The staging path moves the call through host memory in pieces of about this many bytes
  // (staging_plan.h); 0: one piece. Must be the same on every rank.
  size_t staging_piece_bytes = 4 << 20;
  int64_t timeout_ms = 300000;
  int rank = 0;
  int nranks = 1;
  // On the CUDA IPC path, calls whose block holds up to this many bytes run as one kernel, the
  // one-shot LL protocol synchronized through flags, no host stage (device_kernels.h);
  // 0: never. Must be the same on every rank (WEFT_ONE_SHOT_MAX_BYTES).
  size_t one_shot_max_bytes = 0;
  // Larger calls run as one direct kernel each where every rank is a thread of one process
  // (device_kernels.h). Must be the same on every rank (WEFT_CUDA_DIRECT).
  bool direct = true;
  // Where it runs through the staging, peers read the calls' buffers in place once mapped
  // (registration_cache.h; WEFT_CUDA_BUFFER_CACHE).
  bool buffer_cache = true;
  // For tests: staged even where every rank is a thread of one process (WEFT_CUDA_FORCE_STAGED).
  bool force_staged = false;
  // Off the CUDA IPC path (ranks on several hosts), the five ring collectives with a
  // built-in op run as one ring kernel each that reduces on the device, while the
  // communicator's network proxy moves its FIFOs (net_proxy.h; WEFT_NET_KERNEL). The same on
  // every rank.
  bool net_kernel = true;
  // Where the engine counts the bytes of device data the host's CPU reduced (each staged
  // piece of a reducing collective adds this rank's input); null: not counted.
  std::atomic<uint64_t>* host_reduced_bytes = nullptr;
};

class DeviceEngine {
 public:
  virtual ~DeviceEngine() = default;
  // Queues one collective on a.stream; returns without waiting for the device or peers.
  virtual Status Enqueue(const CollArgs& a) = 0;
  // Queues a group's sends and receives (one stream) the same way, through host staging.
  virtual Status EnqueueP2P(const std::vector<P2PArgs>& ops) = 0;
  // Waits (bounded by WEFT_TIMEOUT_MS) until every queued collective has finished its host
  // side; returns the engine's error, if any.
  virtual Status Drain() = 0;
  // Fails everything pending (kernels skip, streams are released) and stops the thread.
  virtual void Abort(const Status& why) = 0;
  virtual Status error() const = 0;
  virtual int device() const = 0;
  virtual const char* path() const = 0;  // "cuda-ipc" or "staged"
  // The path a call takes: path(), or "oneshot-kernel" / "direct-kernel" /
  // "direct-staged-kernel" / "direct-inplace-kernel" / "net-ring-kernel" for the GPU-driven
  // calls.
  virtual const char* PathOf(const CollArgs&) const { return path(); }
  // Collective (weftCommWindowRegister): [p, p + bytes) mapped into the peers for the direct
  // kernel (device_kernels.h); *slot -1 where that serves nothing.
  virtual Status RegisterWindow(void*, size_t, int* slot) {
    *slot = -1;
    return Status::Ok();
  }
  virtual Status DeregisterWindow(int) { return Status::Ok(); }
};

// `host` runs the host side (IPC handle exchange, barriers, staged collectives); it outlives
// the engine.
Status CreateDeviceEngine(HostCollectives* host, const DeviceEngineOptions& options,
                          std::unique_ptr<DeviceEngine>* out);

// Bytes each rank sends and receives for a collective, and which buffers it uses.
struct CollBytes {
  size_t send = 0;
  size_t recv = 0;
  bool uses_send = true;  // false: broadcast on a non-root rank
  bool uses_recv = true;  // false: reduce on a non-root rank
};
CollBytes BytesOf(const CollArgs& a, int rank, int nranks);

// Element range [begin, end) of rank q's chunk when `count` elements are split over n
// ranks, with chunk boundaries on 16-byte multiples so every chunk vectorizes alike.
void ChunkRange(size_t count, size_t elem_size, int n, int q, size_t* begin, size_t* end);

}  // namespace weft
