// CUDA IPC between the ranks of one host: a rank names the allocation behind a device
// pointer by a handle and an offset; a peer maps the handle once and keeps the mapping
// for the communicator's life (opening costs milliseconds; buffers are reused call after
// call). Several ranks may share one GPU.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <utility>

#include "common/status.h"

namespace weft {

struct IpcBuffer {
  uint8_t handle[64] = {};  // cudaIpcMemHandle_t
  uint64_t offset = 0;      // of the pointer within its allocation
};

// The allocation holding `ptr`: its first byte and its size (cuMemGetAddressRange).
Status AllocationRange(const void* ptr, uintptr_t* base, size_t* bytes);

// What the driver says of the allocation holding a pointer, for per-call lookups: its id
// (CU_POINTER_ATTRIBUTE_BUFFER_ID: unique over the process's life, so memory freed and
// allocated again at the same address has a new one) and its range. The driver's entries
// are looked up once, when it is made.
class BufferIds {
 public:
  BufferIds();
  // 0 where the pointer is not CUDA memory or the driver cannot say.
  uint64_t Of(const void* ptr) const;
  // As AllocationRange.
  Status Range(const void* ptr, uintptr_t* base, size_t* bytes) const;

 private:
  void* get_attribute_ = nullptr;  // cuPointerGetAttribute
  void* address_range_ = nullptr;  // cuMemGetAddressRange
};

// The handle of the allocation holding `ptr`. Fails (clearly) for memory legacy IPC cannot
// share, such as cudaMallocAsync pools.
Status ExportIpcBuffer(const void* ptr, IpcBuffer* out);

class IpcImporter {
 public:
  IpcImporter() = default;
  ~IpcImporter();  // unmaps everything it mapped
  IpcImporter(const IpcImporter&) = delete;
  IpcImporter& operator=(const IpcImporter&) = delete;
  // The address in this process of `peer`'s buffer.
  Status Map(int peer, const IpcBuffer& buf, void** ptr);

 private:
  std::map<std::pair<int, std::array<uint8_t, 64>>, void*> mapped_;
};

}  // namespace weft
