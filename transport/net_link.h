// Links over the transport's tagged messages (UCX between hosts, or between ranks of one host
// that cannot share memory): each end keeps its own slots in local memory. The sender posts
// a filled slot as one tagged message (MakeLinkTag: the channel, the sender, the message's
// number on the connection); the receiver keeps a receive posted into each free slot for the
// next messages, so data lands in a slot as soon as it arrives, and posts the next one when a
// slot is released. This is what NCCL's network proxy does for its FIFOs: the runner fills
// and drains slots, the link only moves them; a GPU's FIFOs will be moved the same way.
//
// Memory: per link end, slots x NetLinkSlotStride(slot_bytes) of host memory, allocated when
// the link is made, or the caller's: a kernel's FIFO in pinned memory the device maps, so the
// network reads and writes the slots the kernel fills and drains (collectives/device/
// net_proxy.h), with no copy between.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "transport/link.h"
#include "transport/transport.h"

namespace weft {

struct NetLinkShape {
  size_t slot_bytes = 256 << 10;  // the largest message
  int nslots = 8;
};

// Bytes from one slot's start to the next's: slots start on cache lines.
size_t NetLinkSlotStride(size_t slot_bytes);

class NetSendPort : public SendPort {
 public:
  // `memory`: nslots slots of NetLinkSlotStride bytes that outlive the port; null: its own.
  NetSendPort(Transport* transport, int peer, int channel, NetLinkShape shape,
              std::byte* memory = nullptr);
  ~NetSendPort() override;
  const char* kind() const override { return "net"; }
  int peer() const override { return peer_; }
  size_t slot_bytes() const override { return shape_.slot_bytes; }
  Status Slot(uint64_t n, std::byte** slot) override;
  Status Post(uint64_t n, size_t bytes) override;
  bool SendsInPlace() const override { return true; }
  Status PostFrom(uint64_t n, const void* data, size_t bytes) override;
  bool InFlight() const override;
  void Cancel() override;
  bool Quiescent() const override { return !InFlight(); }

 private:
  Transport* transport_;
  int peer_;
  int channel_;
  NetLinkShape shape_;
  std::unique_ptr<std::byte[]> owned_;
  std::byte* memory_;
  std::vector<Completion> sends_;  // per slot; never reallocated once a send is posted
  std::vector<bool> posted_;
};

class NetRecvPort : public RecvPort {
 public:
  // Posts the receives of the first `nslots` messages.
  // `memory` as NetSendPort's.
  static Status Create(Transport* transport, int peer, int channel, NetLinkShape shape,
                       std::unique_ptr<NetRecvPort>* out, std::byte* memory = nullptr);
  ~NetRecvPort() override;
  const char* kind() const override { return "net"; }
  int peer() const override { return peer_; }
  size_t slot_bytes() const override { return shape_.slot_bytes; }
  Status Data(uint64_t n, const std::byte** data, size_t* bytes) override;
  Status Release(uint64_t n) override;
  bool InFlight() const override { return false; }  // receives need no driving to land
  void Cancel() override;
  bool Quiescent() const override;

 private:
  NetRecvPort(Transport* transport, int peer, int channel, NetLinkShape shape, std::byte* memory);
  Status PostReceive(uint64_t n);
  std::byte* SlotOf(uint64_t n) const;

  Transport* transport_;
  int peer_;
  int channel_;
  NetLinkShape shape_;
  std::unique_ptr<std::byte[]> owned_;
  std::byte* memory_;
  std::vector<Completion> receives_;  // per slot
  std::vector<bool> posted_;
};

}  // namespace weft
