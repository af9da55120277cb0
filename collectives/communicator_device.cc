// Device buffers: where a call's buffers live, and the device engine that queues calls on
// device buffers on their streams.
#include "collectives/communicator.h"

#include <algorithm>
#include <string>

#include "collectives/device_hierarchy.h"
#include "common/dtype.h"
#include "common/log.h"

namespace weft {

// Outside the lock once taken: destroying the engine joins its thread, which may be running
// a host collective that needs the lock.
std::unique_ptr<DeviceEngine> Communicator::TakeDeviceEngine() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::move(device_);
}

std::unique_ptr<DeviceHierarchy> Communicator::TakeDeviceHierarchy() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::move(hierarchy_);
}

// Buffers of one call or group live all in host memory or all on one GPU (*device >= 0).
// `buffers` lists what the call reads and writes (nulls and empty ones left out).
Status Communicator::PlaceBuffers(const std::vector<const void*>& buffers, const char* what,
                                  int* device) const {
  *device = -1;
  if (!cuda_present_) return Status::Ok();
  bool any_host = false;
  for (const void* p : buffers) {
    const BufferLocation loc = LocateBuffer(p);
    if (!loc.device) {
      any_host = true;
    } else if (*device < 0) {
      *device = loc.device_id;
    } else if (loc.device_id != *device) {
      return InvalidArgument(
          Format("%s: buffers on GPUs %d and %d in one call", what, *device, loc.device_id));
    }
  }
  if (*device >= 0 && any_host)
    return InvalidArgument(Format(
        "%s mixes host and device buffers; each call (and each group) must use one kind", what));
  return Status::Ok();
}

Status Communicator::EnsureDeviceEngine(int device) {
  if (!device_) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_.ok()) return CommunicatorInError(error_);
    }
    DeviceEngineOptions o;
    o.device = device;
    o.ipc = all_local_ && config_.cuda_ipc && nranks_ <= kMaxDeviceRanksIpc;
    o.staging_piece_bytes = static_cast<size_t>(config_.cuda_staging_piece);
    o.timeout_ms = config_.timeout_ms;
    o.rank = rank_;
    o.nranks = nranks_;
    o.one_shot_max_bytes = config_.one_shot_max_bytes;
    o.direct = config_.cuda_direct;
    o.buffer_cache = config_.cuda_buffer_cache;
    o.force_staged = config_.cuda_force_staged;
    // Across hosts only: within one, WEFT_CUDA_IPC=0 asks for the staging.
    o.net_kernel = config_.net_kernel && !all_local_;
    o.host_reduced_bytes = &host_reduced_bytes_;
    std::unique_ptr<DeviceEngine> engine;
    WEFT_CHECK(CreateDeviceEngine(this, o, &engine));
    std::lock_guard<std::mutex> lock(mutex_);
    device_ = std::move(engine);
  } else if (device != device_->device()) {
    return InvalidArgument(
        Format("device buffers on GPU %d, but this communicator's device "
               "collectives run on GPU %d",
               device, device_->device()));
  }
  return Status::Ok();
}

Status Communicator::SubmitDevice(const std::vector<CollArgs>& ops, int device) {
  for (const CollArgs& a : ops) {
    if (UsesDeviceHierarchy(a)) {
      WEFT_CHECK(EnsureDeviceHierarchy());
      last_device_path_ = "hier";
      WEFT_CHECK(hierarchy_->Run(a, device));
      continue;
    }
    WEFT_CHECK(EnsureDeviceEngine(device));
    last_device_path_ = device_->PathOf(a);
    WEFT_CHECK(device_->Enqueue(a));
  }
  return Status::Ok();
}

bool Communicator::UsesDeviceHierarchy(const CollArgs& a) {
  return config_.device_hier && nhosts_ > 1 && DeviceHierarchy::Serves(shapes_, a) &&
         router_->ChooseForDevice(a.coll, CallBytes(a.coll, a.count, TypeSize(a.type), nranks_),
                                  a.type) == Algo::kHier;
}

Status Communicator::EnsureDeviceHierarchy() {
  if (hierarchy_) return Status::Ok();
  // The splits are host collectives of this communicator: after its queued device work.
  if (device_) WEFT_CHECK(device_->Drain());
  auto all_gather = [this](const void* mine, void* all, size_t bytes) {
    return Run({CollArgs{CollType::kAllGather, mine, all, bytes, weftUint8, weftSum, 0, nullptr}});
  };
  std::unique_ptr<DeviceHierarchy> made;
  WEFT_CHECK(DeviceHierarchy::Create(all_gather, shapes_, rank_, config_, &made));
  std::lock_guard<std::mutex> lock(mutex_);
  hierarchy_ = std::move(made);
  return Status::Ok();
}

uint64_t Communicator::HostReducedBytes() const {
  const uint64_t own = host_reduced_bytes_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mutex_);
  return own + (hierarchy_ ? hierarchy_->HostReducedBytes() : 0);
}

Status Communicator::RegisterWindow(void* buff, size_t bytes, int* slot) {
  ExclusiveCaller::Scope call(&caller_, "weftCommWindowRegister");
  WEFT_CHECK(call.status());
  *slot = -1;
  WEFT_REQUIRE(buff != nullptr && bytes > 0, weftInvalidArgument, "an empty buffer (%p, %zu bytes)",
               buff, bytes);
  int device = -1;
  WEFT_CHECK(PlaceBuffers({buff}, "a window", &device));
  WEFT_REQUIRE(device >= 0, weftInvalidArgument,
               "%p is host memory: windows are device memory (host buffers shared between the "
               "ranks of a host: weftMemAlloc and weftCommRegister)",
               buff);
  WEFT_CHECK(EnsureDeviceEngine(device));
  return device_->RegisterWindow(buff, bytes, slot);
}

Status Communicator::DeregisterWindow(int slot) {
  ExclusiveCaller::Scope call(&caller_, "weftCommWindowDeregister");
  WEFT_CHECK(call.status());
  if (!device_) return Status::Ok();  // nothing was mapped
  return device_->DeregisterWindow(slot);
}

}  // namespace weft
