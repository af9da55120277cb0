// How a device reduction splits its elements into an unaligned head, a body of 16-byte
// vectors and a tail, and how many blocks it launches. Plain functions, shared by the CUDA
// kernels (compiled by nvcc) and their unit tests (plain C++, no GPU needed).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/host_device.h"

namespace weft {

constexpr size_t kVectorBytes = 16;

struct VectorSplit {
  size_t head = 0;     // scalar elements before the first vector
  size_t vectors = 0;  // 16-byte vectors of the body
  size_t tail = 0;     // scalar elements after the body
};

// `addrs` are the n arrays of one reduction (inputs and output), each `count` elements of
// `elem_size` bytes (1, 2, 4 or 8), each aligned to its element size. The body is vectorized
// only when every array sits at the same offset modulo 16: then one head brings them all to
// a 16-byte boundary together. Otherwise every element is head (scalar loads).
WEFT_HOST_DEVICE inline VectorSplit SplitForVectors(const uintptr_t* addrs, int n, size_t count,
                                                    size_t elem_size) {
  VectorSplit s;
  const uintptr_t offset = addrs[0] % kVectorBytes;
  for (int i = 1; i < n; ++i) {
    if (addrs[i] % kVectorBytes != offset) {
      s.head = count;
      return s;
    }
  }
  const size_t head = offset == 0 ? 0 : (kVectorBytes - offset) / elem_size;
  if (head >= count) {
    s.head = count;
    return s;
  }
  const size_t per_vector = kVectorBytes / elem_size;
  s.head = head;
  s.vectors = (count - head) / per_vector;
  s.tail = count - head - s.vectors * per_vector;
  return s;
}

struct LaunchShape {
  int blocks_per_task = 1;  // grid.x; grid.y is the task count
  int threads = 512;
};

// Blocks for a launch of `ntasks` independent reductions of at most `task_bytes` each on a
// device with `sm_count` multiprocessors. Enough blocks to fill every SM (four blocks of 512
// threads is a full Hopper/Ampere SM, which keeps enough loads in flight to reach memory
// bandwidth), but no block with less than 32 KiB to move, so small reductions do not pay
// for idle blocks.
inline LaunchShape ChooseLaunch(int sm_count, size_t task_bytes, int ntasks) {
  LaunchShape shape;
  constexpr size_t kMinBytesPerBlock = 32 * 1024;
  const size_t wanted = (task_bytes + kMinBytesPerBlock - 1) / kMinBytesPerBlock;
  const int tasks = ntasks < 1 ? 1 : ntasks;
  const int sms = sm_count < 1 ? 1 : sm_count;
  const size_t cap = static_cast<size_t>(sms * 4 / tasks < 1 ? 1 : sms * 4 / tasks);
  shape.blocks_per_task = static_cast<int>(wanted < 1 ? 1 : (wanted > cap ? cap : wanted));
  return shape;
}

}  // namespace weft
