// weft-perf's host buffers: ordinary heap memory, or with --register (nccl-tests' -R) memory
// from weftMemAlloc that each communicator measured registers, so that one-copy plans let
// the peers map it and read and write it in place.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "weft/weft.h"

namespace weft::perf {

class HostBuffer {
 public:
  HostBuffer() = default;
  ~HostBuffer() {
    if (shared_ != nullptr) weftMemFree(shared_);
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  // `bytes` zeroed bytes, shared (weftMemAlloc) or not; false if weftMemAlloc failed.
  bool Allocate(size_t bytes, bool shared) {
    if (!shared) {
      heap_.assign(bytes, 0);
      data_ = heap_.data();
    } else {
      if (weftMemAlloc(&shared_, bytes) != weftSuccess) return false;
      data_ = static_cast<char*>(shared_);
      std::memset(data_, 0, bytes);  // touched once: page faults stay out of timings
    }
    size_ = bytes;
    return true;
  }
  char* data() const { return data_; }
  size_t size() const { return size_; }
  bool shared() const { return shared_ != nullptr; }

 private:
  std::vector<char> heap_;
  void* shared_ = nullptr;
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace weft::perf
