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
// A failed call on a communicator: as ReportFailure, but the communicator decides whether
// it is worth a warning (Communicator::ShouldWarn) or only an INFO line.
weftResult_t ReportOn(weftComm_t comm, const Status& s);

inline weftResult_t Report(const Status& s) {
  return s.ok() ? weftSuccess : ReportFailure(s);
}

// Creates a communicator around an already-known id (shared by weftCommInitRank and
// weftCommInitFromEnv).
Status InitCommunicator(weftComm_t* comm, int nranks, const UniqueIdData& id, int rank,
                        std::unique_ptr<RootServer> root, const Config& config);
// weftCommInitRank's work with the settings already loaded (shrink and split pass the
// parent's).
Status InitRank(weftComm_t* comm, int nranks, const weftUniqueId& commId, int rank,
                const Config& config);
// The environment's settings with `user`'s over them (user may be null).
Status LoadCommConfig(const weftConfig_t* user, Config* out);
// The job's secret: WEFT_SECRET, else WEFT_SECRET_FILE's, else derived from `key`, what
// every rank of the job knows (the rendezvous address; such a secret keeps other jobs out,
// not attackers, and a warning says so once per process).
Status JobSecret(const Config& config, const std::string& key, std::array<uint8_t, 16>* out);
// Rank 0's bootstrap root on id.root (WEFT_ROOT, WEFT_COMM_ID, whose host part is `host`),
// on the socket WEFT_ROOT_FD hands down where there is one.
Status ServeRoot(const Config& config, const UniqueIdData& id, const std::string& host,
                 std::unique_ptr<RootServer>* root);
// A unique id with a bootstrap root of its own in this process: weftGetUniqueId without
// WEFT_COMM_ID. Communicators made from others (shrink, the shim's split) take one always,
// since the fixed address belongs to the first.
Status FreshUniqueId(weftUniqueId* id);
// The same with the configuration already loaded (weftGetUniqueId has it).
Status FreshUniqueId(const Config& config, weftUniqueId* id);
// Hands the root that weftGetUniqueId started in this process (if any) to the communicator.
std::unique_ptr<RootServer> ClaimRoot(const std::array<uint8_t, 16>& secret);

// Groups: inside weftGroupStart/End, collectives are queued and issued together at the end.
bool GroupActive();
void GroupEnqueue(weftComm_t comm, const CollArgs& args);
void GroupEnqueueP2P(weftComm_t comm, const P2PArgs& args);

}  // namespace weft
