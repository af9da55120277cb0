#include "collectives/link_table.h"

#include "common/keep_for_life.h"
#include "common/log.h"
#include "transport/drain.h"

namespace weft {
namespace {

template <typename Port>
Port* Find(const std::map<std::pair<int, int>, std::unique_ptr<Port>>& ports, int channel,
           int peer) {
  auto it = ports.find({channel, peer});
  return it == ports.end() ? nullptr : it->second.get();
}

}  // namespace

LinkTable::~LinkTable() {
  if (net_send_.empty() && net_recv_.empty()) return;
  CancelAll();
  if (!DrainBeforeFree(
          transport_, [this] { return Quiescent(); }, "links")) {
    KeepForLife(std::move(net_send_));
    KeepForLife(std::move(net_recv_));
  }
}

void LinkTable::AddShm(int channel, std::unique_ptr<SendPort> port) {
  const int peer = port->peer();
  shm_send_[{channel, peer}] = std::move(port);
}

void LinkTable::AddShm(int channel, std::unique_ptr<RecvPort> port) {
  const int peer = port->peer();
  shm_recv_[{channel, peer}] = std::move(port);
}

Status LinkTable::SendPortFor(const PlanLink& link, size_t elem_size, SendPort** out) {
  const size_t bytes = LinkMessageBytes(link, elem_size);
  SendPort* shm = Find(shm_send_, link.channel, link.peer);
  if (shm != nullptr && bytes <= shm->slot_bytes()) {
    *out = shm;
    return Status::Ok();
  }
  WEFT_REQUIRE(!link.control, weftInternalError,
               "one-copy control messages to rank %d need a shared-memory link", link.peer);
  std::unique_ptr<SendPort>& net = net_send_[{link.channel, link.peer}];
  if (!net) net = std::make_unique<NetSendPort>(transport_, link.peer, link.channel, net_shape_);
  WEFT_REQUIRE(bytes <= net->slot_bytes(), weftInternalError,
               "a message of %zu bytes to rank %d exceeds the links' %zu-byte slots", bytes,
               link.peer, net->slot_bytes());
  *out = net.get();
  return Status::Ok();
}

Status LinkTable::RecvPortFor(const PlanLink& link, size_t elem_size, RecvPort** out) {
  const size_t bytes = LinkMessageBytes(link, elem_size);
  RecvPort* shm = Find(shm_recv_, link.channel, link.peer);
  if (shm != nullptr && bytes <= shm->slot_bytes()) {
    *out = shm;
    return Status::Ok();
  }
  WEFT_REQUIRE(!link.control, weftInternalError,
               "one-copy control messages from rank %d need a shared-memory link", link.peer);
  std::unique_ptr<RecvPort>& net = net_recv_[{link.channel, link.peer}];
  if (!net) {
    std::unique_ptr<NetRecvPort> port;
    WEFT_CHECK(NetRecvPort::Create(transport_, link.peer, link.channel, net_shape_, &port));
    net = std::move(port);
  }
  WEFT_REQUIRE(bytes <= net->slot_bytes(), weftInternalError,
               "a message of %zu bytes from rank %d exceeds the links' %zu-byte slots", bytes,
               link.peer, net->slot_bytes());
  *out = net.get();
  return Status::Ok();
}

void LinkTable::CancelAll() {
  for (auto& [key, port] : net_recv_)
    port->Cancel();
  for (auto& [key, port] : net_send_)
    port->Cancel();
}

bool LinkTable::Quiescent(bool receives_only) const {
  for (const auto& [key, port] : net_recv_)
    if (!port->Quiescent()) return false;
  if (receives_only) return true;
  for (const auto& [key, port] : net_send_)
    if (!port->Quiescent()) return false;
  return true;
}

bool LinkTable::InFlight() const {
  for (const auto& [key, port] : net_send_)
    if (port->InFlight()) return true;
  return false;
}

std::string LinkTable::Describe() const {
  return Format("shm %zu in, %zu out; net %zu in, %zu out", shm_recv_.size(), shm_send_.size(),
                net_recv_.size(), net_send_.size());
}

}  // namespace weft
