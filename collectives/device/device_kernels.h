// The GPU-driven collectives between the ranks of one host (docs/cuda.md): one kernel per
// call, synchronized with its peers through flags in mapped memory, with no host stage and no
// gate, so a call costs its launch and its peers' flags, and a CUDA graph captures it.
//   - Small calls: the one-shot LL protocol (proto/one_shot.h), each rank storing its input
//     into its peers' scratch.
//   - Large calls, where every rank is a thread of this process (NCCL's one process, many
//     GPUs): the direct protocol (proto/direct.h), each rank reading its peers' buffers where
//     they lie.
//   - Large calls, where the ranks are processes (one per GPU, as frameworks run): the same
//     protocol through each rank's staging (proto/direct_staged.h), since a peer cannot read
//     a buffer it has not mapped; a buffer in a registered window (window_table.h), or
//     published once and mapped by every peer (registration_cache.h), is read in place.
// Its memory is set up once, when the device engine starts: every rank's scratch, boards and
// staging (device memory, zeroed) mapped into every peer (CUDA IPC, or the pointer itself
// where the peer is a thread of this process), the rank's epochs (device memory, advanced by
// the kernels, so a graph replays them as they are), and in mapped host memory the abort
// flag the kernels watch and the status a failing kernel leaves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "collectives/algorithms/one_shot.h"
#include "collectives/coll_args.h"
#include "collectives/device/device_cost.h"
#include "collectives/device/proto/direct.h"
#include "collectives/device/registration_cache.h"
#include "collectives/device/window_table.h"
#include "common/status.h"
#include "transport/cuda_ipc/cuda_ipc.h"
#include "transport/shm/shared_buffer.h"

namespace weft {

class HostCollectives;

// Whether the GPU-driven kernels serve a call at all: at least one element, a type they
// compute in, a built-in op (a PreMulSum stays on the gated path, which multiplies first).
inline bool DeviceKernelTakes(const CollArgs& a) {
  return a.count > 0 && OneShotTakesType(a.type) &&
         (a.op == weftSum || a.op == weftProd || a.op == weftMax || a.op == weftMin ||
          a.op == weftAvg);
}

// Whether the one-shot kernel takes a call: one the kernels serve whose block (the C API's
// count) holds at most `max_bytes` bytes.
inline bool DeviceOneShotTakes(const CollArgs& a, size_t element_bytes, size_t max_bytes) {
  return DeviceKernelTakes(a) && a.count * element_bytes <= max_bytes;
}

// Whether the direct kernel takes a call, where the job allows it at all (every rank a thread
// of this process): any call the kernels serve, of any size.
inline bool DeviceDirectTakes(const CollArgs& a) {
  return DeviceKernelTakes(a);
}

// The kernel that takes a call, for a job on `nranks` ranks whose one-shot scratch holds
// blocks up to `max_bytes` and which allows the direct kernel (`direct`; through the staging
// where `staged`): where both could, the cheaper by `terms` (device_cost.h); none: the gated
// path. The same on every rank (the call and the job only).
enum class DeviceKernel { kNone, kOneShot, kDirect };
inline DeviceKernel DeviceKernelFor(const CollArgs& a, size_t element_bytes, size_t max_bytes,
                                    int nranks, bool direct, bool staged,
                                    const DeviceCostTerms& terms) {
  const bool direct_takes = direct && DeviceDirectTakes(a);
  if (DeviceOneShotTakes(a, element_bytes, max_bytes) &&
      (!direct_takes || OneShotCheaper(a.coll, a.count * element_bytes, nranks, staged, terms)))
    return DeviceKernel::kOneShot;
  return direct_takes ? DeviceKernel::kDirect : DeviceKernel::kNone;
}

// Blocks (channels) of a direct call moving `bytes` of data, for a job that allows at most
// `max_channels`: one per MiB, so that small calls do not pay for many blocks' flags. The
// same on every rank (it depends on the call and the job only).
inline int DirectChannelsFor(size_t bytes, int max_channels) {
  const size_t want = (bytes + (1u << 20) - 1) >> 20;
  return static_cast<int>(want < 1                                   ? 1
                          : want > static_cast<size_t>(max_channels) ? max_channels
                                                                     : want);
}

// At most this many channels per rank: the blocks of every rank that shares a GPU must run at
// once (each waits for its peers'), so a job keeps them to half of the GPU's SMs.
inline int DirectMaxChannels(int sms, int ranks_on_gpu) {
  const int share = sms / (2 * (ranks_on_gpu < 1 ? 1 : ranks_on_gpu));
  return share < 1 ? 1 : share > proto::kDirectMaxChannels ? proto::kDirectMaxChannels : share;
}

// Staging per channel of the direct kernel where the ranks are processes: rounds of about
// this much (a window per peer), three flag rounds each.
constexpr size_t kDirectStagingBytes = size_t{1} << 20;

class DeviceKernels {
 public:
  struct Options {
    int device = 0;
    int rank = 0;
    int nranks = 1;
    size_t max_bytes = 64 << 10;  // WEFT_ONE_SHOT_MAX_BYTES (0: no one-shot)
    bool direct = true;           // WEFT_CUDA_DIRECT: large calls too, where the job allows
    DeviceCostTerms cost;         // where both kernels could take a call, which is cheaper
    bool buffer_cache = true;     // WEFT_CUDA_BUFFER_CACHE (staged mode)
    bool force_staged = false;    // WEFT_CUDA_FORCE_STAGED (tests)
    int64_t timeout_ms = 300000;  // each wait of a kernel
  };
  // Collective: every rank of the engine calls it; the scratch exchange runs on `host`.
  static Status Create(HostCollectives* host, const Options& o,
                       std::unique_ptr<DeviceKernels>* out);
  ~DeviceKernels();
  DeviceKernels(const DeviceKernels&) = delete;
  DeviceKernels& operator=(const DeviceKernels&) = delete;

  // The kernel a call takes: "oneshot-kernel", "direct-kernel" (threads of one process),
  // "direct-staged-kernel" (processes; this rank's input through its staging),
  // "direct-inplace-kernel" (processes; its input read where it lies: a window, or the
  // buffer cache once every peer has mapped it), or null (the gated path).
  const char* PathOf(const CollArgs& a) const;
  // Queues the call's kernel on a.stream (PathOf(a) not null; the engine's enqueue lock
  // held: launches keep call order).
  Status Launch(const CollArgs& a);
  bool direct() const { return direct_; }
  bool staged() const { return staging_ != nullptr; }
  int direct_max_channels() const { return direct_channels_; }
  // Collective (weftCommWindowRegister): maps [p, p + bytes), device memory of one
  // allocation, into every peer as a window, so that the direct kernel's peers read a call's
  // buffers that lie in it where they lie instead of through the owner's staging. *slot: the
  // window's, or -1 where windows serve nothing (no staging: threads of one process read
  // each other's buffers anyway, or no direct kernel). No kernel of this job may run meanwhile.
  Status RegisterWindow(HostCollectives* host, void* p, size_t bytes, int* slot);
  // Collective: every rank's calls that use the window have completed (their streams
  // synchronized) before any rank calls it.
  Status DeregisterWindow(HostCollectives* host, int slot);
  // Every running and later kernel returns at its next look (weftCommAbort, a failed peer).
  void RaiseAbort();
  // Ok, or why a kernel gave up (the peer it waited for named), once one has.
  Status KernelStatus() const;

 private:
  DeviceKernels() = default;
  Status Init(HostCollectives* host);
  // Allocates this rank's staging and maps every peer's (collective).
  Status InitStaging(HostCollectives* host, std::vector<void*>* table);
  DeviceKernel KernelFor(const CollArgs& a) const;
  Status LaunchOneShot(const CollArgs& a);
  Status LaunchDirect(const CollArgs& a);
  // [p, p + bytes) as a window word (proto::DirectWindowWord), or 0 if no window holds it
  // (or its allocation is gone: logged once).
  uint64_t WindowWordOf(const void* p, size_t bytes);
  // The registration cache (staged mode): its mailboxes, set up with the staging.
  Status InitBufferCache(const std::vector<int32_t>& pids, const std::vector<SharedRange>& boxes);
  // Maps what peers published since the last poll (a failure to map is logged: that
  // peer's buffer stays staged).
  Status PollBufferCache();
  // [p, p + bytes) as a window word in the cache's slots, publishing its allocation at
  // first sight where `publish`; 0 until every peer has mapped it (or it cannot be shared).
  uint64_t CachedWordOf(const void* p, size_t bytes, bool publish);
  // Whether peers read [p, p + bytes) where it lies (a window, or mapped by every peer).
  bool ReadInPlace(const void* p, size_t bytes) const;
  // Unmaps a peer's allocation the cache mapped (CUDA IPC; a thread-rank's: nothing).
  void CloseCached(void* at);

  Options o_;
  size_t lines_ = 0;
  size_t one_shot_bytes_ = 0;        // the scratch's one-shot part; the boards follow it
  bool direct_ = false;              // large calls take the direct kernel
  int direct_channels_ = 1;          // at most, per call
  void* scratch_ = nullptr;          // this rank's one-shot scratch and boards, device memory
  void* staging_ = nullptr;          // this rank's staging (ranks in several processes)
  void* windows_ = nullptr;          // device memory: [slot][rank] window bases as reached here
  std::vector<Window> window_list_;  // this rank's registered windows, by slot
  BufferIds buffer_ids_;
  void* mailbox_ = nullptr;  // this rank's RegistrationMailbox, host memory peers map
  std::unique_ptr<PeerMappings> mailbox_maps_;      // the peers'
  std::unique_ptr<RegistrationCache> cache_;        // this rank's published allocations
  std::unique_ptr<RegistrationImporter> importer_;  // the peers', mapped here
  std::vector<int32_t> pids_;                       // every rank's process
  std::vector<uintptr_t> unshareable_;  // allocations CUDA IPC refused: staged, not retried
  std::vector<void*> cache_opened_;     // the peers' allocations the cache opened by CUDA IPC
  void* table_ = nullptr;               // device memory: every rank's scratch, then its boards,
                                        // then its staging (or null), as reached here
  void* counters_ = nullptr;            // device memory: KernelCounters (device_kernels.cc)
  uint32_t* host_words_ = nullptr;      // mapped host memory: [0] abort, [1] status, [2] stuck
  uint32_t* device_words_ = nullptr;
  std::vector<void*> opened_;  // peers' scratch and staging opened by CUDA IPC
};

}  // namespace weft
