// The CUDA reduction back-end: each operation is one launch of the device reduction kernel
// (reduce_cuda.cu) on a private non-blocking stream, complete when the call returns. This
// is the seam device plans plug into; today's device collectives run their own kernels
// (collectives/device/), and host plans never reach it.
#include <cuda_runtime.h>

#include <mutex>

#include "collectives/device/cuda_device.h"
#include "collectives/reduce/backend.h"
#include "collectives/reduce/reduce_cuda.h"
#include "common/dtype.h"

namespace weft {
namespace {

Status Cuda(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::Ok();
  return CudaError(Format("%s: %s", what, cudaGetErrorString(err)));
}

class CudaBackend : public ReduceBackend {
 public:
  const char* name() const override { return "cuda"; }
  Status Copy(void* dst, const void* src, size_t bytes) override {
    if (dst == src || bytes == 0) return Status::Ok();
    std::lock_guard<std::mutex> lock(mutex_);
    WEFT_CHECK(Ready());
    WEFT_CHECK(Cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_), "copy"));
    return Cuda(cudaStreamSynchronize(stream_), "copy");
  }
  Status Reduce(void* dst, const void* a, const void* b, size_t count, weftDataType_t type,
                weftRedOp_t op, StoreHint) override {
    return Launch({dst}, a, b, count, type, op, 0);
  }
  Status ReduceTwice(void* dst, void* dst2, const void* a, const void* b, size_t count,
                     weftDataType_t type, weftRedOp_t op, StoreHint) override {
    return Launch({dst, dst2}, a, b, count, type, op, 0);
  }
  Status Divide(void* p, size_t count, weftDataType_t type, int divisor) override {
    return Launch({p}, p, nullptr, count, type, weftSum, divisor);
  }

 private:
  Status Ready() {
    if (stream_ != nullptr) return Status::Ok();
    WEFT_CHECK(PreloadDeviceKernels());
    WEFT_CHECK(PinnedBuffer::Allocate(sizeof(DevicePhase), &phase_memory_));
    int device = 0;
    WEFT_CHECK(Cuda(cudaGetDevice(&device), "cudaGetDevice"));
    WEFT_CHECK(Cuda(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device),
                    "SM count"));
    return Cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "stream");
  }
  // One task per output, each reducing a and b (or copying a, and dividing by `divisor`).
  Status Launch(std::initializer_list<void*> outs, const void* a, const void* b, size_t count,
                weftDataType_t type, weftRedOp_t op, int divisor) {
    if (count == 0) return Status::Ok();
    std::lock_guard<std::mutex> lock(mutex_);
    WEFT_CHECK(Ready());
    auto* phase = static_cast<DevicePhase*>(phase_memory_.data());
    *phase = DevicePhase();
    phase->divisor = divisor;
    for (void* out : outs) {
      DeviceTask& t = phase->task[phase->ntasks++];
      t.ninputs = b == nullptr ? 1 : 2;
      t.in[0] = a;
      t.in[1] = b;
      t.count = count;
      t.out = out;
    }
    WEFT_CHECK(LaunchDevicePhase(phase, static_cast<int>(phase->ntasks), count, type, op, sm_count_,
                                 stream_));
    return Cuda(cudaStreamSynchronize(stream_), "reduction");
  }

  std::mutex mutex_;
  // The calling thread's device at first use: one back-end per process serves one GPU
  // (docs/architecture.md lists this limit).
  int sm_count_ = 0;
  cudaStream_t stream_ = nullptr;  // lives as long as the process (one back-end per process)
  PinnedBuffer phase_memory_;
};

}  // namespace

ReduceBackend* ReduceBackendFor(MemoryType mem) {
  if (mem == MemoryType::kHost) return HostReduceBackend();
  static auto* backend = new CudaBackend();  // never destroyed: CUDA may be gone at exit
  return backend;
}

}  // namespace weft
