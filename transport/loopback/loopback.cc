#include "transport/loopback/loopback.h"

#include <cstdint>
#include <cstring>

namespace weft {

class LoopbackTransport : public Transport {
 public:
  LoopbackTransport(LoopbackFabric* fabric, int rank) : fabric_(fabric), rank_(rank) {}

  int rank() const override { return rank_; }
  int nranks() const override { return fabric_->nranks(); }

  const std::vector<uint8_t>& address() const override {
    static const std::vector<uint8_t> kNone;
    return kNone;
  }
  Status Connect(std::vector<std::vector<uint8_t>>, std::vector<bool>) override {
    return Status::Ok();
  }
  void CloseEndpoints(int64_t) override {}

  Status RegisterShared(size_t bytes, const RegisteredMemory** out) override {
    auto& mem = fabric_->shared_memory_;
    mem.push_back(std::make_unique<std::byte[]>(bytes + 64));  // zeroed
    auto p = reinterpret_cast<uintptr_t>(mem.back().get());
    fabric_->shared_aligned_.push_back(reinterpret_cast<void*>((p + 63) & ~uintptr_t{63}));
    const uint64_t index = fabric_->shared_aligned_.size() - 1;
    auto m = std::make_unique<RegisteredMemory>();
    m->local = fabric_->shared_aligned_.back();
    m->bytes = bytes;
    m->descriptor.resize(sizeof(index));
    std::memcpy(m->descriptor.data(), &index, sizeof(index));
    registered_.push_back(std::move(m));
    *out = registered_.back().get();
    return Status::Ok();
  }
  Status MapPeerMemory(int peer, const std::vector<uint8_t>& descriptor, void** local) override {
    uint64_t index = ~uint64_t{0};
    if (descriptor.size() == sizeof(index)) std::memcpy(&index, descriptor.data(), sizeof(index));
    WEFT_REQUIRE(index < fabric_->shared_aligned_.size(), weftRemoteError,
                 "rank %d sent a bad shared-memory descriptor", peer);
    *local = fabric_->shared_aligned_[index];
    return Status::Ok();
  }

  Status Send(int peer, const void* buf, size_t bytes, MemoryType, uint64_t tag,
              Completion* c) override {
    WEFT_REQUIRE(peer >= 0 && peer < nranks(), weftInternalError, "bad peer %d", peer);
    *c = Completion();
    LoopbackFabric::Mailbox& box = fabric_->boxes_[peer];
    const auto* data = static_cast<const std::byte*>(buf);
    for (auto it = box.posted.begin(); it != box.posted.end(); ++it) {
      if (it->src != rank_ || it->tag != tag) continue;
      Deliver(*it, data, bytes);
      box.posted.erase(it);
      c->done = true;
      return Status::Ok();
    }
    LoopbackFabric::Message m;
    m.src = rank_;
    m.tag = tag;
    m.bytes = bytes;
    if (bytes <= fabric_->eager_limit_) {
      m.eager.assign(data, data + bytes);
      c->done = true;
    } else {
      m.rendezvous = data;
      m.send = c;
    }
    box.unexpected.push_back(std::move(m));
    return Status::Ok();
  }

  Status Recv(int peer, void* buf, size_t bytes, MemoryType, uint64_t tag, Completion* c) override {
    *c = Completion();
    LoopbackFabric::Mailbox& box = fabric_->boxes_[rank_];
    LoopbackFabric::PostedRecv r{peer, tag, static_cast<std::byte*>(buf), bytes, c};
    for (auto it = box.unexpected.begin(); it != box.unexpected.end(); ++it) {
      if (it->src != peer || it->tag != tag) continue;
      const std::byte* data = it->rendezvous ? it->rendezvous : it->eager.data();
      Deliver(r, data, it->bytes);
      if (it->send != nullptr) it->send->done = true;
      box.unexpected.erase(it);
      return Status::Ok();
    }
    box.posted.push_back(r);
    return Status::Ok();
  }

  void Cancel(Completion* c) override {
    for (auto& box : fabric_->boxes_) {
      for (auto it = box.posted.begin(); it != box.posted.end(); ++it) {
        if (it->c != c) continue;
        c->done = true;
        c->status = Status(weftRemoteError, "canceled");
        box.posted.erase(it);
        return;
      }
      for (auto it = box.unexpected.begin(); it != box.unexpected.end(); ++it) {
        if (it->send != c) continue;
        c->done = true;
        c->status = Status(weftRemoteError, "canceled");
        box.unexpected.erase(it);
        return;
      }
    }
  }

  bool Progress() override { return false; }  // everything completes inside Send/Recv
  void WaitForEvent(int) override {}
  Status Health() const override { return Status::Ok(); }

 private:
  static void Deliver(const LoopbackFabric::PostedRecv& r, const std::byte* data, size_t bytes) {
    r.c->done = true;
    if (bytes > r.bytes) {
      r.c->status = InternalError(Format("message of %zu bytes truncated to %zu", bytes, r.bytes));
      return;
    }
    if (bytes > 0) std::memcpy(r.buf, data, bytes);
    r.c->bytes = bytes;
  }

  LoopbackFabric* fabric_;
  int rank_;
  std::vector<std::unique_ptr<RegisteredMemory>> registered_;
};

LoopbackFabric::LoopbackFabric(int nranks, size_t eager_limit)
    : eager_limit_(eager_limit), boxes_(nranks) {
  for (int r = 0; r < nranks; ++r)
    transports_.push_back(std::make_unique<LoopbackTransport>(this, r));
}

size_t LoopbackFabric::UnexpectedMessages() const {
  size_t n = 0;
  for (const Mailbox& b : boxes_)
    n += b.unexpected.size();
  return n;
}

size_t LoopbackFabric::PostedReceives() const {
  size_t n = 0;
  for (const Mailbox& b : boxes_)
    n += b.posted.size();
  return n;
}

}  // namespace weft
