// weft-perf's device memory (--mem device): buffers, a stream, and copies. Without CUDA
// every call fails with a message.
#pragma once

#include <cstddef>
#include <string>

namespace weft::perf {

class DeviceBuffers {
 public:
  DeviceBuffers() = default;
  ~DeviceBuffers();
  DeviceBuffers(const DeviceBuffers&) = delete;
  DeviceBuffers& operator=(const DeviceBuffers&) = delete;
  // Two buffers of `bytes` on the current GPU and a stream; false with *error set.
  bool Allocate(size_t bytes, std::string* error);
  char* send() const { return send_; }
  char* recv() const { return recv_; }
  void* stream() const { return stream_; }
  bool ToDevice(void* dst, const void* src, size_t bytes);
  bool ToHost(void* dst, const void* src, size_t bytes);
  bool Synchronize();

 private:
  char* send_ = nullptr;
  char* recv_ = nullptr;
  void* stream_ = nullptr;
};

}  // namespace weft::perf
