// Splitting a communicator (weftCommSplit): the ranks that pass the same color form a new
// communicator, ranked by key, then by their rank in the parent. Built on an all-gather of
// the parent's, passed in, so that the C API runs it as API calls (after the parent's
// queued device work) and the communicator from inside a call of its own (its device
// hierarchy, collectives/device_hierarchy.h).
#pragma once

#include <cstddef>
#include <functional>

#include "collectives/api_internal.h"
#include "common/config.h"
#include "common/status.h"

namespace weft {

// Gathers `bytes` from every rank of the parent into `all`, in rank order.
using AllGatherBytes = std::function<Status(const void* mine, void* all, size_t bytes)>;

// Collective over the parent (`nranks` ranks, this one `rank`): an all-gather of every
// rank's (color, key); then the first rank of each color makes a unique id (a bootstrap
// root of its own) and a second all-gather hands it to the others. *out: the new
// communicator with `config`, or null for WEFT_SPLIT_NOCOLOR. A negative color other than
// WEFT_SPLIT_NOCOLOR on any rank fails the call on every rank, naming that rank.
Status SplitComm(const AllGatherBytes& all_gather, int nranks, int rank, int color, int key,
                 const Config& config, weftComm_t* out);

}  // namespace weft
