// The CUDA side of device collectives: events recorded on user streams, the stream gate
// (a counter in pinned host memory that streams wait on), pinned mapped memory, and the
// questions asked of a pointer. Only built with CUDA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "collectives/device/device_engine.h"
#include "collectives/device/device_queue.h"
#include "collectives/device/net_proxy.h"
#include "common/status.h"

namespace weft {

// Pinned host memory the device can read and write (cudaHostAllocMapped); RAII.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& o) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  static Status Allocate(size_t bytes, PinnedBuffer* out);
  void* data() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// A NetProxy's region in pinned host memory mapped into every device (the proxy reaches it
// at `host`, kernels at `device`), zeroed: its FIFOs, counters and flags (RegionAllocator).
Status AllocateMappedRegion(size_t bytes, SharedRegion* out);

// Keeps the current device of the calling thread as it was.
class ScopedDevice {
 public:
  explicit ScopedDevice(int device);
  ~ScopedDevice();

 private:
  int previous_ = -1;
};

class CudaDevice : public DeviceApi {
 public:
  static Status Create(int device, std::unique_ptr<CudaDevice>* out);
  ~CudaDevice() override;

  int device() const { return device_; }
  int sm_count() const { return sm_count_; }
  // Queues, on `stream`, an event (returns its id) and a wait for the gate to reach `value`.
  Status RecordEvent(void* stream, int* id);
  Status WaitGate(void* stream, uint32_t value);
  // How streams wait: "stream wait-value" (cuStreamWaitValue32) or "spin kernel".
  const char* gate_mechanism() const;

  Status EventDone(int id, bool* done) override;
  void ReleaseEvent(int id) override;
  void OpenGate(uint32_t value) override;

 private:
  CudaDevice() = default;
  int device_ = -1;
  int sm_count_ = 1;
  std::mutex mutex_;
  std::vector<void*> events_;  // cudaEvent_t
  std::vector<int> free_events_;
  PinnedBuffer gate_memory_;
  volatile uint32_t* gate_ = nullptr;
  void* wait_value_ = nullptr;  // cuStreamWaitValue32 from the driver, or null
};

}  // namespace weft
