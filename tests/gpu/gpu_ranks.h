// What the kernel tests' ranks have on one GPU, ranks as threads of one process: a stream, an
// input and an output, and a status word each, and one abort flag in mapped host memory
// that every rank's kernel watches. Each test's job adds its protocol's memory with Zeroed
// and Table, freed with the job.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft {

template <int N>
struct GpuRanks {
  explicit GpuRanks(size_t bytes) {
    for (int r = 0; r < N; ++r) {
      cudaStreamCreateWithFlags(&stream[r], cudaStreamNonBlocking);
      in[r] = Zeroed<void>(bytes);
      out[r] = Zeroed<void>(bytes);
      status[r] = Zeroed<uint32_t>(sizeof(uint32_t));
    }
    cudaHostAlloc(reinterpret_cast<void**>(&abort_host), sizeof(uint32_t), cudaHostAllocMapped);
    *abort_host = 0;
    cudaHostGetDevicePointer(reinterpret_cast<void**>(&abort_dev), abort_host, 0);
  }
  ~GpuRanks() {
    cudaDeviceSynchronize();  // no kernel still reads what is freed below
    for (int r = 0; r < N; ++r)
      cudaStreamDestroy(stream[r]);
    for (void* p : owned_)
      cudaFree(p);
    cudaFreeHost(abort_host);
  }
  GpuRanks(const GpuRanks&) = delete;
  GpuRanks& operator=(const GpuRanks&) = delete;

  // `bytes` of zeroed device memory.
  template <typename T>
  T* Zeroed(size_t bytes) {
    void* p = nullptr;
    cudaMalloc(&p, bytes);
    cudaMemset(p, 0, bytes);
    owned_.push_back(p);
    return static_cast<T*>(p);
  }
  // A device copy of `n` host values (such as every rank's pointer to something).
  template <typename T>
  T* Table(const T* values, size_t n) {
    T* p = Zeroed<T>(n * sizeof(T));
    cudaMemcpy(p, values, n * sizeof(T), cudaMemcpyHostToDevice);
    return p;
  }

  cudaStream_t stream[N];
  void* in[N];
  void* out[N];
  uint32_t* status[N];
  uint32_t* abort_host = nullptr;
  uint32_t* abort_dev = nullptr;

 private:
  std::vector<void*> owned_;
};

}  // namespace weft
