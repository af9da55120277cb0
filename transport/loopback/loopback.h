// Loopback: an in-process fabric of N virtual ranks, for testing Plans and the PlanExecutor
// without a network. Single-threaded: the test drives every rank in turn. Shared memory is
// ordinary memory of the process (every virtual rank "maps" every other's). Messages up to
// `eager_limit` bytes are copied at send time (the send completes at once); larger ones
// stay in the sender's buffer until a receive matches (the send completes then), as a
// rendezvous protocol does, so executor bugs around buffer lifetime show up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "transport/transport.h"

namespace weft {

class LoopbackFabric {
 public:
  explicit LoopbackFabric(int nranks, size_t eager_limit = 256);
  Transport* transport(int rank) { return transports_[rank].get(); }
  int nranks() const { return static_cast<int>(transports_.size()); }
  // Messages sent but not yet received, over all ranks (0 after a clean collective).
  size_t UnexpectedMessages() const;
  // Receives posted but not yet matched (network links keep some posted ahead).
  size_t PostedReceives() const;

 private:
  friend class LoopbackTransport;
  struct Message {
    int src;
    uint64_t tag;
    std::vector<std::byte> eager;           // copied payload (eager)
    const std::byte* rendezvous = nullptr;  // sender's buffer (rendezvous)
    size_t bytes = 0;
    Completion* send = nullptr;  // completed when matched (rendezvous)
  };
  struct PostedRecv {
    int src;
    uint64_t tag;
    std::byte* buf;
    size_t bytes;
    Completion* c;
  };
  struct Mailbox {
    std::deque<Message> unexpected;
    std::deque<PostedRecv> posted;
  };
  size_t eager_limit_;
  std::vector<Mailbox> boxes_;
  // Shared memory: 64-byte aligned, zeroed; a descriptor is the index here.
  std::vector<std::unique_ptr<std::byte[]>> shared_memory_;
  std::vector<void*> shared_aligned_;
  std::vector<std::unique_ptr<Transport>> transports_;
};

}  // namespace weft
