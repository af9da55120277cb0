// weftGroupStart/weftGroupEnd: a thread-local queue of collectives issued together at the
// outermost GroupEnd, so that their messages are in flight at the same time.
#include <vector>

#include "collectives/api_internal.h"

namespace weft {
namespace {
struct Pending {
  weftComm_t comm;
  CollArgs args;
};
thread_local int group_depth = 0;
thread_local std::vector<Pending> group_ops;
}  // namespace

bool GroupActive() {
  return group_depth > 0;
}

void GroupEnqueue(weftComm_t comm, const CollArgs& args) {
  group_ops.push_back({comm, args});
}

}  // namespace weft

using weft::group_depth;
using weft::group_ops;

extern "C" weftResult_t weftGroupStart(void) {
  ++group_depth;
  return weftSuccess;
}

extern "C" weftResult_t weftGroupEnd(void) {
  if (group_depth == 0)
    return weft::ReportFailure(weft::InvalidUsage("weftGroupEnd without weftGroupStart"));
  if (--group_depth > 0) return weftSuccess;
  std::vector<weft::Pending> ops;
  ops.swap(group_ops);
  // One Run per communicator, in the order communicators first appear in the group.
  weft::Status result;
  std::vector<bool> taken(ops.size(), false);
  for (size_t i = 0; i < ops.size(); ++i) {
    if (taken[i]) continue;
    std::vector<weft::CollArgs> batch;
    for (size_t j = i; j < ops.size(); ++j) {
      if (ops[j].comm != ops[i].comm) continue;
      batch.push_back(ops[j].args);
      taken[j] = true;
    }
    weft::Status s = ops[i].comm->impl->Submit(batch);
    if (!s.ok() && result.ok()) result = s;
  }
  return weft::Report(result);
}
