// The few memory operations the device protocols are written with, once for the GPU (PTX,
// cuda::atomic_ref at system scope) and once for CPU threads standing in for kernels in CI
// (__atomic builtins), so one protocol source runs in both. Counters and flags are atomic,
// data plain: ThreadSanitizer then flags any missing acquire or release in the CPU runs.
#pragma once

#include <cstdint>

#include "common/host_device.h"

#include <chrono>
#include <thread>

#ifdef __CUDACC__
#include <cuda/atomic>
#endif

namespace weft::proto {

WEFT_HOST_DEVICE inline uint32_t LoadAcquire(const uint32_t* p) {
#ifdef __CUDA_ARCH__
  return cuda::atomic_ref<uint32_t, cuda::thread_scope_system>(*const_cast<uint32_t*>(p))
      .load(cuda::memory_order_acquire);
#else
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#endif
}

WEFT_HOST_DEVICE inline void StoreRelease(uint32_t* p, uint32_t v) {
#ifdef __CUDA_ARCH__
  cuda::atomic_ref<uint32_t, cuda::thread_scope_system>(*p).store(v, cuda::memory_order_release);
#else
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
#endif
}

WEFT_HOST_DEVICE inline uint64_t LoadAcquire(const uint64_t* p) {
#ifdef __CUDA_ARCH__
  return cuda::atomic_ref<uint64_t, cuda::thread_scope_system>(*const_cast<uint64_t*>(p))
      .load(cuda::memory_order_acquire);
#else
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#endif
}

WEFT_HOST_DEVICE inline void StoreRelease(uint64_t* p, uint64_t v) {
#ifdef __CUDA_ARCH__
  cuda::atomic_ref<uint64_t, cuda::thread_scope_system>(*p).store(v, cuda::memory_order_release);
#else
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
#endif
}

// Orders every write the block made before it (after BlockSync) before what the calling
// thread stores next, at system scope: a block's data, then one thread's flag.
WEFT_HOST_DEVICE inline void FenceSystem() {
#ifdef __CUDA_ARCH__
  __threadfence_system();
#else
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

// The threads of one block meet. On the CPU a "block" is one thread (callers pass
// nthreads == 1), so there is nothing to wait for.
WEFT_HOST_DEVICE inline void BlockSync() {
#ifdef __CUDA_ARCH__
  __syncthreads();
#endif
}

// 16 bytes of bulk data, loaded past the SM's L1 (peers write what a kernel reads while it
// runs, and L1 is not coherent) and stored plainly. p must be 16-byte aligned.
struct alignas(16) Vec16 {
  uint64_t lo, hi;
};

WEFT_HOST_DEVICE inline Vec16 LoadVec(const void* p) {
#ifdef __CUDA_ARCH__
  const ulonglong2 v = __ldcg(static_cast<const ulonglong2*>(p));
  return Vec16{v.x, v.y};
#else
  Vec16 v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
#endif
}

WEFT_HOST_DEVICE inline void StoreVec(void* p, Vec16 v) {
#ifdef __CUDA_ARCH__
  *static_cast<ulonglong2*>(p) = make_ulonglong2(v.lo, v.hi);
#else
  __builtin_memcpy(p, &v, sizeof(v));
#endif
}

// One 16-byte line as two 8-byte words, each stored and loaded whole (one vector store on
// the GPU): a reader that sees a word sees all of it. Nothing orders the two words.
WEFT_HOST_DEVICE inline void StoreLine(uint64_t* line, uint64_t lo, uint64_t hi) {
#ifdef __CUDA_ARCH__
  asm volatile("st.volatile.global.v2.u64 [%0], {%1, %2};" ::"l"(line), "l"(lo), "l"(hi)
               : "memory");
#else
  __atomic_store_n(&line[0], lo, __ATOMIC_RELAXED);
  __atomic_store_n(&line[1], hi, __ATOMIC_RELAXED);
#endif
}

WEFT_HOST_DEVICE inline void LoadLine(const uint64_t* line, uint64_t* lo, uint64_t* hi) {
#ifdef __CUDA_ARCH__
  uint64_t a, b;
  asm volatile("ld.volatile.global.v2.u64 {%0, %1}, [%2];"
               : "=l"(a), "=l"(b)
               : "l"(line)
               : "memory");
  *lo = a;
  *hi = b;
#else
  *lo = __atomic_load_n(&line[0], __ATOMIC_RELAXED);
  *hi = __atomic_load_n(&line[1], __ATOMIC_RELAXED);
#endif
}

WEFT_HOST_DEVICE inline void Pause() {
#ifdef __CUDA_ARCH__
  __nanosleep(32);
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Between two looks at the abort flag: on the CPU, where the threads standing in for
// kernels may outnumber the cores, give the core to the thread being waited for.
WEFT_HOST_DEVICE inline void Yield() {
#ifndef __CUDA_ARCH__
  std::this_thread::yield();
#endif
}

// Nanoseconds on a clock every waiter of the job reads alike: the GPU's global timer, the
// host's steady clock.
WEFT_HOST_DEVICE inline uint64_t NowNs() {
#ifdef __CUDA_ARCH__
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
#else
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
#endif
}

}  // namespace weft::proto
