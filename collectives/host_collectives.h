// HostCollectives: what work on device buffers needs from the host side, and all it sees of
// the communicator that owns it: batches of collectives and of sends and receives on host
// buffers, run to completion. The device engine runs its IPC handle exchange, barriers and
// staged pieces through it; tests stand in for it without a network.
#pragma once

#include <string>
#include <vector>

#include "collectives/coll_args.h"
#include "collectives/device/net_proxy.h"
#include "collectives/plan_runner.h"
#include "common/status.h"

namespace weft {

class HostCollectives {
 public:
  virtual ~HostCollectives() = default;
  // Runs the collectives together; returns when all are complete, failed or timed out.
  virtual Status Run(const std::vector<CollArgs>& ops) = 0;
  // Posts the sends and receives together; returns when all are complete.
  virtual Status RunP2P(const std::vector<P2PArgs>& ops) = 0;
  // The host side has failed (a peer gone, an abort, a revoke): kernels that wait for
  // peers should stop waiting. Cheap; polled by the device engine's thread.
  virtual bool InError() const { return false; }

  // The device path across hosts (collectives/device/net_proxy.h): the communicator's
  // proxy on its ring, made at first use with FIFOs from `allocate` (memory the kernel
  // reaches); it lives as long as the host side.
  virtual Status RingProxy(const RegionAllocator& allocate, NetProxy** proxy) {
    (void)allocate, (void)proxy;
    return InternalError("this host side has no network proxy");
  }
  // Runs `runner`, one collective of every rank, to completion, failure or timeout as the
  // host collectives run (timeouts, peer checks, the verdict naming the rank that stopped);
  // `what` names it in errors.
  virtual Status RunCollective(PlanRunner* runner, const std::string& what) {
    (void)runner, (void)what;
    return InternalError("this host side runs no plan runners");
  }
};

}  // namespace weft
