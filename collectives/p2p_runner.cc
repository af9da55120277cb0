#include "collectives/p2p_runner.h"

#include <cstdint>
#include <cstring>

#include "common/status.h"

namespace weft {

uint64_t P2PTag(uint64_t seq, int src) {
  return MakeTag(seq & 0xffffu, kP2PChannel, static_cast<uint32_t>(src),
                 static_cast<uint32_t>((seq >> 16) & (kMaxMessagesPerLink - 1)));
}

void P2PRunner::Reset(Transport* transport, MemoryType mem, std::vector<P2POp>* ops) {
  transport_ = transport;
  mem_ = mem;
  ops_.swap(*ops);
  completions_.assign(ops_.size(), Completion{});
  posted_.assign(ops_.size(), false);
  started_ = false;
  completed_ = 0;
  PairSelfMessages();
}

// Sequences of self sends and self receives are counted apart, so the send with sequence s
// meets the receive with sequence s; where both are in this batch, they pair here.
void P2PRunner::PairSelfMessages() {
  const int self = transport_->rank();
  local_receive_.assign(ops_.size(), kNotLocal);
  local_.assign(ops_.size(), false);
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (!ops_[i].send || ops_[i].peer != self) continue;
    for (size_t j = 0; j < ops_.size(); ++j) {
      const P2POp& r = ops_[j];
      if (r.send || r.peer != self || r.seq != ops_[i].seq || local_[j]) continue;
      local_receive_[i] = j;
      local_[i] = local_[j] = true;
      break;
    }
  }
}

Status P2PRunner::CopySelfMessages() {
  for (size_t i = 0; i < ops_.size(); ++i) {
    const size_t j = local_receive_[i];
    if (j == kNotLocal) continue;
    const P2POp& send = ops_[i];
    const P2POp& recv = ops_[j];
    // The same rule as the transport's: a receive takes a message of exactly its size.
    if (send.bytes != recv.bytes)
      return InvalidUsage(
          Format("rank %d sent itself %zu bytes where its receive expects %zu: "
                 "the send and the receive differ in count or type",
                 send.peer, send.bytes, recv.bytes));
    if (send.bytes > 0 && send.buf != recv.buf) std::memmove(recv.buf, send.buf, send.bytes);
    for (size_t k : {i, j}) {
      completions_[k].done = true;
      completions_[k].bytes = send.bytes;
    }
  }
  return Status::Ok();
}

Status P2PRunner::Advance(bool* done) {
  if (!started_) {
    started_ = true;
    for (bool receives : {true, false}) {
      for (size_t i = 0; i < ops_.size(); ++i) {
        const P2POp& op = ops_[i];
        if (op.send == receives || local_[i]) continue;
        Status s = op.send ? transport_->Send(op.peer, op.buf, op.bytes, mem_,
                                              P2PTag(op.seq, transport_->rank()), &completions_[i])
                           : transport_->Recv(op.peer, op.buf, op.bytes, mem_,
                                              P2PTag(op.seq, op.peer), &completions_[i]);
        if (!s.ok())
          return s.WithContext(Format("%s rank %d", op.send ? "send to" : "receive from", op.peer));
        posted_[i] = true;
      }
    }
    // After the posts, so that peers' messages are on their way during the copy.
    WEFT_CHECK(CopySelfMessages());
  }
  completed_ = 0;
  for (size_t i = 0; i < ops_.size(); ++i) {
    const Completion& c = completions_[i];
    if (!c.done) continue;
    ++completed_;
    const P2POp& op = ops_[i];
    if (!c.status.ok())
      return c.status.WithContext(
          Format("%s rank %d", op.send ? "send to" : "receive from", op.peer));
    if (!op.send && c.bytes != op.bytes)
      return InvalidUsage(
          Format("received %zu bytes from rank %d where %zu were expected: the "
                 "send and the receive differ in count or type",
                 c.bytes, op.peer, op.bytes));
  }
  *done = completed_ == ops_.size();
  return Status::Ok();
}

void P2PRunner::CancelOutstanding() {
  for (size_t i = 0; i < ops_.size(); ++i)
    if (posted_[i] && !completions_[i].done) transport_->Cancel(&completions_[i]);
}

bool P2PRunner::Quiescent(bool receives_only) const {
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (!posted_[i] || completions_[i].done) continue;
    if (!receives_only || !ops_[i].send) return false;
  }
  return true;
}

bool P2PRunner::NeedsPolling() const {
  for (size_t i = 0; i < ops_.size(); ++i)
    if (ops_[i].send && posted_[i] && !completions_[i].done) return true;
  return false;
}

std::string P2PRunner::Waiting() const {
  std::string w;
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (completions_[i].done) continue;
    if (!w.empty()) w += ", ";
    w += Format("%s rank %d (%zu bytes)", ops_[i].send ? "a send to" : "a receive from",
                ops_[i].peer, ops_[i].bytes);
  }
  return w.empty() ? "nothing" : w;
}

}  // namespace weft
