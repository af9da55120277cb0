// What a call composed of other calls (the device hierarchy) queues on the caller's stream
// between them: strided copies, events that order its scratch memory and its pieces between
// streams, a stream of its own, and that scratch memory. Builds without CUDA answer every one with
// an error (stream_ops_none.cc).
#pragma once

#include <cstddef>

#include "common/status.h"

namespace weft {

// `rows` rows of `width` bytes, read every `src_pitch` bytes from `src` and written every
// `dst_pitch` bytes to `dst` (pitches >= width).
struct RowCopy {
  void* dst = nullptr;
  size_t dst_pitch = 0;
  const void* src = nullptr;
  size_t src_pitch = 0;
  size_t width = 0;
  size_t rows = 0;
};

// Queues `copy` on `stream` (device memory of GPU `device`; one cudaMemcpy2DAsync).
Status CopyRowsOnStream(int device, void* stream, const RowCopy& copy);

// `bytes` of device memory on GPU `device` whatever the calling thread's current device, one
// allocation of its own (CUDA IPC can share it); FreeDeviceMemory frees it.
Status AllocateDeviceMemoryOn(int device, size_t bytes, void** ptr);

// A CUDA event on one GPU (RAII): recorded on one stream, waited for by another without
// the host waiting.
class StreamEvent {
 public:
  static Status Create(int device, StreamEvent* out);
  StreamEvent() = default;
  ~StreamEvent();
  StreamEvent(StreamEvent&& o) noexcept;
  StreamEvent& operator=(StreamEvent&& o) noexcept;
  StreamEvent(const StreamEvent&) = delete;
  StreamEvent& operator=(const StreamEvent&) = delete;

  // Marks the end of what `stream` has queued so far.
  Status Record(void* stream);
  // `stream`'s later work waits until the last Record's mark is reached.
  Status MakeWait(void* stream) const;
  bool valid() const { return event_ != nullptr; }

 private:
  int device_ = -1;
  void* event_ = nullptr;  // cudaEvent_t
};

// A stream of Weft's own on one GPU (RAII), non-blocking: it waits for no other stream but
// through events.
class SideStream {
 public:
  static Status Create(int device, SideStream* out);
  SideStream() = default;
  ~SideStream();
  SideStream(SideStream&& o) noexcept;
  SideStream& operator=(SideStream&& o) noexcept;
  SideStream(const SideStream&) = delete;
  SideStream& operator=(const SideStream&) = delete;

  void* get() const { return stream_; }  // cudaStream_t

 private:
  int device_ = -1;
  void* stream_ = nullptr;
};

}  // namespace weft
