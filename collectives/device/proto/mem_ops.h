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
