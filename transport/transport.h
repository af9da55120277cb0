// Transport: the whole interface collectives see. Point-to-point, tagged, non-blocking;
// completion is reported through a Completion the caller owns until it is done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "common/status.h"

namespace weft {

enum class MemoryType { kHost = 0, kCuda = 1 };

// Filled by the transport when an operation ends (successfully or not). The caller keeps it
// alive and unmoved until `done` is true.
struct Completion {
  bool done = false;
  Status status;
  void* handle = nullptr;  // transport's request, for Cancel
  size_t bytes = 0;        // bytes received (receives)
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual int rank() const = 0;
  virtual int nranks() const = 0;

  // Posts a send of `bytes` from `buf` to `peer`. `buf` must stay valid until c->done.
  virtual Status Send(int peer, const void* buf, size_t bytes, MemoryType mem, uint64_t tag,
                      Completion* c) = 0;
  // Posts a receive of at most `bytes` into `buf` of a message from `peer` with `tag`.
  virtual Status Recv(int peer, void* buf, size_t bytes, MemoryType mem, uint64_t tag,
                      Completion* c) = 0;
  // Asks the transport to end a posted operation early; it completes with an error.
  virtual void Cancel(Completion* c) = 0;
  // Makes progress; returns true if anything happened.
  virtual bool Progress() = 0;
  // Blocks until Progress may find something to do, or timeout_ms passes.
  virtual void WaitForEvent(int timeout_ms) = 0;
  // Non-OK once a peer has failed (endpoint error); names the peer.
  virtual Status Health() const = 0;
  // The user gave up on requests that did not end (a peer cut off by the network leaves a
  // receive matched to its rendezvous, which no cancel ends, and sends unacknowledged). The
  // transport must then never complete them into freed memory, nor free what still holds
  // them when it is destroyed.
  virtual void AbandonOutstanding() {}
};

// Tag layout: | seq:16 | channel:6 | source rank:20 | message index:22 |. One transport
// instance (one UCP worker) serves one communicator, so no communicator id is needed.
// Sequence numbers wrap: a rank cannot run 65536 collectives ahead of a peer, because each
// one needs that peer's data.
constexpr int kTagChannelBits = 6;
constexpr int kTagRankBits = 20;
constexpr int kTagMessageBits = 22;
constexpr uint32_t kMaxChannels = 1u << kTagChannelBits;
// Collectives use channels below the last; the last channel's tags are point-to-point's.
constexpr uint32_t kMaxCollectiveChannels = kMaxChannels - 1;
constexpr uint32_t kMaxTagRanks = 1u << kTagRankBits;
constexpr uint32_t kMaxMessagesPerLink = 1u << kTagMessageBits;

inline uint64_t MakeTag(uint64_t seq, uint32_t channel, uint32_t src_rank, uint32_t msg) {
  return ((seq & 0xffffu) << 48) | (static_cast<uint64_t>(channel & 0x3fu) << 42) |
         (static_cast<uint64_t>(src_rank & 0xfffffu) << 22) | (msg & 0x3fffffu);
}

}  // namespace weft
