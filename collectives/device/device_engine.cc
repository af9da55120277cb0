// The CUDA implementation of DeviceEngine: builds each collective's stream work and the
// host stages the device queue runs (device_engine.h explains the two paths).
#include "collectives/device/device_engine.h"

#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "collectives/device/cuda_device.h"
#include "collectives/device/device_kernels.h"
#include "collectives/device/device_phase.h"
#include "collectives/device/device_queue.h"
#include "collectives/device/net_proxy_call.h"
#include "collectives/device/net_ring_kernel.h"
#include "collectives/device/one_shot_kernel.h"
#include "collectives/device/staged_call.h"
#include "collectives/device/staging_plan.h"
#include "collectives/host_collectives.h"
#include "collectives/reduce/reduce_cuda.h"
#include "collectives/user_ops.h"
#include "common/byte_offset.h"
#include "common/dtype.h"
#include "common/log.h"
#include "transport/cuda_ipc/cuda_ipc.h"

namespace weft {
namespace {

constexpr int kSlots = 64;  // device collectives in flight per communicator

// The descriptors one collective's kernels read: two phases at most.
struct OpDesc {
  DevicePhase phase[2];
};

// What each rank tells the others about one collective on the CUDA IPC path. Ranks that are
// threads of one process (NCCL's one-process-many-GPUs use) share its address space: they
// take each other's pointers, as CUDA IPC cannot open a handle in the process that made it.
struct IpcRecord {
  IpcBuffer send;
  IpcBuffer recv;
  uint64_t send_ptr = 0;
  uint64_t recv_ptr = 0;
  int32_t pid = 0;
  int32_t status = 0;  // weftResult_t of exporting the buffers
};

Status Cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::Ok();
  return CudaError(Format("%s: %s", what, cudaGetErrorString(err)));
}

class CudaDeviceEngine : public DeviceEngine {
 public:
  CudaDeviceEngine(HostCollectives* host, const DeviceEngineOptions& o) : host_(host), o_(o) {}
  ~CudaDeviceEngine() override;
  Status Init();

  Status Enqueue(const CollArgs& a) override;
  Status EnqueueP2P(const std::vector<P2PArgs>& ops) override;
  Status Drain() override;
  void Abort(const Status& why) override;
  Status error() const override { return queue_->error(); }
  int device() const override { return o_.device; }
  const char* path() const override { return o_.ipc ? "cuda-ipc" : "staged"; }
  const char* PathOf(const CollArgs& a) const override {
    if (NetKernelServes(a)) return "net-ring-kernel";
    const char* kernel = kernels_ ? kernels_->PathOf(a) : nullptr;
    return kernel != nullptr ? kernel : path();
  }
  // The worker may run a gated call's host side on host_: it drains first.
  Status RegisterWindow(void* p, size_t bytes, int* slot) override {
    *slot = -1;
    if (!kernels_) return Status::Ok();
    WEFT_CHECK(Drain());
    return kernels_->RegisterWindow(host_, p, bytes, slot);
  }
  Status DeregisterWindow(int slot) override {
    if (!kernels_) return Status::Ok();
    WEFT_CHECK(Drain());
    return kernels_->DeregisterWindow(host_, slot);
  }

 private:
  // A collective's stream work under construction: each stage's event and gate, queued
  // on the stream as they are added. On a failure midway the partial op is pushed and the
  // queue failed, so whatever was queued on the stream is released.
  struct Builder {
    DeviceOp op;
    Status status;
  };
  Status AddStage(Builder* b, void* stream, std::function<Status()> host_work);
  Status Submit(Builder* b, void* stream);
  Status AcquireSlot(int* slot);
  uint32_t NextGate() {
    ++next_gate_;
    if (next_gate_ == 0) ++next_gate_;  // 0 means "no gate"
    return next_gate_;
  }
  OpDesc* Desc(int slot) { return static_cast<OpDesc*>(descs_.data()) + slot; }
  Status EnqueueIpc(const CollArgs& a, int slot, Builder* b);
  // Across hosts: the ring kernel on the stream, and a stage (no gate) in which this
  // engine's thread drives the proxy through the host side once the stream reaches it.
  bool NetKernelServes(const CollArgs& a) const {
    return net_proxy_ != nullptr && !UserOps::IsUserOp(a.op) && OneShotServes(a.type);
  }
  Status EnqueueNetRing(const CollArgs& a);
  Status EnqueueStaged(const CollArgs& a, Builder* b);
  Status EnqueueStagedP2P(const std::vector<P2PArgs>& ops, Builder* b);
  // Runs `plan` (whose copies were laid out by the caller) through pinned staging memory;
  // run_piece(piece, staged send, staged recv) runs a piece's host side.
  Status QueueStaged(const StagingPlan& plan, void* stream, const void* device_send,
                     void* device_recv, weftDataType_t type,
                     std::function<Status(const StagingPiece&, std::byte*, std::byte*)> run_piece,
                     Builder* b);
  Status Usable() const;
  // The GPU-driven kernels' side, from the worker: raise their abort flag once the host side
  // has failed, and fail the queue with what a kernel reported.
  void WatchKernels();
  // Host stages.
  Status ExchangeAndFill(const CollArgs& a, OpDesc* desc);
  Status Barrier();
  Status GetStaging(size_t bytes, PinnedBuffer* out);
  void PutStaging(PinnedBuffer buf);
  void WorkerMain();
  void StopWorker();

  HostCollectives* host_;
  DeviceEngineOptions o_;
  std::unique_ptr<CudaDevice> dev_;
  std::unique_ptr<DeviceQueue> queue_;
  PinnedBuffer descs_;
  std::atomic<bool> slot_busy_[kSlots] = {};
  int next_slot_ = 0;
  uint32_t next_gate_ = 0;
  std::mutex enqueue_mutex_;
  IpcImporter importer_;                    // used by the worker thread only
  std::unique_ptr<DeviceKernels> kernels_;  // GPU-driven calls, IPC path (null: none)
  NetProxy* net_proxy_ = nullptr;           // the host side's, across hosts (null: staged)
  uint64_t ops_ = 0;

  std::mutex staging_mutex_;
  std::vector<PinnedBuffer> staging_free_;

  std::thread worker_;
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  std::condition_variable idle_cv_;
  bool stop_ = false;
  bool pushed_ = false;
};

Status CudaDeviceEngine::Init() {
  WEFT_CHECK(CudaDevice::Create(o_.device, &dev_));
  {
    ScopedDevice scope(o_.device);
    WEFT_CHECK(PreloadDeviceKernels());
  }
  queue_ = std::make_unique<DeviceQueue>(dev_.get(), o_.timeout_ms);
  {
    ScopedDevice scope(o_.device);
    WEFT_CHECK(PinnedBuffer::Allocate(sizeof(OpDesc) * kSlots, &descs_));
  }
  if (o_.ipc && (o_.one_shot_max_bytes > 0 || o_.direct) && o_.nranks > 1) {
    DeviceKernels::Options ko;
    ko.device = o_.device;
    ko.rank = o_.rank;
    ko.nranks = o_.nranks;
    ko.max_bytes = o_.one_shot_max_bytes;
    ko.direct = o_.direct;
    ko.buffer_cache = o_.buffer_cache;
    ko.force_staged = o_.force_staged;
    ko.timeout_ms = o_.timeout_ms;
    WEFT_CHECK(DeviceKernels::Create(host_, ko, &kernels_));
  }
  if (!o_.ipc && o_.net_kernel && o_.nranks > 1) {
    ScopedDevice scope(o_.device);
    WEFT_CHECK(host_->RingProxy(AllocateMappedRegion, &net_proxy_));
  }
  worker_ = std::thread([this] { WorkerMain(); });
  WEFT_INFO(kLogInit, "device collectives on GPU %d by %s", o_.device,
            o_.ipc       ? "CUDA IPC between the ranks of this host"
            : net_proxy_ ? "ring kernels with a network proxy (others: pinned host staging)"
                         : "pinned host staging");
  return Status::Ok();
}

CudaDeviceEngine::~CudaDeviceEngine() {
  StopWorker();
  // Freeing the kernels' memory waits for the device: a kernel still waiting for a peer that
  // failed must stop first.
  if (kernels_ && (!queue_->error().ok() || host_->InError())) kernels_->RaiseAbort();
  kernels_.reset();
  if (net_proxy_ != nullptr && (!queue_->error().ok() || host_->InError())) net_proxy_->Abort();
  if (!queue_ || queue_->Idle()) return;
  // Kernels may still read the descriptors and the proxy's FIFOs (their stream never ran):
  // keep the memory; they return at once when they run.
  WEFT_WARN(kLogColl, "destroying a communicator with %zu device collectives still queued",
            queue_->Pending());
  new PinnedBuffer(std::move(descs_));  // deliberately leaked
  if (net_proxy_ != nullptr) {
    net_proxy_->Abort();
    net_proxy_->KeepMemory();
  }
}

void CudaDeviceEngine::StopWorker() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

// Polls the queue: events complete on the device's time, so when nothing moves the thread
// yields a little, then sleeps in short steps; with nothing queued it sleeps until a Push.
void CudaDeviceEngine::WorkerMain() {
  SetLogRank(o_.rank);
  (void)cudaSetDevice(o_.device);
  unsigned idle = 0;
  std::unique_lock<std::mutex> lock(wake_mutex_);
  while (!stop_) {
    lock.unlock();
    if (kernels_) WatchKernels();
    const bool moved = queue_->Step();
    const bool empty = queue_->Idle();
    lock.lock();
    if (empty) idle_cv_.notify_all();
    if (moved) {
      idle = 0;
      continue;
    }
    if (empty) {
      wake_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stop_ || pushed_; });
      pushed_ = false;
      continue;
    }
    lock.unlock();
    if (++idle < 64)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(idle < 4096 ? 10 : 200));
    lock.lock();
  }
}

void CudaDeviceEngine::WatchKernels() {
  if (host_->InError()) kernels_->RaiseAbort();
  const Status kernel = kernels_->KernelStatus();
  if (!kernel.ok() && queue_->error().ok()) {
    WEFT_WARN(kLogColl, "%s", kernel.message().c_str());
    queue_->Fail(kernel);
  }
}

Status CudaDeviceEngine::Drain() {
  std::unique_lock<std::mutex> lock(wake_mutex_);
  const bool idle = idle_cv_.wait_for(lock, std::chrono::milliseconds(o_.timeout_ms),
                                      [&] { return queue_->Idle(); });
  if (!idle)
    return TimeoutError(Format("%zu device collectives still pending after WEFT_TIMEOUT_MS=%lld",
                               queue_->Pending(), static_cast<long long>(o_.timeout_ms)));
  return queue_->error();
}

void CudaDeviceEngine::Abort(const Status& why) {
  if (kernels_) kernels_->RaiseAbort();
  if (net_proxy_ != nullptr) net_proxy_->Abort();
  queue_->Fail(why);
  // Skipped kernels finish at once unless the stream is stuck on earlier work.
  std::unique_lock<std::mutex> lock(wake_mutex_);
  idle_cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(o_.timeout_ms, 10000)),
                    [&] { return queue_->Idle(); });
}

Status CudaDeviceEngine::AcquireSlot(int* slot) {
  const int s = next_slot_;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o_.timeout_ms);
  unsigned spins = 0;
  while (slot_busy_[s].load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > deadline)
      return TimeoutError(
          Format("%d device collectives in flight did not finish within "
                 "WEFT_TIMEOUT_MS=%lld",
                 kSlots, static_cast<long long>(o_.timeout_ms)));
    if (++spins < 64)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  slot_busy_[s].store(true, std::memory_order_relaxed);
  next_slot_ = (s + 1) % kSlots;
  *slot = s;
  return Status::Ok();
}

Status CudaDeviceEngine::AddStage(Builder* b, void* stream, std::function<Status()> host_work) {
  DeviceStage st;
  Status s = dev_->RecordEvent(stream, &st.event);
  if (s.ok()) {
    st.gate = NextGate();
    st.host_work = std::move(host_work);
    s = dev_->WaitGate(stream, st.gate);
    if (!s.ok()) st.host_work = nullptr;  // the gate was not queued: only its event
    b->op.stages.push_back(std::move(st));
  }
  return s;
}

Status CudaDeviceEngine::Submit(Builder* b, void* stream) {
  if (b->status.ok()) {
    // The last stage: an event after the last kernel, so the op's descriptors and staging
    // memory are freed only once nothing on the stream reads them.
    DeviceStage last;
    b->status = dev_->RecordEvent(stream, &last.event);
    if (b->status.ok()) b->op.stages.push_back(std::move(last));
  }
  queue_->Push(std::move(b->op));
  if (!b->status.ok()) queue_->Fail(b->status);
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    pushed_ = true;
  }
  wake_cv_.notify_one();
  return b->status;
}

Status CudaDeviceEngine::Usable() const {
  Status err = queue_->error();
  if (!err.ok()) return CommunicatorInError(err);
  return Status::Ok();
}

Status CudaDeviceEngine::EnqueueP2P(const std::vector<P2PArgs>& ops) {
  std::lock_guard<std::mutex> enqueue_lock(enqueue_mutex_);
  WEFT_CHECK(Usable());
  ScopedDevice scope(o_.device);
  int slot = 0;
  WEFT_CHECK(AcquireSlot(&slot));
  Builder b;
  b.op.what = Format("a group of %zu sends and receives (device op %llu) on rank %d", ops.size(),
                     static_cast<unsigned long long>(ops_++), o_.rank);
  b.op.finish = [this, slot] { slot_busy_[slot].store(false, std::memory_order_release); };
  b.status = EnqueueStagedP2P(ops, &b);
  return Submit(&b, ops.front().stream);
}

Status CudaDeviceEngine::Enqueue(const CollArgs& a) {
  std::lock_guard<std::mutex> enqueue_lock(enqueue_mutex_);
  WEFT_CHECK(Usable());
  const size_t esz = TypeSize(a.type);
  for (const void* p : {a.send, static_cast<const void*>(a.recv)}) {
    WEFT_REQUIRE(reinterpret_cast<uintptr_t>(p) % esz == 0, weftInvalidArgument,
                 "%s: device buffer %p is not aligned to its %zu-byte elements", CollName(a.coll),
                 p, esz);
  }
  ScopedDevice scope(o_.device);
  // One kernel, nothing for the host to do (a CUDA graph captures it): small calls, and large
  // ones where every rank is a thread of this process.
  if (kernels_ && kernels_->PathOf(a) != nullptr) return kernels_->Launch(a);
  if (NetKernelServes(a)) return EnqueueNetRing(a);
  int slot = 0;
  WEFT_CHECK(AcquireSlot(&slot));
  OpDesc* desc = Desc(slot);
  for (DevicePhase& p : desc->phase) {
    p.skip = 1;  // until the host fills it in
    p.ntasks = 0;
    p.divisor = 0;
  }
  Builder b;
  b.op.what = Format("%s (device op %llu, count %zu, %s) on rank %d", CollName(a.coll),
                     static_cast<unsigned long long>(ops_++), a.count, TypeName(a.type), o_.rank);
  b.op.skip = [desc] {
    for (DevicePhase& p : desc->phase)
      p.skip = 1;
  };
  b.op.finish = [this, slot] { slot_busy_[slot].store(false, std::memory_order_release); };
  // A PreMulSum is staged even where the IPC path runs: the IPC kernels reduce the peers'
  // buffers where they are, with built-in ops only, while each staged piece goes through
  // the host side's Run, which multiplies the inputs first. Every rank decides alike.
  const bool ipc = o_.ipc && !UserOps::IsUserOp(a.op);
  b.status = ipc ? EnqueueIpc(a, slot, &b) : EnqueueStaged(a, &b);
  WEFT_TRACE(kLogColl, "queued %s on stream %p: slot %d, gates up to %u", b.op.what.c_str(),
             a.stream, slot, next_gate_);
  return Submit(&b, a.stream);
}

// ---- across hosts: the ring kernel and the network proxy ----

Status CudaDeviceEngine::EnqueueNetRing(const CollArgs& a) {
  // The kernel's waits give up a second after the drive loop's (whose verdict names the
  // rank that stopped): the backstop that keeps a kernel from spinning forever.
  const proto::NetRingArgs k =
      net_proxy_->KernelArgs(a, o_.timeout_ms > 0 ? o_.timeout_ms + 1000 : 0);
  // The drive loop adds "on rank N" to its errors; the queue's need it here.
  const std::string what =
      Format("%s (device op %llu, count %zu, %s)", CollName(a.coll),
             static_cast<unsigned long long>(ops_++), a.count, TypeName(a.type));
  Builder b;
  b.op.what = Format("%s on rank %d", what.c_str(), o_.rank);
  NetProxy* proxy = net_proxy_;
  b.op.skip = [proxy] { proxy->Abort(); };  // every wait of the kernels returns
  b.op.finish = [] {};
  // Once the stream reaches the call, this engine's thread moves the kernel's bytes until
  // its blocks have returned. No gate: the stream never waits for the host.
  DeviceStage drive;
  b.status = dev_->RecordEvent(a.stream, &drive.event);
  if (!b.status.ok()) return Submit(&b, a.stream);
  drive.host_work = [this, what] {
    NetProxyCall call(net_proxy_);
    return host_->RunCollective(&call, what);
  };
  b.op.stages.push_back(std::move(drive));
  b.status =
      LaunchNetRing(k, a.type, a.op, proxy->kernel_status(), proxy->kernel_finished(), a.stream);
  // Without its kernel, the call's blocks would never return: nothing to drive.
  if (!b.status.ok()) b.op.stages.back().host_work = nullptr;
  WEFT_TRACE(kLogColl, "queued %s on stream %p: ring kernel, %d channels", b.op.what.c_str(),
             a.stream, k.channels);
  return Submit(&b, a.stream);
}

// ---- CUDA IPC path ----

Status CudaDeviceEngine::EnqueueIpc(const CollArgs& a, int slot, Builder* b) {
  OpDesc* desc = Desc(slot);
  const int n = o_.nranks;
  const size_t chunk_max = (a.count + static_cast<size_t>(n) - 1) / static_cast<size_t>(n) + 16;
  const bool allreduce = a.coll == CollType::kAllReduce;
  const int tasks0 = a.coll == CollType::kAllGather ? n : 1;
  const size_t count0 = allreduce ? std::min(a.count, chunk_max) : a.count;
  const CollArgs args = a;
  // Stage 1: once the stream reaches the call, exchange buffers and fill the descriptors.
  WEFT_CHECK(AddStage(b, a.stream, [this, args, desc] {
    WEFT_TRACE(kLogColl, "device %s: stream reached the call; exchanging buffers",
               CollName(args.coll));
    return ExchangeAndFill(args, desc);
  }));
  WEFT_CHECK(
      LaunchDevicePhase(&desc->phase[0], tasks0, count0, a.type, a.op, dev_->sm_count(), a.stream));
  if (allreduce) {
    // Stage 2: every rank's chunk is reduced before anyone copies it.
    WEFT_CHECK(AddStage(b, a.stream, [this] { return Barrier(); }));
    WEFT_CHECK(LaunchDevicePhase(&desc->phase[1], std::max(1, n - 1), std::min(a.count, chunk_max),
                                 a.type, a.op, dev_->sm_count(), a.stream));
  }
  // Last: nobody's kernels read this rank's buffers any more before its stream goes on.
  return AddStage(b, a.stream, [this] { return Barrier(); });
}

Status CudaDeviceEngine::Barrier() {
  WEFT_TRACE(kLogColl, "device phase done; barrier");
  int32_t flag = 0, result = 0;
  CollArgs b{CollType::kAllReduce, &flag, &result, 1, weftInt32, weftMax, 0, nullptr};
  return host_->Run({b});
}

Status CudaDeviceEngine::ExchangeAndFill(const CollArgs& a, OpDesc* desc) {
  const int n = o_.nranks, r = o_.rank;
  const CollBytes bytes = BytesOf(a, r, n);
  IpcRecord mine;
  mine.pid = static_cast<int32_t>(getpid());
  mine.send_ptr = reinterpret_cast<uintptr_t>(a.send);
  mine.recv_ptr = reinterpret_cast<uintptr_t>(a.recv);
  Status local;
  if (bytes.uses_send && a.count > 0) local = ExportIpcBuffer(a.send, &mine.send);
  if (local.ok() && bytes.uses_recv && a.count > 0) local = ExportIpcBuffer(a.recv, &mine.recv);
  mine.status = local.code();
  std::vector<IpcRecord> all(static_cast<size_t>(n));
  CollArgs g{
      CollType::kAllGather, &mine, all.data(), sizeof(IpcRecord), weftUint8, weftSum, 0, nullptr};
  WEFT_CHECK(host_->Run({g}));
  // Only a peer in another process needs the handles (every rank of this path is on this
  // host, so a pid names one process).
  auto same_process = [&](int q) { return all[q].pid == mine.pid; };
  bool all_in_this_process = true;
  for (int q = 0; q < n; ++q)
    all_in_this_process = all_in_this_process && same_process(q);
  if (!all_in_this_process) WEFT_CHECK(local);
  for (int q = 0; q < n; ++q) {
    if (all[q].status != weftSuccess && !same_process(q))
      return InvalidUsage(
          Format("rank %d could not share its device buffer by CUDA IPC "
                 "(see its log); set WEFT_CUDA_IPC=0 on every rank to stage "
                 "through host memory",
                 q));
  }
  // Every rank's buffers, mapped into this process.
  std::vector<const void*> send(n, nullptr);
  std::vector<void*> recv(n, nullptr);
  for (int q = 0; q < n; ++q) {
    if (a.count == 0) break;
    const CollBytes bq = BytesOf(a, q, n);
    if (q == r) {
      send[q] = bq.uses_send ? a.send : nullptr;
      recv[q] = bq.uses_recv ? a.recv : nullptr;
      continue;
    }
    void* p = nullptr;
    if (same_process(q)) {
      send[q] = bq.uses_send ? reinterpret_cast<const void*>(all[q].send_ptr) : nullptr;
      recv[q] = bq.uses_recv ? reinterpret_cast<void*>(all[q].recv_ptr) : nullptr;
      continue;
    }
    if (bq.uses_send) {
      WEFT_CHECK(importer_.Map(q, all[q].send, &p));
      send[q] = p;
    }
    if (bq.uses_recv) {
      WEFT_CHECK(importer_.Map(q, all[q].recv, &p));
      recv[q] = p;
    }
  }
  const size_t esz = TypeSize(a.type);
  const int32_t divisor = a.op == weftAvg ? n : 0;
  DevicePhase& p0 = desc->phase[0];
  DevicePhase& p1 = desc->phase[1];
  p0.ntasks = p1.ntasks = 0;
  auto reduce_task = [&](size_t offset, void* out, size_t count) {
    DeviceTask& t = p0.task[p0.ntasks++];
    t.ninputs = static_cast<uint32_t>(n);
    t.count = count;
    for (int q = 0; q < n; ++q)
      t.in[q] = At(send[q], offset);
    t.out = out;
  };
  auto copy_task = [](DevicePhase& p, const void* in, void* out, size_t count) {
    if (in == out || count == 0) return;
    DeviceTask& t = p.task[p.ntasks++];
    t.ninputs = 1;
    t.count = count;
    t.in[0] = in;
    t.out = out;
  };
  if (a.count > 0) {
    switch (a.coll) {
      case CollType::kAllReduce: {
        size_t begin, end;
        ChunkRange(a.count, esz, n, r, &begin, &end);
        if (end > begin) reduce_task(begin * esz, At(a.recv, begin * esz), end - begin);
        p0.divisor = divisor;
        for (int q = 0; q < n; ++q) {
          if (q == r) continue;
          ChunkRange(a.count, esz, n, q, &begin, &end);
          copy_task(p1, At(recv[q], begin * esz), At(a.recv, begin * esz), end - begin);
        }
        break;
      }
      case CollType::kReduceScatter:
        reduce_task(static_cast<size_t>(r) * a.count * esz, a.recv, a.count);
        p0.divisor = divisor;
        break;
      case CollType::kAllGather:
        for (int q = 0; q < n; ++q)
          copy_task(p0, send[q], At(a.recv, static_cast<size_t>(q) * a.count * esz), a.count);
        break;
      case CollType::kBroadcast:
        copy_task(p0, send[a.root], a.recv, a.count);
        break;
      case CollType::kReduce:
        if (r == a.root) reduce_task(0, a.recv, a.count);
        p0.divisor = divisor;
        break;
    }
  }
  p0.skip = 0;
  p1.skip = 0;
  WEFT_TRACE(kLogColl, "device %s: %u + %u tasks filled", CollName(a.coll), p0.ntasks, p1.ntasks);
  return Status::Ok();
}

// ---- host staging path ----

Status CudaDeviceEngine::GetStaging(size_t bytes, PinnedBuffer* out) {
  {
    std::lock_guard<std::mutex> lock(staging_mutex_);
    for (size_t i = 0; i < staging_free_.size(); ++i) {
      const size_t have = staging_free_[i].size();
      if (have >= bytes) {
        *out = std::move(staging_free_[i]);
        staging_free_.erase(staging_free_.begin() + static_cast<long>(i));
        return Status::Ok();
      }
    }
  }
  return PinnedBuffer::Allocate(bytes, out);
}

// Kept, never freed here: cudaFreeHost may wait for the device, and this runs on the thread
// that opens the gates the device may be waiting on. At most kSlots buffers exist.
void CudaDeviceEngine::PutStaging(PinnedBuffer buf) {
  std::lock_guard<std::mutex> lock(staging_mutex_);
  staging_free_.push_back(std::move(buf));
}

// Queues a copy of the user's send buffer into staging memory and copy-out kernels on the
// caller's stream (staged_call.h).
class CudaStagingStream : public StagingStream {
 public:
  CudaStagingStream(CudaDevice* dev, void* stream, const void* device_send, void* host_send,
                    weftDataType_t type)
      : dev_(dev),
        stream_(stream),
        device_send_(reinterpret_cast<uintptr_t>(device_send)),
        host_send_(static_cast<std::byte*>(host_send)),
        type_(type) {}
  Status RecordEvent(int* id) override { return dev_->RecordEvent(stream_, id); }
  Status WaitGate(uint32_t value) override { return dev_->WaitGate(stream_, value); }
  Status CopyIn(const StagingCopy& c) override {
    auto s = static_cast<cudaStream_t>(stream_);
    if (c.rows == 1)
      return Cuda(cudaMemcpyAsync(host_send_ + c.host_offset, At(c.device_offset), c.bytes,
                                  cudaMemcpyDeviceToHost, s),
                  "cudaMemcpyAsync to the staging buffer");
    return Cuda(cudaMemcpy2DAsync(host_send_ + c.host_offset, c.host_pitch, At(c.device_offset),
                                  c.device_pitch, c.bytes, c.rows, cudaMemcpyDeviceToHost, s),
                "cudaMemcpy2DAsync to the staging buffer");
  }
  Status LaunchCopyOut(const DevicePhase* phase, size_t max_count) override {
    return LaunchDevicePhase(phase, static_cast<int>(phase->ntasks), max_count, type_, weftSum,
                             dev_->sm_count(), stream_);
  }

 private:
  // The device send buffer's byte `offset` (a base of 0 makes offsets addresses).
  const void* At(size_t offset) const {
    return reinterpret_cast<const void*>(device_send_ + offset);
  }

  CudaDevice* dev_;
  void* stream_;
  uintptr_t device_send_;
  std::byte* host_send_;
  weftDataType_t type_;
};

size_t Align256(size_t bytes) {
  return (bytes + 255) / 256 * 256;
}

Status CudaDeviceEngine::QueueStaged(
    const StagingPlan& plan, void* stream, const void* device_send, void* device_recv,
    weftDataType_t type,
    std::function<Status(const StagingPiece&, std::byte*, std::byte*)> run_piece, Builder* b) {
  // One pinned buffer holds the copy-out descriptors, the send region and the recv region.
  const size_t phase_bytes = Align256(CopyOutLaunches(plan) * sizeof(DevicePhase));
  const size_t send_region = Align256(plan.send_bytes);
  auto staging = std::make_shared<PinnedBuffer>();
  WEFT_CHECK(GetStaging(phase_bytes + send_region + plan.recv_bytes, staging.get()));
  std::byte* base = static_cast<std::byte*>(staging->data());
  std::byte* stage_send = base + phase_bytes;
  std::byte* stage_recv = stage_send + send_region;
  auto finish = std::move(b->op.finish);
  b->op.finish = [this, finish, staging] {
    PutStaging(std::move(*staging));
    finish();
  };
  StagedCall call;
  call.plan = &plan;
  call.phases = reinterpret_cast<DevicePhase*>(base);
  call.host_recv = stage_recv;  // mapped pinned memory: the same address on the device (UVA)
  call.device_recv = device_recv;
  call.elem_size = TypeSize(type);
  call.run_piece = [run_piece, stage_send, stage_recv](const StagingPiece& piece) {
    return run_piece(piece, stage_send, stage_recv);
  };
  call.next_gate = [this] { return NextGate(); };
  CudaStagingStream copies(dev_.get(), stream, device_send, stage_send, type);
  return QueueStagedCall(call, &copies, &b->op);
}

Status CudaDeviceEngine::EnqueueStaged(const CollArgs& a, Builder* b) {
  const StagingPlan plan = PlanStaging(a, o_.rank, o_.nranks, o_.staging_piece_bytes);
  CollArgs host = a;
  host.stream = nullptr;
  return QueueStaged(
      plan, a.stream, a.send, a.recv, a.type,
      [this, host](const StagingPiece& piece, std::byte* stage_send, std::byte* stage_recv) {
        CollArgs h = host;
        h.count = piece.count;
        if (FactsOf(h.coll).reduces && o_.host_reduced_bytes != nullptr)
          o_.host_reduced_bytes->fetch_add(
              InputCount(h.coll, piece.count, o_.nranks) * TypeSize(h.type),
              std::memory_order_relaxed);
        h.send = stage_send + piece.send_offset;
        h.recv = stage_recv + piece.recv_offset;
        return host_->Run({h});
      },
      b);
}

// A group's sends and receives in one piece: every send is copied into the staging send
// region, the host runs them all (RunP2P), every receive is copied back out. Copies are of
// bytes, and the device offsets are the buffers' addresses (base 0).
Status CudaDeviceEngine::EnqueueStagedP2P(const std::vector<P2PArgs>& ops, Builder* b) {
  StagingPlan plan;
  plan.slots = 1;
  StagingPiece piece;
  std::vector<size_t> staged_at(ops.size(), 0);
  for (size_t i = 0; i < ops.size(); ++i) {
    const P2PArgs& a = ops[i];
    const size_t bytes = a.count * TypeSize(a.type);
    size_t& region = a.send ? plan.send_bytes : plan.recv_bytes;
    staged_at[i] = region;
    region += Align256(bytes);
    if (bytes == 0) continue;
    StagingCopy c;
    c.device_offset = reinterpret_cast<uintptr_t>(a.buf);
    c.host_offset = staged_at[i];
    c.bytes = bytes;
    (a.send ? piece.in : piece.out).push_back(c);
  }
  plan.slot_send_bytes = plan.send_bytes;
  plan.slot_recv_bytes = plan.recv_bytes;
  plan.pieces.push_back(std::move(piece));
  return QueueStaged(
      plan, ops.front().stream, nullptr, nullptr, weftUint8,
      [this, ops, staged_at](const StagingPiece&, std::byte* stage_send, std::byte* stage_recv) {
        std::vector<P2PArgs> host = ops;
        for (size_t i = 0; i < host.size(); ++i) {
          host[i].buf = (host[i].send ? stage_send : stage_recv) + staged_at[i];
          host[i].stream = nullptr;
        }
        return host_->RunP2P(host);
      },
      b);
}

}  // namespace

Status CreateDeviceEngine(HostCollectives* host, const DeviceEngineOptions& options,
                          std::unique_ptr<DeviceEngine>* out) {
  if (options.ipc && options.nranks > kMaxDeviceInputs)
    return InvalidArgument(Format("the CUDA IPC path serves at most %d ranks", kMaxDeviceInputs));
  auto e = std::make_unique<CudaDeviceEngine>(host, options);
  WEFT_CHECK(e->Init());
  *out = std::move(e);
  return Status::Ok();
}

}  // namespace weft
