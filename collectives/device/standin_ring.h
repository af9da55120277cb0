// The device path's ring across hosts with CPU threads standing in for the kernel: one
// thread per channel runs proto::NetRing on host buffers, filling and draining the FIFOs of
// the communicator's NetProxy, which moves them over the transport. What the GPU runs, with
// the kernel's code, over the real transport: how CI proves the kernel-and-proxy protocol
// between hosts without a GPU (WEFT_PROXY_STANDIN). As a PlanRunner, the communicator's drive
// loop runs it like any plan: its timeouts, peer checks and error names apply.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "collectives/coll_args.h"
#include "collectives/device/net_proxy.h"
#include "collectives/device/net_proxy_call.h"
#include "collectives/plan_runner.h"

namespace weft {

class StandInRingRunner final : public PlanRunner {
 public:
  // This rank's call `a` on `proxy`'s ring; `timeout_ms` bounds each wait of the stand-in
  // kernel (0: none).
  StandInRingRunner(NetProxy* proxy, const CollArgs& a, int64_t timeout_ms);
  ~StandInRingRunner() override;
  StandInRingRunner(const StandInRingRunner&) = delete;
  StandInRingRunner& operator=(const StandInRingRunner&) = delete;

  Status Advance(bool* done) override;
  void CancelOutstanding() override;
  bool Quiescent(bool receives_only = false) const override;
  bool NeedsPolling() const override { return true; }
  size_t StepsRun() const override { return call_.StepsRun(); }
  bool Sequential() const override { return true; }
  std::string Waiting() const override { return call_.Waiting(); }

 private:
  void Launch();
  void Join();

  NetProxy* proxy_;
  NetProxyCall call_;
  proto::NetRingArgs args_;
  weftDataType_t type_;
  weftRedOp_t op_;
  bool launched_ = false;
  bool done_ = false;  // once done, done: the proxy moves on to the next call's blocks
  std::vector<std::thread> blocks_;
};

}  // namespace weft
