// Links: the two ends of a one-way connection between two ranks on one channel, as a FIFO of
// message slots (NCCL's connection model). The sender writes a message straight into a slot
// and posts it; the receiver finds it in a slot and releases the slot. Messages are numbered
// over the connection's life (the n-th message ever sent on it), so one collective follows
// another on the same connection without a handshake; both ends count alike because every
// rank runs its plans in the same order.
//
// What carries the slots is the link's business: a FIFO in the receiver's shared memory that
// the sender maps (transport/shm/shm_link.h), or local slots moved by tagged messages over
// the transport (transport/net_link.h); later, FIFOs a GPU kernel fills for a proxy. The
// plan runner (collectives/plan_executor.h) sees only these two classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace weft {

// What a one-copy kPostAddress message holds: where the sender's buffer is, and, where the
// buffer is in shared memory the peer may map (weftMemAlloc, registered with the
// communicator), which memory file holds it (transport/shm/shared_buffer.h).
struct PostedAddress {
  uint64_t address = 0;  // in the sender's address space
  int32_t pid = 0;       // the sender's process
  int32_t fd = -1;       // the memory file, in the sender's process (shared buffers only)
  uint64_t nonce = 0;    // the file's allocation; 0: not shared, read with process_vm_readv
  uint64_t file_bytes = 0;
  uint64_t offset = 0;  // of `address` in the file
};

// Data(...) reports this size where the link does not carry message sizes.
constexpr size_t kUnknownMessageBytes = ~size_t{0};

class SendPort {
 public:
  virtual ~SendPort() = default;
  virtual const char* kind() const = 0;  // "shm", "net": for logs and timeouts
  virtual int peer() const = 0;
  virtual size_t slot_bytes() const = 0;
  // *slot: where message n goes, or null while no slot is free (the receiver holds message
  // n - slots, or its send has not left). An error once the link failed.
  virtual Status Slot(uint64_t n, std::byte** slot) = 0;
  // Publishes message n: its first `bytes` bytes of Slot(n).
  virtual Status Post(uint64_t n, size_t bytes) = 0;
  // Links that can send straight from the caller's memory (over the network: no copy into
  // a slot) offer PostFrom: message n is `bytes` at `data`, which must stay unchanged until
  // the message has left (InFlight). It takes message n's slot until then.
  virtual bool SendsInPlace() const { return false; }
  virtual Status PostFrom(uint64_t n, const void* data, size_t bytes) {
    (void)n, (void)data, (void)bytes;
    return InternalError(Format("a %s link cannot send from the caller's memory", kind()));
  }
  // Blocks for at most timeout_us, or until a slot for message n may be free. Only where
  // the other side moves the FIFO by itself (shared memory); the default returns.
  virtual void WaitForSlot(uint64_t, int) {}
  // True while an earlier message is still on its way (the caller must drive the transport).
  virtual bool InFlight() const { return false; }
  // Ends whatever is outstanding, after a failure (its completions report errors).
  virtual void Cancel() {}
  // Nothing outstanding that could still write into, or read from, this link's memory.
  virtual bool Quiescent() const { return true; }

  // Messages the plans run so far sent on it: where the next plan starts counting.
  uint64_t used() const { return used_; }
  void set_used(uint64_t n) { used_ = n; }

 private:
  uint64_t used_ = 0;
};

class RecvPort {
 public:
  virtual ~RecvPort() = default;
  virtual const char* kind() const = 0;
  virtual int peer() const = 0;
  virtual size_t slot_bytes() const = 0;
  // *data: message n, *bytes its size (kUnknownMessageBytes where the link does not carry
  // it), or *data null until it has arrived. An error once the link failed.
  virtual Status Data(uint64_t n, const std::byte** data, size_t* bytes) = 0;
  // Message n has been used: its slot may take message n + slots.
  virtual Status Release(uint64_t n) = 0;
  virtual void WaitForData(uint64_t, int) {}
  // One-copy reads: copies `bytes` from the sender's memory at `from` straight into `to`.
  // Only links to a peer on this host that may read its memory have it.
  virtual Status ReadPeerMemory(const PostedAddress& from, void* to, size_t bytes) {
    (void)from, (void)to, (void)bytes;
    return InternalError(
        Format("a %s link to rank %d cannot read the peer's memory", kind(), peer()));
  }
  // Writes `bytes` from `from` into the sender's memory at `to` (process_vm_writev).
  virtual Status WritePeerMemory(const PostedAddress& to, const void* from, size_t bytes) {
    (void)to, (void)from, (void)bytes;
    return InternalError(
        Format("a %s link to rank %d cannot write the peer's memory", kind(), peer()));
  }
  // Zero copy: *at is the sender's posted buffer mapped into this process, or null where the
  // buffer is not shared memory (then Read/WritePeerMemory copy through the kernel).
  virtual Status MapPeerBuffer(const PostedAddress& posted, std::byte** at) {
    (void)posted;
    *at = nullptr;
    return Status::Ok();
  }
  virtual bool InFlight() const { return false; }
  virtual void Cancel() {}
  virtual bool Quiescent() const { return true; }

  uint64_t used() const { return used_; }
  void set_used(uint64_t n) { used_ = n; }

 private:
  uint64_t used_ = 0;
};

}  // namespace weft
