#include "collectives/device/cuda_device.h"

#include <cuda.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "collectives/device/gate_kernel.h"
#include "common/log.h"

namespace weft {
namespace {

using WaitValueFn = CUresult (*)(CUstream, CUdeviceptr, cuuint32_t, unsigned int);

Status Cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::Ok();
  return CudaError(Format("%s: %s", what, cudaGetErrorString(err)));
}

}  // namespace

BufferLocation LocateBuffer(const void* ptr) {
  BufferLocation loc;
  cudaPointerAttributes attr{};
  if (ptr == nullptr || cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    (void)cudaGetLastError();  // not a CUDA pointer: clear the sticky-free error
    return loc;
  }
  if (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged) {
    loc.device = true;
    loc.device_id = attr.device;
  }
  return loc;
}

Status ReadDeviceScalar(const void* ptr, size_t bytes, std::array<uint8_t, 8>* out) {
  if (bytes > out->size()) return InternalError("scalar wider than 8 bytes");
  const BufferLocation loc = LocateBuffer(ptr);
  ScopedDevice on(loc.device ? loc.device_id : CurrentCudaDevice());
  cudaStream_t s = nullptr;
  WEFT_CHECK(Cuda(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"));
  Status st = Cuda(cudaMemcpyAsync(out->data(), ptr, bytes, cudaMemcpyDefault, s),
                   "reading a PreMulSum's device scalar");
  if (st.ok()) st = Cuda(cudaStreamSynchronize(s), "reading a PreMulSum's device scalar");
  (void)cudaStreamDestroy(s);
  return st;
}

Status AllocateDeviceMemory(size_t bytes, void** ptr) {
  *ptr = nullptr;
  const cudaError_t e = cudaMalloc(ptr, bytes);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    *ptr = nullptr;
    return CudaError(Format("allocating %zu bytes of device memory on GPU %d: %s", bytes,
                            CurrentCudaDevice(), cudaGetErrorString(e)));
  }
  return Status::Ok();
}

Status FreeDeviceMemory(void* ptr) {
  if (ptr == nullptr) return Status::Ok();
  const cudaError_t e = cudaFree(ptr);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return InvalidArgument(
        Format("%p is not device memory this process allocated: %s", ptr, cudaGetErrorString(e)));
  }
  return Status::Ok();
}

bool CudaDevicePresent() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return n > 0;
}

int CurrentCudaDevice() {
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) {
    (void)cudaGetLastError();
    return -1;
  }
  return device;
}

std::string CurrentGpuPciId() {
  int device = -1;
  char bus[32] = {};
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetPCIBusId(bus, sizeof(bus), device) != cudaSuccess) {
    (void)cudaGetLastError();
    return "";
  }
  return bus;
}

PinnedBuffer::~PinnedBuffer() {
  if (data_ != nullptr) (void)cudaFreeHost(data_);
}
PinnedBuffer::PinnedBuffer(PinnedBuffer&& o) noexcept : data_(o.data_), bytes_(o.bytes_) {
  o.data_ = nullptr;
  o.bytes_ = 0;
}
PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) (void)cudaFreeHost(data_);
    data_ = o.data_;
    bytes_ = o.bytes_;
    o.data_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}
Status PinnedBuffer::Allocate(size_t bytes, PinnedBuffer* out) {
  void* p = nullptr;
  WEFT_CHECK(
      Cuda(cudaHostAlloc(&p, bytes == 0 ? 1 : bytes, cudaHostAllocMapped | cudaHostAllocPortable),
           Format("cudaHostAlloc of %zu bytes", bytes).c_str()));
  *out = PinnedBuffer();
  out->data_ = p;
  out->bytes_ = bytes;
  return Status::Ok();
}

Status AllocateMappedRegion(size_t bytes, SharedRegion* out) {
  PinnedBuffer buffer;
  WEFT_CHECK(PinnedBuffer::Allocate(bytes, &buffer).WithContext("the proxy's FIFOs"));
  void* dev = nullptr;
  WEFT_CHECK(Cuda(cudaHostGetDevicePointer(&dev, buffer.data(), 0),
                  "cudaHostGetDevicePointer for the proxy's FIFOs"));
  std::memset(buffer.data(), 0, bytes);
  // The buffer lives in the region's free, which releases it (or, never called, in the
  // region kept for life).
  auto owner = std::make_shared<PinnedBuffer>(std::move(buffer));
  out->host = owner->data();
  out->device = dev;
  out->free = [owner](void*) { *owner = PinnedBuffer(); };
  return Status::Ok();
}

ScopedDevice::ScopedDevice(int device) {
  if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
  if (previous_ != device) (void)cudaSetDevice(device);
}
ScopedDevice::~ScopedDevice() {
  int now = -1;
  if (previous_ >= 0 && cudaGetDevice(&now) == cudaSuccess && now != previous_)
    (void)cudaSetDevice(previous_);
}

Status CudaDevice::Create(int device, std::unique_ptr<CudaDevice>* out) {
  std::unique_ptr<CudaDevice> d(new CudaDevice());
  d->device_ = device;
  ScopedDevice scope(device);
  WEFT_CHECK(Cuda(cudaDeviceGetAttribute(&d->sm_count_, cudaDevAttrMultiProcessorCount, device),
                  "cudaDeviceGetAttribute(multiprocessors)"));
  WEFT_CHECK(Cuda(static_cast<cudaError_t>(PreloadGateKernel()), "loading the gate kernel"));
  WEFT_CHECK(PinnedBuffer::Allocate(64, &d->gate_memory_));
  d->gate_ = static_cast<volatile uint32_t*>(d->gate_memory_.data());
  *d->gate_ = 0;

  // Prefer the driver's stream wait-value (no SM is held while waiting). It is looked up
  // through the runtime so that libweft needs no libcuda at link time, and tried once on
  // a private stream: some platforms refuse waits on host memory.
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion("cuStreamWaitValue32", &fn, 12000, cudaEnableDefault,
                                       &found) == cudaSuccess &&
      found == cudaDriverEntryPointSuccess && fn != nullptr) {
    cudaStream_t probe = nullptr;
    void* dev_gate = nullptr;
    bool ok = cudaStreamCreateWithFlags(&probe, cudaStreamNonBlocking) == cudaSuccess &&
              cudaHostGetDevicePointer(&dev_gate, d->gate_memory_.data(), 0) == cudaSuccess &&
              reinterpret_cast<WaitValueFn>(fn)(reinterpret_cast<CUstream>(probe),
                                                reinterpret_cast<CUdeviceptr>(dev_gate), 0,
                                                CU_STREAM_WAIT_VALUE_GEQ) == CUDA_SUCCESS &&
              cudaStreamSynchronize(probe) == cudaSuccess;
    if (probe != nullptr) (void)cudaStreamDestroy(probe);
    if (ok) d->wait_value_ = fn;
    (void)cudaGetLastError();
  }
  WEFT_INFO(kLogInit, "device %d: %d multiprocessors, stream gate by %s", device, d->sm_count_,
            d->gate_mechanism());
  *out = std::move(d);
  return Status::Ok();
}

CudaDevice::~CudaDevice() {
  for (void* e : events_)
    if (e != nullptr) (void)cudaEventDestroy(static_cast<cudaEvent_t>(e));
}

const char* CudaDevice::gate_mechanism() const {
  return wait_value_ != nullptr ? "stream wait-value" : "spin kernel";
}

Status CudaDevice::RecordEvent(void* stream, int* id) {
  int slot = -1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_events_.empty()) {
      slot = free_events_.back();
      free_events_.pop_back();
    }
  }
  if (slot < 0) {
    cudaEvent_t e = nullptr;
    WEFT_CHECK(
        Cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags"));
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(e);
    slot = static_cast<int>(events_.size()) - 1;
  }
  cudaEvent_t e;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    e = static_cast<cudaEvent_t>(events_[slot]);
  }
  Status s = Cuda(cudaEventRecord(e, static_cast<cudaStream_t>(stream)), "cudaEventRecord");
  if (!s.ok()) {
    ReleaseEvent(slot);
    return s;
  }
  *id = slot;
  return Status::Ok();
}

Status CudaDevice::WaitGate(void* stream, uint32_t value) {
  if (wait_value_ != nullptr) {
    void* dev_gate = nullptr;
    WEFT_CHECK(Cuda(cudaHostGetDevicePointer(&dev_gate, gate_memory_.data(), 0),
                    "cudaHostGetDevicePointer"));
    const CUresult r = reinterpret_cast<WaitValueFn>(wait_value_)(
        static_cast<CUstream>(stream), reinterpret_cast<CUdeviceptr>(dev_gate), value,
        CU_STREAM_WAIT_VALUE_GEQ);
    if (r != CUDA_SUCCESS) return CudaError(Format("cuStreamWaitValue32: error %d", r));
    return Status::Ok();
  }
  return Cuda(static_cast<cudaError_t>(LaunchGateSpin(gate_, value, stream)),
              "stream gate kernel launch");
}

Status CudaDevice::EventDone(int id, bool* done) {
  cudaEvent_t e;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    e = static_cast<cudaEvent_t>(events_[id]);
  }
  const cudaError_t err = cudaEventQuery(e);
  if (err == cudaErrorNotReady) {
    *done = false;
    return Status::Ok();
  }
  *done = err == cudaSuccess;
  return Cuda(err, "cudaEventQuery (an earlier kernel on the stream failed)");
}

void CudaDevice::ReleaseEvent(int id) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_events_.push_back(id);
}

void CudaDevice::OpenGate(uint32_t value) {
  // Descriptors written before this store are visible to the kernels the gate releases
  // (x86 keeps stores in order; the fence keeps the compiler from reordering them).
  std::atomic_thread_fence(std::memory_order_release);
  if (static_cast<int32_t>(value - *gate_) > 0) *gate_ = value;
}

}  // namespace weft
