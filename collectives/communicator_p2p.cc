// Sends and receives on host buffers: a batch posted together through the P2P runner.
#include "collectives/communicator.h"

#include <string>

#include "common/dtype.h"
#include "common/log.h"

namespace weft {

Status Communicator::RunP2P(const std::vector<P2PArgs>& ops) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.ok()) return CommunicatorInError(error_);
  p2p_sent_.resize(static_cast<size_t>(nranks_), 0);
  p2p_received_.resize(static_cast<size_t>(nranks_), 0);
  p2p_ops_.clear();
  for (const P2PArgs& a : ops) {
    P2POp op;
    op.send = a.send;
    op.buf = a.buf;
    op.bytes = a.count * TypeSize(a.type);
    op.peer = a.peer;
    op.seq = (a.send ? p2p_sent_ : p2p_received_)[static_cast<size_t>(a.peer)]++;
    p2p_ops_.push_back(op);
  }
  if (!p2p_runner_) p2p_runner_ = std::make_unique<P2PRunner>();
  p2p_runner_->Reset(transport_.get(), MemoryType::kHost, &p2p_ops_);
  runners_.assign(1, p2p_runner_.get());
  Status s = Drive(
      1,
      [&](size_t) {
        return Format("a group of %zu sends and receives (%s rank %d first)", ops.size(),
                      ops[0].send ? "a send to" : "a receive from", ops[0].peer);
      },
      /*collective=*/false);
  if (!s.ok()) SetError(s);
  return s;
}

}  // namespace weft
