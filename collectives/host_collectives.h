// HostCollectives: what work on device buffers needs from the host side, and all it sees of
// the communicator that owns it: batches of collectives and of sends and receives on host
// buffers, run to completion. The device engine runs its IPC handle exchange, barriers and
// staged pieces through it; tests stand in for it without a network.
#pragma once

#include <vector>

#include "collectives/coll_args.h"
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
};

}  // namespace weft
