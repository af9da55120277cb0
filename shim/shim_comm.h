// What ncclComm_t points to in Weft's libnccl.so.2, and the communicator lifecycles NCCL has
// that Weft's API does not spell out: several ranks of one process initialized together
// (ncclCommInitAll, or ncclCommInitRank calls inside a group, as nccl-tests -g does), and
// then destroyed one after another from one thread.
//
// Weft's init and destroy each wait for every rank, so one thread cannot run them for
// several ranks in turn: it would wait for itself. Communicators created together form a
// LocalSet: they initialize on one thread each, and a member's destroy runs on a thread of
// its own, the set's last destroy waiting for all of them.
#pragma once

#include <nccl.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "weft/weft.h"

namespace weft_shim {
struct LocalSet;
}

struct ncclComm {
  static constexpr uint32_t kMagic = 0x4e43434c;  // "NCCL"
  uint32_t magic = kMagic;
  weftComm_t weft = nullptr;  // null until its initialization completed (a deferred one)
  // weftInProgress until initialized (inside a group, until the group's end), then its
  // result: what ncclCommGetAsyncError reports while there is no Weft communicator.
  weftResult_t init_result = weftInProgress;
  int device = -1;                           // the CUDA device it was created for; -1 without CUDA
  std::shared_ptr<weft_shim::LocalSet> set;  // the communicators created with it, if several
};

namespace weft_shim {

struct InitRequest {
  ncclComm_t comm = nullptr;  // allocated by the caller, filled in here
  int nranks = 0;
  weftUniqueId id{};
  int rank = 0;
};

// Initializes every request's communicator, each on its own thread when there are several;
// on any failure none is left initialized. Returns the first failure, reported as this
// thread's last error.
weftResult_t InitTogether(const std::vector<InitRequest>& requests);

// Destroys (or aborts) `comm`'s Weft communicator and frees `comm`. For a member of a set
// of several this runs on a thread of its own, and the set's last call waits for all.
weftResult_t Destroy(ncclComm_t comm);
weftResult_t Abort(ncclComm_t comm);

// Inside ncclGroupStart/End (per thread), ncclCommInitRank only records its request; the
// outermost end initializes them together.
void GroupStart();
bool InGroup();
void DeferInit(const InitRequest& request);
// Ends one level; at the outermost, runs the deferred initializations. Returns their
// result (weftSuccess when there were none).
weftResult_t GroupEnd();

}  // namespace weft_shim
