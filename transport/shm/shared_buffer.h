// Host buffers the ranks of one host can map into each other: zero-copy collectives. A
// buffer from AllocateSharedBuffer (weftMemAlloc) lives in a memory file (memfd) that stays
// open in its owner; a peer opens it through /proc/<owner>/fd/<fd> (the same permission as
// process_vm_readv: same user, ptrace allowed), maps it once and then reads and writes the
// owner's buffer with plain loads and stores. The file's first page is a header the owner
// writes and a peer checks: a magic word, the file's size and a random nonce that tells one
// allocation from a later one at the same descriptor.
//
// Why a memory file and not process_vm_readv: the kernel copy pins the peer's pages per
// call (5-7 GB/s on the CI machine, below a two-copy ring through shared FIFOs), where a
// mapping made once reads at memcpy speed.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace weft {

// Where a shared buffer is, as its owner describes it to a peer.
struct SharedRange {
  uint64_t nonce = 0;       // the allocation's (0: the memory is not shareable)
  int32_t fd = -1;          // the memory file in the owner's process
  uint64_t file_bytes = 0;  // the whole file, header included
  uint64_t offset = 0;      // bytes from the file's start to the described address
};

// The header page before the caller's memory.
constexpr size_t kSharedBufferHeaderBytes = 4096;

// weftMemAlloc: `bytes` of page-aligned memory in a new memory file.
Status AllocateSharedBuffer(size_t bytes, void** out);
// weftMemFree: `p` must be what AllocateSharedBuffer returned.
Status FreeSharedBuffer(void* p);

// Whether [p, p + bytes) lies in one buffer from AllocateSharedBuffer, and where: reads
// /proc/self/maps (tens of microseconds: for registration, not per call).
Status FindSharedBuffer(const void* p, size_t bytes, SharedRange* out);

// A peer process's shared buffers mapped here, reused from call to call. At most
// `max_mappings` stay mapped; the least recently used goes first.
class PeerMappings {
 public:
  explicit PeerMappings(size_t max_mappings = 32) : max_(max_mappings) {}
  ~PeerMappings();
  PeerMappings(const PeerMappings&) = delete;
  PeerMappings& operator=(const PeerMappings&) = delete;

  // The address, here, of `range` in process `pid` (mapping its file at first use).
  Status Map(pid_t pid, const SharedRange& range, std::byte** at);
  size_t size() const { return maps_.size(); }

 private:
  struct Mapping {
    pid_t pid;
    uint64_t nonce;
    std::byte* base;
    uint64_t bytes;
    uint64_t last_use;
  };
  std::vector<Mapping> maps_;
  size_t max_;
  uint64_t clock_ = 0;
};

}  // namespace weft
