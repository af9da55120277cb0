#include "transport/net_link.h"

namespace weft {

// Slots start on cache lines, as the FIFOs in shared memory do.
size_t NetLinkSlotStride(size_t slot_bytes) {
  return (slot_bytes + 63) & ~size_t{63};
}

namespace {

size_t AlignedSlotBytes(size_t bytes) {
  return NetLinkSlotStride(bytes);
}

// The link's own slots, where the caller gave none.
std::unique_ptr<std::byte[]> SlotMemory(const NetLinkShape& shape, std::byte* given) {
  if (given != nullptr) return nullptr;
  return std::make_unique<std::byte[]>(AlignedSlotBytes(shape.slot_bytes) *
                                       static_cast<size_t>(shape.nslots));
}

}  // namespace

NetSendPort::NetSendPort(Transport* transport, int peer, int channel, NetLinkShape shape,
                         std::byte* memory)
    : transport_(transport),
      peer_(peer),
      channel_(channel),
      shape_(shape),
      owned_(SlotMemory(shape, memory)),
      memory_(memory != nullptr ? memory : owned_.get()),
      sends_(static_cast<size_t>(shape.nslots)),
      posted_(static_cast<size_t>(shape.nslots), false) {}

NetSendPort::~NetSendPort() = default;

Status NetSendPort::Slot(uint64_t n, std::byte** slot) {
  const size_t k = n % static_cast<uint64_t>(shape_.nslots);
  *slot = nullptr;
  if (posted_[k]) {
    if (!sends_[k].done) return Status::Ok();
    WEFT_CHECK(sends_[k].status);
    posted_[k] = false;
  }
  *slot = memory_ + k * AlignedSlotBytes(shape_.slot_bytes);
  return Status::Ok();
}

Status NetSendPort::Post(uint64_t n, size_t bytes) {
  const size_t k = n % static_cast<uint64_t>(shape_.nslots);
  return PostFrom(n, memory_ + k * AlignedSlotBytes(shape_.slot_bytes), bytes);
}

Status NetSendPort::PostFrom(uint64_t n, const void* slot, size_t bytes) {
  WEFT_REQUIRE(bytes <= shape_.slot_bytes, weftInternalError,
               "message of %zu bytes to rank %d exceeds the link's %zu-byte slots", bytes, peer_,
               shape_.slot_bytes);
  const size_t k = n % static_cast<uint64_t>(shape_.nslots);
  const uint64_t tag =
      MakeLinkTag(static_cast<uint32_t>(channel_), static_cast<uint32_t>(transport_->rank()), n);
  WEFT_CHECK(transport_->Send(peer_, slot, bytes, MemoryType::kHost, tag, &sends_[k]));
  posted_[k] = true;
  return Status::Ok();
}

bool NetSendPort::InFlight() const {
  for (size_t k = 0; k < sends_.size(); ++k)
    if (posted_[k] && !sends_[k].done) return true;
  return false;
}

void NetSendPort::Cancel() {
  for (size_t k = 0; k < sends_.size(); ++k)
    if (posted_[k] && !sends_[k].done) transport_->Cancel(&sends_[k]);
}

NetRecvPort::NetRecvPort(Transport* transport, int peer, int channel, NetLinkShape shape,
                         std::byte* memory)
    : transport_(transport),
      peer_(peer),
      channel_(channel),
      shape_(shape),
      owned_(SlotMemory(shape, memory)),
      memory_(memory != nullptr ? memory : owned_.get()),
      receives_(static_cast<size_t>(shape.nslots)),
      posted_(static_cast<size_t>(shape.nslots), false) {}

NetRecvPort::~NetRecvPort() = default;

Status NetRecvPort::Create(Transport* transport, int peer, int channel, NetLinkShape shape,
                           std::unique_ptr<NetRecvPort>* out, std::byte* memory) {
  std::unique_ptr<NetRecvPort> p(new NetRecvPort(transport, peer, channel, shape, memory));
  for (int k = 0; k < shape.nslots; ++k)
    WEFT_CHECK(p->PostReceive(static_cast<uint64_t>(k)));
  *out = std::move(p);
  return Status::Ok();
}

std::byte* NetRecvPort::SlotOf(uint64_t n) const {
  return memory_ + (n % static_cast<uint64_t>(shape_.nslots)) * AlignedSlotBytes(shape_.slot_bytes);
}

Status NetRecvPort::PostReceive(uint64_t n) {
  const size_t k = n % static_cast<uint64_t>(shape_.nslots);
  const uint64_t tag =
      MakeLinkTag(static_cast<uint32_t>(channel_), static_cast<uint32_t>(peer_), n);
  WEFT_CHECK(
      transport_->Recv(peer_, SlotOf(n), shape_.slot_bytes, MemoryType::kHost, tag, &receives_[k]));
  posted_[k] = true;
  return Status::Ok();
}

Status NetRecvPort::Data(uint64_t n, const std::byte** data, size_t* bytes) {
  const size_t k = n % static_cast<uint64_t>(shape_.nslots);
  *data = nullptr;
  *bytes = 0;
  if (!receives_[k].done) return Status::Ok();
  WEFT_CHECK(receives_[k].status);
  *data = SlotOf(n);
  *bytes = receives_[k].bytes;
  return Status::Ok();
}

Status NetRecvPort::Release(uint64_t n) {
  posted_[n % static_cast<uint64_t>(shape_.nslots)] = false;
  return PostReceive(n + static_cast<uint64_t>(shape_.nslots));
}

void NetRecvPort::Cancel() {
  for (size_t k = 0; k < receives_.size(); ++k)
    if (posted_[k] && !receives_[k].done) transport_->Cancel(&receives_[k]);
}

bool NetRecvPort::Quiescent() const {
  for (size_t k = 0; k < receives_.size(); ++k)
    if (posted_[k] && !receives_[k].done) return false;
  return true;
}

}  // namespace weft
