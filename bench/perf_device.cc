#include "bench/perf_device.h"

#if WEFT_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace weft::perf {

#if WEFT_HAVE_CUDA
DeviceBuffers::~DeviceBuffers() {
  if (stream_ != nullptr) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
  cudaFree(send_);
  cudaFree(recv_);
}

bool DeviceBuffers::Allocate(size_t bytes, std::string* error) {
  cudaStream_t s = nullptr;
  cudaError_t err = cudaMalloc(&send_, bytes);
  if (err == cudaSuccess) err = cudaMalloc(&recv_, bytes);
  if (err == cudaSuccess) err = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
  stream_ = s;
  if (err != cudaSuccess) *error = cudaGetErrorString(err);
  return err == cudaSuccess;
}

// On our stream and waited for: cudaMemcpy from pageable memory returns before a small
// copy has landed, and on the legacy stream, which a non-blocking stream does not wait for.
bool DeviceBuffers::ToDevice(void* dst, const void* src, size_t bytes) {
  auto s = static_cast<cudaStream_t>(stream_);
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s) == cudaSuccess &&
         cudaStreamSynchronize(s) == cudaSuccess;
}
bool DeviceBuffers::ToHost(void* dst, const void* src, size_t bytes) {
  auto s = static_cast<cudaStream_t>(stream_);
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s) == cudaSuccess &&
         cudaStreamSynchronize(s) == cudaSuccess;
}
bool DeviceBuffers::Synchronize() {
  return cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)) == cudaSuccess;
}
#else
DeviceBuffers::~DeviceBuffers() = default;
bool DeviceBuffers::Allocate(size_t, std::string* error) {
  *error = "this weft-perf was built without CUDA";
  return false;
}
bool DeviceBuffers::ToDevice(void*, const void*, size_t) {
  return false;
}
bool DeviceBuffers::ToHost(void*, const void*, size_t) {
  return false;
}
bool DeviceBuffers::Synchronize() {
  return false;
}
#endif

}  // namespace weft::perf
