// Transport: the whole interface collectives see. Point-to-point, tagged, non-blocking;
// completion is reported through a Completion the caller owns until it is done.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

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

// Memory a rank registered once with its transport, which peers on the same host map into
// their own address space (Transport::MapPeerMemory). Owned by the transport: valid, and
// mapped, for the transport's life.
struct RegisteredMemory {
  void* local = nullptr;
  size_t bytes = 0;
  MemoryType type = MemoryType::kHost;
  std::vector<uint8_t> descriptor;  // what a peer passes to MapPeerMemory
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual int rank() const = 0;
  virtual int nranks() const = 0;

  // Setting up. This rank's address, for the bootstrap to publish (empty where the
  // transport needs none); then everyone's, by rank, and which ranks share this host.
  virtual const std::vector<uint8_t>& address() const = 0;
  virtual Status Connect(std::vector<std::vector<uint8_t>> addresses,
                         std::vector<bool> same_host) = 0;
  // Closes every connection, flushing for at most timeout_ms (then forcing).
  virtual void CloseEndpoints(int64_t timeout_ms) = 0;

  // Shared memory: `bytes` this rank allocates and registers (zero-filled), and a peer's
  // registration mapped here from its descriptor. Mapping fails, with no error state,
  // where the transport cannot share memory with that peer (e.g. UCX_TLS=tcp).
  virtual Status RegisterShared(size_t bytes, const RegisteredMemory** out) = 0;
  virtual Status MapPeerMemory(int peer, const std::vector<uint8_t>& descriptor, void** local) = 0;

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
// Collectives' connections number their messages over their life (MakeLinkTag);
// point-to-point numbers them per pair of ranks on the last channel.
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

// The tag of the n-th message ever sent from `src_rank` on one connection of `channel`
// (transport/net_port.h): n's low 22 bits in the message field, the next 16 in the
// sequence field, so that 2^38 messages go by before a tag repeats.
inline uint64_t MakeLinkTag(uint32_t channel, uint32_t src_rank, uint64_t n) {
  return MakeTag(n >> kTagMessageBits, channel, src_rank,
                 static_cast<uint32_t>(n & (kMaxMessagesPerLink - 1)));
}

}  // namespace weft
