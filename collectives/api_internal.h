// Shared by the C API files: turning a Status into a result code and the thread's
// last-error text, and the group queue.
#pragma once

#include "collectives/coll_args.h"

#include <cstdint>
#include "collectives/communicator.h"
#include "common/status.h"

namespace weft {

// Records the failure as this thread's last error (and logs it); returns its code.
weftResult_t ReportFailure(const Status& s);
// Success clears nothing (NCCL keeps the last error until the next failure).
inline weftResult_t Report(const Status& s) {
  return s.ok() ? weftSuccess : ReportFailure(s);
}

// Creates a communicator around an already-known id (shared by weftCommInitRank and
// weftCommInitFromEnv).
Status InitCommunicator(weftComm_t* comm, int nranks, const UniqueIdData& id, int rank,
                        std::unique_ptr<RootServer> root, const Config& config);
// The environment's settings with `user`'s over them (user may be null).
Status LoadCommConfig(const weftConfig_t* user, Config* out);
// Hands the root that weftGetUniqueId started in this process (if any) to the communicator.
std::unique_ptr<RootServer> ClaimRoot(const std::array<uint8_t, 16>& secret);

// Groups: inside weftGroupStart/End, collectives are queued and issued together at the end.
bool GroupActive();
void GroupEnqueue(weftComm_t comm, const CollArgs& args);
void GroupEnqueueP2P(weftComm_t comm, const P2PArgs& args);

}  // namespace weft
