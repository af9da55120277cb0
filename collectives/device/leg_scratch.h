// Scratch memory for calls composed of calls (the device hierarchy's all-gather and
// reduce-scatter put the rails' chunks side by side there), kept from call to call, in host
// memory or on one GPU.
//
// On a GPU, calls on different streams may run at once; each call's stream waits (an event,
// not the host) for the last call that used the scratch before it uses it. A call larger
// than the buffer gets a new one, a power of two in size; the outgrown ones stay until
// destruction, because a queued call may still use them and freeing device memory would wait
// for the whole GPU, where other ranks' kernels may wait for this thread (thread-ranks).
// So the scratch holds less than twice the largest call's need, plus the smaller buffers it
// outgrew (less than that again).
#pragma once

#include <cstddef>
#include <vector>

#include "collectives/device/stream_ops.h"
#include "common/status.h"

namespace weft {

class LegScratch {
 public:
  explicit LegScratch(int device);  // -1: host memory (no stream)
  ~LegScratch();
  LegScratch(const LegScratch&) = delete;
  LegScratch& operator=(const LegScratch&) = delete;

  // At least `bytes` for a call on `stream`, which first waits for the previous user.
  Status Acquire(void* stream, size_t bytes, std::byte** p);
  // After the call's last use is queued on `stream`: the next Acquire waits for it.
  Status Release(void* stream);
  // Queues `copy` on `stream` (host memory: copies now).
  Status Copy(void* stream, const RowCopy& copy) const;

  int device() const { return device_; }
  size_t bytes() const { return bytes_; }

 private:
  int device_;
  std::vector<std::byte> host_;
  void* buffer_ = nullptr;  // on the GPU
  size_t bytes_ = 0;
  std::vector<void*> retired_;  // outgrown GPU buffers
  StreamEvent last_use_;
  bool used_ = false;  // last_use_ marks a call
};

}  // namespace weft
