#include "collectives/device/device_kernels.h"

#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "collectives/collective.h"
#include "collectives/device/cuda_device.h"
#include "collectives/device/direct_kernel.h"
#include "collectives/device/one_shot_kernel.h"
#include "collectives/device/proto/mem_ops.h"
#include "collectives/host_collectives.h"
#include "common/dtype.h"
#include "common/log.h"
#include "transport/cuda_ipc/cuda_ipc.h"

namespace weft {
namespace {

// What each rank tells the others about its scratch.
struct ScratchRecord {
  IpcBuffer ipc;
  uint64_t pointer = 0;  // in its process
  int32_t pid = 0;
  int32_t device = -1;
  int32_t status = 0;    // weftResult_t of setting it up and exporting it
  int32_t sms = 0;       // its GPU's multiprocessors
  uint8_t gpu[16] = {};  // its GPU's UUID (device numbers differ between processes)
  SharedRange mailbox;   // its registration mailbox (staged mode, WEFT_CUDA_BUFFER_CACHE)
};

// A rank's call counters, in its device memory: the kernels advance them.
struct KernelCounters {
  uint32_t one_shot_epoch;
  uint32_t reserved;
  uint64_t direct_epochs[proto::kDirectMaxChannels];
};

constexpr size_t kBoardsAlign = 256;

size_t AlignUp(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}

Status Cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::Ok();
  (void)cudaGetLastError();
  return CudaError(Format("%s: %s", what, cudaGetErrorString(err)));
}

enum Word { kAbort = 0, kStatus = 1, kStuck = 2, kWords = 4 };

// A non-blocking stream for the set-up's copies; RAII.
struct OwnStream {
  OwnStream() { status = Cuda(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "a stream"); }
  ~OwnStream() {
    if (s != nullptr) (void)cudaStreamDestroy(s);
  }
  OwnStream(const OwnStream&) = delete;
  OwnStream& operator=(const OwnStream&) = delete;
  cudaStream_t s = nullptr;
  Status status;
};

// A record of this rank's buffer at `pointer` on `device`; its set-up fills in the rest.
ScratchRecord RecordOf(int device, const void* pointer) {
  ScratchRecord r;
  r.pid = static_cast<int32_t>(getpid());
  r.device = device;
  r.pointer = reinterpret_cast<uintptr_t>(pointer);
  return r;
}

// Every rank's record, in rank order, over the host collectives. A rank whose set-up failed
// takes part all the same, its status saying so, so that every rank learns of it and none
// waits for a record that will not come.
Status ExchangeRecords(HostCollectives* host, const ScratchRecord& mine, int nranks,
                       std::vector<ScratchRecord>* all) {
  all->assign(static_cast<size_t>(nranks), ScratchRecord());
  const CollArgs g{CollType::kAllGather,
                   &mine,
                   all->data(),
                   sizeof(ScratchRecord),
                   weftUint8,
                   weftSum,
                   0,
                   nullptr};
  return host->Run({g});
}

// Where this process reaches rank q's buffer `what` that `rec` describes (`mine`: this
// rank's record): in this process (this rank, or a thread-rank) the pointer itself, with
// peer access to the peer's GPU; in another, a CUDA IPC mapping, kept in *opened to close.
Status Reach(int q, const ScratchRecord& rec, const ScratchRecord& mine, const char* what,
             std::vector<void*>* opened, void** out) {
  if (rec.pid == mine.pid) {
    if (rec.device != mine.device) {
      const cudaError_t e = cudaDeviceEnablePeerAccess(rec.device, 0);
      if (e != cudaErrorPeerAccessAlreadyEnabled)
        WEFT_CHECK(Cuda(e, Format("peer access to GPU %d", rec.device).c_str()));
      (void)cudaGetLastError();
    }
    *out = reinterpret_cast<void*>(rec.pointer);
  } else {
    void* base = nullptr;
    cudaIpcMemHandle_t h;
    std::memcpy(&h, rec.ipc.handle, sizeof(h));
    WEFT_CHECK(Cuda(cudaIpcOpenMemHandle(&base, h, cudaIpcMemLazyEnablePeerAccess),
                    Format("opening rank %d's %s", q, what).c_str()));
    opened->push_back(base);
    *out = static_cast<std::byte*>(base) + rec.ipc.offset;
  }
  return Status::Ok();
}

}  // namespace

Status DeviceKernels::Create(HostCollectives* host, const Options& o,
                             std::unique_ptr<DeviceKernels>* out) {
  std::unique_ptr<DeviceKernels> d(new DeviceKernels());
  d->o_ = o;
  WEFT_CHECK(d->Init(host));
  *out = std::move(d);
  return Status::Ok();
}

Status DeviceKernels::Init(HostCollectives* host) {
  ScopedDevice on(o_.device);
  lines_ = o_.max_bytes > 0 ? proto::OneShotLines(o_.max_bytes) : 0;
  one_shot_bytes_ =
      o_.max_bytes > 0 ? AlignUp(OneShotScratch::Bytes(o_.nranks, o_.max_bytes), kBoardsAlign) : 0;
  const size_t bytes = one_shot_bytes_ + sizeof(proto::DirectBoard) * proto::kDirectMaxChannels;
  // Set up this rank's part; a failure still takes part in the exchange (ExchangeRecords).
  ScratchRecord mine = RecordOf(o_.device, nullptr);
  (void)cudaDeviceGetAttribute(&mine.sms, cudaDevAttrMultiProcessorCount, o_.device);
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, o_.device) == cudaSuccess)
    std::memcpy(mine.gpu, &prop.uuid, sizeof(mine.gpu));
  // Set-up copies go on a stream of their own that waits for no other: a peer that is a
  // thread of this process may already run a kernel that waits for our lines, on a stream
  // that the legacy default stream (cudaMemset's, cudaMemcpy's) or a device-wide
  // synchronization would wait for.
  OwnStream own;
  Status local = own.status;
  if (local.ok()) local = Cuda(cudaMalloc(&scratch_, bytes), "kernel scratch");
  if (local.ok()) local = Cuda(cudaMemsetAsync(scratch_, 0, bytes, own.s), "kernel scratch");
  if (local.ok()) local = Cuda(cudaMalloc(&counters_, sizeof(KernelCounters)), "kernel counters");
  if (local.ok())
    local = Cuda(cudaMemsetAsync(counters_, 0, sizeof(KernelCounters), own.s), "kernel counters");
  if (local.ok())
    local = Cuda(cudaMalloc(&table_, 3 * sizeof(void*) * o_.nranks), "kernel scratch table");
  if (local.ok())
    local = Cuda(cudaHostAlloc(reinterpret_cast<void**>(&host_words_), sizeof(uint32_t) * kWords,
                               cudaHostAllocMapped),
                 "kernel flags");
  if (local.ok()) {
    std::memset(host_words_, 0, sizeof(uint32_t) * kWords);
    local = Cuda(cudaHostGetDevicePointer(reinterpret_cast<void**>(&device_words_), host_words_, 0),
                 "kernel flags");
  }
  if (local.ok()) local = Cuda(cudaStreamSynchronize(own.s), "kernel scratch");  // zeroed
  if (local.ok()) local = ExportIpcBuffer(scratch_, &mine.ipc);
  mine.pointer = reinterpret_cast<uintptr_t>(scratch_);  // allocated above
  mine.status = local.code();
  std::vector<ScratchRecord> all;
  WEFT_CHECK(ExchangeRecords(host, mine, o_.nranks, &all));
  WEFT_CHECK(local);
  // Every rank's scratch, then its boards, then its staging, as this process reaches them.
  std::vector<void*> table(3 * static_cast<size_t>(o_.nranks), nullptr);
  for (int q = 0; q < o_.nranks; ++q) {
    WEFT_REQUIRE(all[static_cast<size_t>(q)].status == weftSuccess, weftInvalidUsage,
                 "rank %d could not set up its kernel scratch (see its log); set "
                 "WEFT_ONE_SHOT_MAX_BYTES=0 and WEFT_CUDA_DIRECT=0 on every rank to do without",
                 q);
    WEFT_CHECK(Reach(q, all[static_cast<size_t>(q)], mine, "kernel scratch", &opened_,
                     &table[static_cast<size_t>(q)]));
  }
  for (int q = 0; q < o_.nranks; ++q)
    table[static_cast<size_t>(o_.nranks + q)] =
        static_cast<std::byte*>(table[static_cast<size_t>(q)]) + one_shot_bytes_;
  // The direct kernel, with at most half the SMs of the busiest GPU's share; where a rank is
  // in another process, through every rank's staging. Not where processes share a GPU:
  // without MPS they time-slice it, so each of a call's flag waits on a peer in another
  // process lasts until the GPU switches to it; the gated path waits on the host instead.
  direct_ = o_.direct && o_.nranks <= proto::kDirectMaxRanks;
  bool one_process = true;
  int max_channels = proto::kDirectMaxChannels;
  for (const ScratchRecord& rec : all) {
    one_process = one_process && rec.pid == mine.pid;
    for (const ScratchRecord& other : all)
      if (other.pid != rec.pid && std::memcmp(other.gpu, rec.gpu, sizeof(rec.gpu)) == 0)
        direct_ = false;
    int sharing = 0;
    for (const ScratchRecord& other : all)
      sharing += other.pid == rec.pid && other.device == rec.device ? 1 : 0;
    max_channels = std::min(max_channels, DirectMaxChannels(rec.sms, sharing));
  }
  direct_channels_ = max_channels;
  if (direct_ && (!one_process || o_.force_staged)) WEFT_CHECK(InitStaging(host, &table));
  WEFT_CHECK(Cuda(cudaMemcpyAsync(table_, table.data(), sizeof(void*) * table.size(),
                                  cudaMemcpyHostToDevice, own.s),
                  "kernel scratch table"));
  WEFT_CHECK(Cuda(cudaStreamSynchronize(own.s), "kernel scratch table"));
  WEFT_CHECK(PreloadOneShotKernels());
  WEFT_CHECK(PreloadDirectKernels());
  WEFT_INFO(kLogInit,
            "GPU-driven collectives: one-shot for blocks up to %zu bytes; direct for larger "
            "calls %s (at most %d blocks); %.1f KiB of scratch, %.1f MiB of staging",
            o_.max_bytes,
            !direct_ ? "off (WEFT_CUDA_DIRECT=0, over 16 ranks, or processes sharing a GPU)"
            : staging_ == nullptr ? "on"
                                  : "on, through the staging (ranks in several processes)",
            direct_channels_, static_cast<double>(bytes) / 1024,
            staging_ == nullptr
                ? 0.0
                : static_cast<double>(direct_channels_ * kDirectStagingBytes) / (1 << 20));
  return Status::Ok();
}

Status DeviceKernels::InitStaging(HostCollectives* host, std::vector<void*>* table) {
  const size_t bytes = static_cast<size_t>(direct_channels_) * kDirectStagingBytes;
  Status local = Cuda(cudaMalloc(&staging_, bytes), "direct kernel staging");
  ScratchRecord mine = RecordOf(o_.device, staging_);
  // The registered windows' slots, then the registration cache's.
  constexpr size_t kWindowTable =
      sizeof(uint64_t) * (proto::kDirectMaxWindows + kCachedWindows) * proto::kDirectMaxRanks;
  if (local.ok()) local = Cuda(cudaMalloc(&windows_, kWindowTable), "window table");
  OwnStream own;  // waits for no other stream (Init says why)
  if (local.ok()) local = own.status;
  if (local.ok()) local = Cuda(cudaMemsetAsync(windows_, 0, kWindowTable, own.s), "window table");
  if (local.ok()) local = Cuda(cudaStreamSynchronize(own.s), "window table");
  window_list_.resize(proto::kDirectMaxWindows);
  if (local.ok()) local = ExportIpcBuffer(staging_, &mine.ipc);
  // The registration cache's mailbox (nonce 0 in the record: this rank has none).
  // Without one (it could not be made), the cache is off on every rank: nothing fails.
  if (local.ok() && o_.buffer_cache) {
    Status box = AllocateSharedBuffer(sizeof(RegistrationMailbox), &mailbox_);
    if (box.ok()) box = FindSharedBuffer(mailbox_, sizeof(RegistrationMailbox), &mine.mailbox);
    if (!box.ok()) {
      WEFT_WARN(kLogInit, "rank %d: the buffer cache is off (%s)", o_.rank, box.message().c_str());
      if (mailbox_ != nullptr) (void)FreeSharedBuffer(mailbox_);
      mailbox_ = nullptr;
      mine.mailbox = SharedRange();
    }
  }
  mine.status = local.code();
  std::vector<ScratchRecord> all;
  WEFT_CHECK(ExchangeRecords(host, mine, o_.nranks, &all));
  WEFT_CHECK(local);
  std::vector<int32_t> pids;
  std::vector<SharedRange> boxes;
  for (int q = 0; q < o_.nranks; ++q) {
    WEFT_REQUIRE(all[static_cast<size_t>(q)].status == weftSuccess, weftInvalidUsage,
                 "rank %d could not set up its direct kernel staging (%zu bytes of device "
                 "memory; see its log); set WEFT_CUDA_DIRECT=0 on every rank to do without",
                 q, bytes);
    WEFT_CHECK(Reach(q, all[static_cast<size_t>(q)], mine, "direct kernel staging", &opened_,
                     &(*table)[static_cast<size_t>(2 * o_.nranks + q)]));
    pids.push_back(all[static_cast<size_t>(q)].pid);
    boxes.push_back(all[static_cast<size_t>(q)].mailbox);
  }
  return InitBufferCache(pids, boxes);
}

namespace {

// The bytes of a call's input and output at this rank (collective.h's per-collective rule).
size_t InputBytes(const CollArgs& a, int n) {
  return InputCount(a.coll, a.count, n) * TypeSize(a.type);
}
size_t OutputBytes(const CollArgs& a, int n) {
  return OutputCount(a.coll, a.count, n) * TypeSize(a.type);
}

}  // namespace

// Every rank's mailbox mapped here; a rank without one (WEFT_CUDA_BUFFER_CACHE=0 there)
// leaves the cache off here too: it would never acknowledge, so nothing could be read in
// place, and its own calls never name a cached slot. A mailbox this rank cannot map (the
// kernel's ptrace rules, as for weftMemAlloc's buffers) leaves the cache off here only:
// this rank never acknowledges, so its peers stage what they publish, and it publishes
// nothing. Either way every call stays correct, through the staging.
Status DeviceKernels::InitBufferCache(const std::vector<int32_t>& pids,
                                      const std::vector<SharedRange>& boxes) {
  pids_ = pids;
  if (mailbox_ == nullptr) return Status::Ok();
  for (const SharedRange& b : boxes)
    if (b.nonce == 0) return Status::Ok();
  mailbox_maps_ = std::make_unique<PeerMappings>(boxes.size());
  std::vector<RegistrationMailbox*> all;
  for (size_t q = 0; q < boxes.size(); ++q) {
    std::byte* at = nullptr;
    if (static_cast<int>(q) == o_.rank) {
      at = static_cast<std::byte*>(mailbox_);
    } else {
      const Status s = mailbox_maps_->Map(pids[q], boxes[q], &at);
      if (!s.ok()) {
        WEFT_WARN(kLogInit,
                  "rank %d: the buffer cache is off (mapping rank %zu's registration mailbox: "
                  "%s); calls between processes go through the staging",
                  o_.rank, q, s.message().c_str());
        mailbox_maps_.reset();
        return Status::Ok();
      }
    }
    all.push_back(reinterpret_cast<RegistrationMailbox*>(at));
  }
  cache_ = std::make_unique<RegistrationCache>(o_.rank, all);
  importer_ = std::make_unique<RegistrationImporter>(o_.rank, all);
  return Status::Ok();
}

Status DeviceKernels::PollBufferCache() {
  if (!importer_) return Status::Ok();
  ScopedDevice on(o_.device);  // mappings and the table belong to this rank's GPU
  const int32_t me = pids_[static_cast<size_t>(o_.rank)];
  auto open = [&](int q, const PublishedAllocation& p, void** at) -> Status {
    if (pids_[static_cast<size_t>(q)] == me) {  // a thread of this process: its pointer
      *at = reinterpret_cast<void*>(p.base);
      return Status::Ok();
    }
    cudaIpcMemHandle_t h;
    std::memcpy(&h, p.handle, sizeof(h));
    WEFT_CHECK(Cuda(cudaIpcOpenMemHandle(at, h, cudaIpcMemLazyEnablePeerAccess),
                    Format("mapping rank %d's buffer of %llu bytes", q,
                           static_cast<unsigned long long>(p.bytes))
                        .c_str()));
    cache_opened_.push_back(*at);
    return Status::Ok();
  };
  auto close = [&](void* at) { CloseCached(at); };
  // Table entries go on a stream that waits for no other (a thread-rank's kernel may be
  // running), made only when something changed.
  std::unique_ptr<OwnStream> own;
  auto table = [&](int q, int slot, uintptr_t at) -> Status {
    if (!own) own = std::make_unique<OwnStream>();
    WEFT_CHECK(own->status);
    const uint64_t word = at;
    uint64_t* entry =
        static_cast<uint64_t*>(windows_) +
        static_cast<size_t>(proto::kDirectMaxWindows + slot) * proto::kDirectMaxRanks +
        static_cast<size_t>(q);
    WEFT_CHECK(Cuda(cudaMemcpyAsync(entry, &word, sizeof(word), cudaMemcpyHostToDevice, own->s),
                    "window table"));
    return Cuda(cudaStreamSynchronize(own->s), "window table");
  };
  const Status s = importer_->Poll(open, close, table);
  if (!s.ok())
    WEFT_WARN(kLogColl, "rank %d: %s; that buffer goes through its owner's staging", o_.rank,
              s.message().c_str());
  return Status::Ok();
}

bool DeviceKernels::ReadInPlace(const void* p, size_t bytes) const {
  const auto at = reinterpret_cast<uintptr_t>(p);
  int slot = -1;
  if (FindWindow(window_list_, at, bytes, 0, &slot) != WindowMatch::kNone)
    return FindWindow(window_list_, at, bytes, buffer_ids_.Of(p), &slot) == WindowMatch::kFound;
  Allocation al;
  if (!cache_ || !buffer_ids_.Range(p, &al.base, &al.bytes).ok()) return false;
  al.buffer_id = buffer_ids_.Of(p);
  return cache_->MappedByAll(cache_->Find(al));
}

void DeviceKernels::CloseCached(void* at) {
  // A peer's pointer of this process was not opened: nothing to close.
  auto it = std::find(cache_opened_.begin(), cache_opened_.end(), at);
  if (it == cache_opened_.end()) return;
  cache_opened_.erase(it);
  (void)cudaIpcCloseMemHandle(at);
  (void)cudaGetLastError();
}

uint64_t DeviceKernels::CachedWordOf(const void* p, size_t bytes, bool publish) {
  if (!cache_ || p == nullptr || bytes == 0) return 0;
  Allocation al;
  const auto at = reinterpret_cast<uintptr_t>(p);
  if (!buffer_ids_.Range(p, &al.base, &al.bytes).ok() || at + bytes > al.base + al.bytes) return 0;
  for (uintptr_t base : unshareable_)
    if (base == al.base) return 0;
  al.buffer_id = buffer_ids_.Of(p);
  if (al.buffer_id == 0) return 0;
  auto export_handle = [](const Allocation& a, uint8_t handle[64]) -> Status {
    IpcBuffer ipc;
    WEFT_CHECK(ExportIpcBuffer(reinterpret_cast<const void*>(a.base), &ipc));
    std::memcpy(handle, ipc.handle, sizeof(ipc.handle));
    return Status::Ok();
  };
  auto id_of = [&](uintptr_t base) { return buffer_ids_.Of(reinterpret_cast<const void*>(base)); };
  int slot = cache_->Find(al);
  if (slot >= 0 || !publish)
    return slot >= 0 && cache_->MappedByAll(slot)
               ? proto::DirectWindowWord(proto::kDirectMaxWindows + slot, at - al.base)
               : 0;
  const Status s = cache_->SlotOf(al, export_handle, id_of, &slot);
  if (!s.ok()) {  // memory CUDA IPC cannot share (a cudaMallocAsync pool): staged
    WEFT_INFO(kLogColl, "rank %d: %s; its calls go through the staging", o_.rank,
              s.message().c_str());
    if (unshareable_.size() >= 256) unshareable_.erase(unshareable_.begin());  // bounded
    unshareable_.push_back(al.base);
    return 0;
  }
  if (slot < 0 || !cache_->MappedByAll(slot)) return 0;
  return proto::DirectWindowWord(proto::kDirectMaxWindows + slot, at - al.base);
}

DeviceKernels::~DeviceKernels() {
  ScopedDevice on(o_.device);
  // cudaFree waits for the device, so no kernel of ours still runs; peers' kernels end once
  // they have read our lines, which they did before the communicator's closing barrier.
  for (void* p : opened_)
    (void)cudaIpcCloseMemHandle(p);
  for (Window& w : window_list_)
    for (void* p : w.opened)
      (void)cudaIpcCloseMemHandle(p);
  if (importer_) importer_->CloseAll([&](void* p) { CloseCached(p); });
  importer_.reset();
  cache_.reset();
  mailbox_maps_.reset();
  if (mailbox_ != nullptr) (void)FreeSharedBuffer(mailbox_);
  for (void* p : {scratch_, staging_, windows_, table_, counters_})
    if (p != nullptr) (void)cudaFree(p);
  if (host_words_ != nullptr) (void)cudaFreeHost(host_words_);
}

DeviceKernel DeviceKernels::KernelFor(const CollArgs& a) const {
  return DeviceKernelFor(a, TypeSize(a.type), o_.max_bytes, o_.nranks, direct_, staging_ != nullptr,
                         o_.cost);
}

const char* DeviceKernels::PathOf(const CollArgs& a) const {
  switch (KernelFor(a)) {
    case DeviceKernel::kOneShot:
      return "oneshot-kernel";
    case DeviceKernel::kDirect:
      if (staging_ == nullptr) return "direct-kernel";
      return ReadInPlace(a.send, InputBytes(a, o_.nranks)) ? "direct-inplace-kernel"
                                                           : "direct-staged-kernel";
    case DeviceKernel::kNone:
      break;
  }
  return nullptr;
}

Status DeviceKernels::Launch(const CollArgs& a) {
  return KernelFor(a) == DeviceKernel::kOneShot ? LaunchOneShot(a) : LaunchDirect(a);
}

Status DeviceKernels::LaunchDirect(const CollArgs& a) {
  proto::DirectArgs args;
  args.coll = ToOneShotColl(a.coll);
  args.root = a.root;
  args.rank = o_.rank;
  args.nranks = o_.nranks;
  args.input = a.send;
  args.output = a.recv;
  args.count = a.count;
  args.boards = static_cast<proto::DirectBoard* const*>(table_) + o_.nranks;
  const bool blocks = a.coll == CollType::kAllGather || a.coll == CollType::kReduceScatter;
  const size_t bytes = a.count * TypeSize(a.type) * (blocks ? static_cast<size_t>(o_.nranks) : 1);
  args.channels = DirectChannelsFor(bytes, direct_channels_);
  args.epochs = static_cast<KernelCounters*>(counters_)->direct_epochs;
  args.divisor = a.op == weftAvg ? o_.nranks : 0;
  args.limits.abort_flag = device_words_ + kAbort;
  args.limits.timeout_ns = static_cast<uint64_t>(o_.timeout_ms) * 1000000ull;
  args.stuck_source = device_words_ + kStuck;
  if (staging_ != nullptr) {
    args.staging = static_cast<void* const*>(table_) + 2 * o_.nranks;
    args.staging_bytes = kDirectStagingBytes;
    args.windows = static_cast<const uint64_t*>(windows_);
    const size_t in_bytes = InputBytes(a, o_.nranks);
    const size_t out_bytes = OutputBytes(a, o_.nranks);
    // While the stream is captured into a graph, the cache neither maps nor publishes (CUDA
    // IPC calls and a side stream's copies would invalidate a global-mode capture): the
    // call reads in place only what every peer had mapped already.
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    const bool capturing =
        cudaStreamIsCapturing(static_cast<cudaStream_t>(a.stream), &capture) == cudaSuccess &&
        capture != cudaStreamCaptureStatusNone;
    if (!capturing) WEFT_CHECK(PollBufferCache());
    args.input_window = WindowWordOf(a.send, in_bytes);
    if (args.input_window == 0) args.input_window = CachedWordOf(a.send, in_bytes, !capturing);
    args.output_window = WindowWordOf(a.recv, out_bytes);
    if (args.output_window == 0) args.output_window = CachedWordOf(a.recv, out_bytes, !capturing);
  }
  return weft::LaunchDirect(args, a.type, a.op, device_words_ + kStatus, a.stream);
}

uint64_t DeviceKernels::WindowWordOf(const void* p, size_t bytes) {
  const auto at = reinterpret_cast<uintptr_t>(p);
  int slot = -1;
  // Most calls lie in no window: the allocation's id is asked only of those that do.
  if (FindWindow(window_list_, at, bytes, 0, &slot) == WindowMatch::kNone) return 0;
  Window& w = window_list_[static_cast<size_t>(slot)];
  if (FindWindow(window_list_, at, bytes, buffer_ids_.Of(p), &slot) == WindowMatch::kFound)
    return proto::DirectWindowWord(slot, at - w.base);
  if (!w.warned)
    WEFT_WARN(kLogColl,
              "rank %d: %p lies in window %d, whose allocation was freed (a new one is there "
              "now); its calls go through the staging. Deregister windows before freeing them.",
              o_.rank, p, slot);
  w.warned = true;
  return 0;
}

Status DeviceKernels::RegisterWindow(HostCollectives* host, void* p, size_t bytes, int* slot) {
  *slot = -1;
  if (staging_ == nullptr) return Status::Ok();  // the same on every rank
  ScopedDevice on(o_.device);
  int free_slot = -1;
  for (size_t i = 0; i < window_list_.size() && free_slot < 0; ++i)
    if (!window_list_[i].used) free_slot = static_cast<int>(i);
  ScratchRecord mine = RecordOf(o_.device, p);
  // A window lies in one allocation, so its peers' mappings hold all of it.
  uintptr_t base = 0;
  size_t allocated = 0;
  Status local = free_slot >= 0 ? AllocationRange(p, &base, &allocated)
                                : InvalidUsage(Format("all %d windows are registered; "
                                                      "deregister one first",
                                                      proto::kDirectMaxWindows));
  if (local.ok() && mine.pointer + bytes > base + allocated)
    local =
        InvalidArgument(Format("a window of %zu bytes at %p runs past the end of its "
                               "allocation (%zu bytes from %p)",
                               bytes, p, allocated, reinterpret_cast<void*>(base)));
  if (local.ok()) local = ExportIpcBuffer(p, &mine.ipc);
  mine.status = local.code();
  std::vector<ScratchRecord> all;
  WEFT_CHECK(ExchangeRecords(host, mine, o_.nranks, &all));
  WEFT_CHECK(local);
  Window w;
  w.base = mine.pointer;
  w.bytes = bytes;
  w.buffer_id = buffer_ids_.Of(p);
  std::vector<uint64_t> row(static_cast<size_t>(o_.nranks), 0);
  Status mapped = Status::Ok();
  for (int q = 0; q < o_.nranks && mapped.ok(); ++q) {
    if (all[static_cast<size_t>(q)].status != weftSuccess) {
      mapped = InvalidUsage(Format("rank %d could not export its window (see its log)", q));
      break;
    }
    void* at = nullptr;
    mapped = Reach(q, all[static_cast<size_t>(q)], mine, "window", &w.opened, &at);
    row[static_cast<size_t>(q)] = reinterpret_cast<uintptr_t>(at);
  }
  // On a stream that waits for no other (a thread-rank's kernel may be running).
  OwnStream own;
  if (mapped.ok()) mapped = own.status;
  if (mapped.ok())
    mapped = Cuda(
        cudaMemcpyAsync(static_cast<uint64_t*>(windows_) +
                            static_cast<size_t>(free_slot) * proto::kDirectMaxRanks,
                        row.data(), sizeof(uint64_t) * row.size(), cudaMemcpyHostToDevice, own.s),
        "window table");
  if (mapped.ok()) mapped = Cuda(cudaStreamSynchronize(own.s), "window table");
  if (!mapped.ok()) {
    for (void* o : w.opened)
      (void)cudaIpcCloseMemHandle(o);
    return mapped;
  }
  w.used = true;
  window_list_[static_cast<size_t>(free_slot)] = std::move(w);
  *slot = free_slot;
  return Status::Ok();
}

Status DeviceKernels::DeregisterWindow(HostCollectives* host, int slot) {
  if (slot < 0 || staging_ == nullptr) return Status::Ok();
  WEFT_REQUIRE(static_cast<size_t>(slot) < window_list_.size() &&
                   window_list_[static_cast<size_t>(slot)].used,
               weftInvalidArgument, "no window %d is registered", slot);
  // Every rank is here, so no rank's kernel still reads through a mapping closed below.
  uint8_t mine = 1;
  std::vector<uint8_t> all(static_cast<size_t>(o_.nranks));
  CollArgs g{CollType::kAllGather, &mine, all.data(), 1, weftUint8, weftSum, 0, nullptr};
  WEFT_CHECK(host->Run({g}));
  Window& w = window_list_[static_cast<size_t>(slot)];
  ScopedDevice on(o_.device);
  for (void* o : w.opened)
    (void)cudaIpcCloseMemHandle(o);
  w = Window();
  return Status::Ok();
}

Status DeviceKernels::LaunchOneShot(const CollArgs& a) {
  proto::OneShotArgs args;
  args.coll = ToOneShotColl(a.coll);
  args.root = a.root;
  args.rank = o_.rank;
  args.nranks = o_.nranks;
  args.input = a.send;
  args.output = a.recv;
  args.count = a.count;
  args.scratch = static_cast<proto::LlLine* const*>(table_);
  args.lines = lines_;
  args.epoch = &static_cast<KernelCounters*>(counters_)->one_shot_epoch;
  args.divisor = a.op == weftAvg ? o_.nranks : 0;
  args.limits.abort_flag = device_words_ + kAbort;
  args.limits.timeout_ns = static_cast<uint64_t>(o_.timeout_ms) * 1000000ull;
  args.stuck_source = device_words_ + kStuck;
  // A thread per line, in warps, up to a block: small calls are one load and a few stores
  // per thread.
  const size_t lines = proto::OneShotLines(a.count * TypeSize(a.type));
  const int threads = static_cast<int>(std::clamp<size_t>((lines + 31) / 32 * 32, 32, 512));
  return weft::LaunchOneShot(args, a.type, a.op, threads, device_words_ + kStatus, a.stream);
}

void DeviceKernels::RaiseAbort() {
  if (host_words_ != nullptr) proto::StoreRelease(host_words_ + kAbort, 1);
}

Status DeviceKernels::KernelStatus() const {
  if (host_words_ == nullptr) return Status::Ok();
  const uint32_t status = proto::LoadAcquire(host_words_ + kStatus);
  if (status == 0) return Status::Ok();
  const uint32_t stuck = proto::LoadAcquire(host_words_ + kStuck);
  const std::string peer = stuck != 0 ? Format("rank %u", stuck - 1) : std::string("a peer");
  if (status == static_cast<uint32_t>(proto::WaitResult::kTimedOut))
    return TimeoutError(
        Format("a GPU-driven collective kernel on rank %d timed out after "
               "WEFT_TIMEOUT_MS=%lld ms waiting for %s",
               o_.rank, static_cast<long long>(o_.timeout_ms), peer.c_str()));
  return RemoteError(Format("a GPU-driven collective kernel on rank %d was aborted waiting for %s",
                            o_.rank, peer.c_str()));
}

}  // namespace weft
