#include "collectives/device/standin_ring.h"

#include "collectives/device/proto/net_ring.h"
#include "collectives/reduce/host_formats.h"
#include "collectives/reduce/reduce_ops.h"

namespace weft {

StandInRingRunner::StandInRingRunner(NetProxy* proxy, const CollArgs& a, int64_t timeout_ms)
    : proxy_(proxy),
      call_(proxy),
      args_(proxy->KernelArgs(a, timeout_ms)),
      type_(a.type),
      op_(a.op) {}

StandInRingRunner::~StandInRingRunner() {
  if (launched_ && !blocks_.empty()) {
    proxy_->Abort();  // a runner dropped mid-call (a failed batch): its blocks return now
    Join();
  }
}

void StandInRingRunner::Launch() {
  launched_ = true;
  for (int c = 0; c < args_.channels; ++c) {
    blocks_.emplace_back([this, c] {
      uint32_t shared = 0;
      const proto::WaitResult r = VisitHostFormat(type_, proto::WaitResult::kAborted, [&](auto f) {
        return VisitOp(op_, [&](auto o) {
          return proto::NetRing<typename decltype(f)::type, typename decltype(o)::type>(args_, c, 0,
                                                                                        1, &shared);
        });
      });
      if (r != proto::WaitResult::kReady)
        proto::StoreRelease(proxy_->kernel_status(), static_cast<uint32_t>(r));
      __atomic_fetch_add(proxy_->kernel_finished(), 1u, __ATOMIC_RELEASE);
    });
  }
}

void StandInRingRunner::Join() {
  for (std::thread& t : blocks_)
    t.join();
  blocks_.clear();
}

Status StandInRingRunner::Advance(bool* done) {
  *done = done_;
  if (done_) return Status::Ok();
  if (!launched_) Launch();
  Status s = call_.Advance(done);  // a failure raises the abort flag: the blocks return
  if (!s.ok() || *done) Join();
  done_ = s.ok() && *done;
  return s;
}

void StandInRingRunner::CancelOutstanding() {
  call_.CancelOutstanding();
  Join();
}

bool StandInRingRunner::Quiescent(bool) const {
  // The call's buffers are touched by its blocks only; what the proxy still has posted
  // (receives ahead for the next call, a send cut off) touches its own slots, which live
  // as long as it does.
  return blocks_.empty();
}

}  // namespace weft
