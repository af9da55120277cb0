#include <cuda_runtime.h>

#include <utility>

#include "collectives/device/cuda_device.h"
#include "collectives/device/device_engine.h"
#include "collectives/device/stream_ops.h"
#include "common/log.h"

namespace weft {
namespace {

Status Cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::Ok();
  (void)cudaGetLastError();
  return CudaError(Format("%s: %s", what, cudaGetErrorString(err)));
}

}  // namespace

Status CopyRowsOnStream(int device, void* stream, const RowCopy& c) {
  if (c.rows == 0 || c.width == 0) return Status::Ok();
  ScopedDevice on(device);
  return Cuda(cudaMemcpy2DAsync(c.dst, c.dst_pitch, c.src, c.src_pitch, c.width, c.rows,
                                cudaMemcpyDefault, static_cast<cudaStream_t>(stream)),
              "queueing a strided device copy");
}

Status AllocateDeviceMemoryOn(int device, size_t bytes, void** ptr) {
  ScopedDevice on(device);
  return AllocateDeviceMemory(bytes, ptr);
}

Status StreamEvent::Create(int device, StreamEvent* out) {
  ScopedDevice on(device);
  cudaEvent_t e = nullptr;
  WEFT_CHECK(Cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate"));
  StreamEvent made;
  made.device_ = device;
  made.event_ = e;
  *out = std::move(made);
  return Status::Ok();
}

StreamEvent::~StreamEvent() {
  if (event_ == nullptr) return;
  ScopedDevice on(device_);
  (void)cudaEventDestroy(static_cast<cudaEvent_t>(event_));
}

StreamEvent::StreamEvent(StreamEvent&& o) noexcept
    : device_(o.device_), event_(std::exchange(o.event_, nullptr)) {}

StreamEvent& StreamEvent::operator=(StreamEvent&& o) noexcept {
  if (this != &o) {
    StreamEvent old(std::move(*this));
    device_ = o.device_;
    event_ = std::exchange(o.event_, nullptr);
  }
  return *this;
}

Status StreamEvent::Record(void* stream) {
  ScopedDevice on(device_);
  return Cuda(cudaEventRecord(static_cast<cudaEvent_t>(event_), static_cast<cudaStream_t>(stream)),
              "cudaEventRecord");
}

Status StreamEvent::MakeWait(void* stream) const {
  ScopedDevice on(device_);
  return Cuda(
      cudaStreamWaitEvent(static_cast<cudaStream_t>(stream), static_cast<cudaEvent_t>(event_), 0),
      "cudaStreamWaitEvent");
}

Status SideStream::Create(int device, SideStream* out) {
  ScopedDevice on(device);
  cudaStream_t st = nullptr;
  WEFT_CHECK(Cuda(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "creating a side stream"));
  SideStream made;
  made.device_ = device;
  made.stream_ = st;
  *out = std::move(made);
  return Status::Ok();
}

SideStream::~SideStream() {
  if (stream_ == nullptr) return;
  ScopedDevice on(device_);
  // Work still queued finishes first; the stream's resources go after it.
  (void)cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

SideStream::SideStream(SideStream&& o) noexcept
    : device_(o.device_), stream_(std::exchange(o.stream_, nullptr)) {}

SideStream& SideStream::operator=(SideStream&& o) noexcept {
  if (this != &o) {
    SideStream old(std::move(*this));
    device_ = o.device_;
    stream_ = std::exchange(o.stream_, nullptr);
  }
  return *this;
}

}  // namespace weft
