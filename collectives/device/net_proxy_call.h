// One call of a NetProxy as the communicator's drive loop runs it: the proxy moves the call's
// bytes until the kernel's blocks have returned and its sends have left. The kernel is
// someone else's: a GPU kernel queued on the caller's stream (the device engine), or CPU
// threads standing in for it (standin_ring.h). Through the drive loop, the call gets the
// communicator's timeouts, peer checks and stall verdicts like any plan.
#pragma once

#include <string>

#include "collectives/device/net_proxy.h"
#include "collectives/plan_runner.h"

namespace weft {

class NetProxyCall final : public PlanRunner {
 public:
  // The call whose kernel is the next to run on `proxy`'s FIFOs.
  explicit NetProxyCall(NetProxy* proxy) : proxy_(proxy) {}

  Status Advance(bool* done) override {
    *done = false;
    if (!started_) {
      proxy_->Start();
      started_ = true;
    }
    Status s = proxy_->Advance(done);
    if (!s.ok()) proxy_->Abort();  // every wait of the kernel returns
    return s;
  }
  // The abort flag first: the kernel stops waiting for bytes that will not come.
  void CancelOutstanding() override { proxy_->CancelOutstanding(); }
  // The transport touches the proxy's slots only, which live as long as the proxy; the
  // call's buffers are the kernel's (its owner says when it has returned).
  bool Quiescent(bool = false) const override { return true; }
  bool NeedsPolling() const override { return true; }  // the kernel raises no event
  size_t StepsRun() const override { return proxy_->StepsRun(); }
  // Calls share the proxy's FIFOs: one after another.
  bool Sequential() const override { return true; }
  std::string Waiting() const override { return proxy_->Waiting(); }

 private:
  NetProxy* proxy_;
  bool started_ = false;
};

}  // namespace weft
