// The buffers a communicator's user registered (weftCommRegister): for each, where it lives
// in shared memory the other ranks of the host may map (transport/shm/shared_buffer.h). A
// one-copy plan posts a registered buffer's memory file with its address, and the peers
// then read and write it in place instead of through process_vm_readv/writev. Looking a
// buffer up is a scan of the registrations: a few per communicator, as with
// ncclCommRegister.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"
#include "transport/shm/shared_buffer.h"

namespace weft {

class MemoryRegistry {
 public:
  // Registers [p, p + bytes), which must lie in one buffer from weftMemAlloc; *handle is
  // what Deregister takes.
  Status Register(const void* p, size_t bytes, void** handle);
  Status Deregister(void* handle);
  // The shared memory holding all of [p, p + bytes) by one registration (nonce 0: none).
  SharedRange Find(const void* p, size_t bytes) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uintptr_t begin;
    size_t bytes;
    SharedRange range;  // of `begin`
  };
  std::vector<std::unique_ptr<Entry>> entries_;  // a handle is its Entry's address
};

}  // namespace weft
