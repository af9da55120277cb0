// Links between ranks of one host through shared memory: the receiver owns a FIFO (control
// words and slots) in memory it registered with the transport, the sender maps it and writes
// its messages straight into the slots: a step reduces or copies into the receiver's slot in
// one pass, NCCL's SHM-transport style. Which pairs have such a FIFO, and where each lives
// in its owner's region, is collectives/direct_links.h's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "transport/link.h"
#include "transport/shm/shared_buffer.h"

namespace weft {

// The control words of one FIFO, each side's on its own cache line. Counters are cumulative
// over the communicator's life. A side that waits long sleeps on the other side's counter
// (a futex on its low 32 bits, shared between processes) after raising its `waiting` flag;
// the other side wakes it when it moves the counter and sees the flag.
struct FifoHeader {
  alignas(64) uint64_t head;  // messages the sender has published (written by the sender)
  uint32_t head_waiting;      // the receiver sleeps on `head` (written by the receiver)
  alignas(64) uint64_t tail;  // messages the receiver has consumed (written by the receiver)
  uint32_t tail_waiting;      // the sender sleeps on `tail` (written by the sender)
};

struct FifoView {
  FifoHeader* header = nullptr;
  std::byte* slots = nullptr;
  size_t slot_bytes = 0;
  int nslots = 0;

  std::byte* SlotOf(uint64_t n) const {
    return slots + (n % static_cast<uint64_t>(nslots)) * slot_bytes;
  }
};

// Bytes one FIFO needs in a shared region.
size_t FifoBytes(size_t slot_bytes, int nslots);
// Lays a FIFO out at `base` (64-byte aligned).
FifoView FifoAt(void* base, size_t slot_bytes, int nslots);

class ShmSendPort : public SendPort {
 public:
  ShmSendPort(int peer, FifoView fifo) : peer_(peer), fifo_(fifo) {}
  const char* kind() const override { return "shm"; }
  int peer() const override { return peer_; }
  size_t slot_bytes() const override { return fifo_.slot_bytes; }
  Status Slot(uint64_t n, std::byte** slot) override;
  Status Post(uint64_t n, size_t bytes) override;
  void WaitForSlot(uint64_t n, int timeout_us) override;

 private:
  int peer_;
  FifoView fifo_;
};

class ShmRecvPort : public RecvPort {
 public:
  // `peer_pid`: the sender's process, for one-copy reads (0: none); `mappings`: the peers'
  // shared buffers mapped here, shared by the ports of one communicator (may be null).
  ShmRecvPort(int peer, FifoView fifo, int peer_pid,
              std::shared_ptr<PeerMappings> mappings = nullptr)
      : peer_(peer), fifo_(fifo), peer_pid_(peer_pid), mappings_(std::move(mappings)) {}
  const char* kind() const override { return "shm"; }
  int peer() const override { return peer_; }
  size_t slot_bytes() const override { return fifo_.slot_bytes; }
  Status Data(uint64_t n, const std::byte** data, size_t* bytes) override;
  Status Release(uint64_t n) override;
  void WaitForData(uint64_t n, int timeout_us) override;
  Status ReadPeerMemory(const PostedAddress& from, void* to, size_t bytes) override;
  Status WritePeerMemory(const PostedAddress& to, const void* from, size_t bytes) override;
  Status MapPeerBuffer(const PostedAddress& posted, std::byte** at) override;

  // For tests: messages published but not yet consumed.
  uint64_t Unread() const;

 private:
  int peer_;
  FifoView fifo_;
  int peer_pid_;
  std::shared_ptr<PeerMappings> mappings_;
};

// Copies `bytes` from `address` in process `pid` (process_vm_readv: same user, and ptrace
// allowed between the two, as between ranks launched together without Yama's restrictions).
Status ReadFromProcess(int pid, uint64_t address, void* to, size_t bytes);
// The other way (process_vm_writev).
Status WriteToProcess(int pid, uint64_t address, const void* from, size_t bytes);

}  // namespace weft
