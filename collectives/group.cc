// weftGroupStart/weftGroupEnd: a thread-local queue of collectives issued together at the
// outermost GroupEnd, so that their messages are in flight at the same time.
#include <vector>

#include "collectives/api_internal.h"

namespace weft {
namespace {
struct Pending {
  weftComm_t comm;
  bool p2p;
  CollArgs args;
  P2PArgs p2p_args;
};
thread_local int group_depth = 0;
thread_local std::vector<Pending> group_ops;
}  // namespace

bool GroupActive() {
  return group_depth > 0;
}

void GroupEnqueue(weftComm_t comm, const CollArgs& args) {
  group_ops.push_back({comm, false, args, {}});
}

void GroupEnqueueP2P(weftComm_t comm, const P2PArgs& args) {
  group_ops.push_back({comm, true, {}, args});
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
  // The group's queue and these lists keep their memory from group to group: a group is
  // often one send and one receive, issued millions of times, and allocating per group
  // showed in its latency. Nothing below issues calls on this thread, so they are free.
  thread_local std::vector<weft::CollArgs> batch;
  thread_local std::vector<weft::P2PArgs> p2p;
  thread_local std::vector<bool> taken;
  const std::vector<weft::Pending>& ops = group_ops;
  // Per communicator, in the order communicators first appear in the group: its collectives
  // together, then its sends and receives together.
  weft::Status result;
  weftComm_t failed = nullptr;
  taken.assign(ops.size(), false);
  for (size_t i = 0; i < ops.size(); ++i) {
    if (taken[i]) continue;
    batch.clear();
    p2p.clear();
    for (size_t j = i; j < ops.size(); ++j) {
      if (ops[j].comm != ops[i].comm) continue;
      if (ops[j].p2p)
        p2p.push_back(ops[j].p2p_args);
      else
        batch.push_back(ops[j].args);
      taken[j] = true;
    }
    weft::Status s = batch.empty() ? weft::Status::Ok() : ops[i].comm->impl->Submit(batch);
    if (s.ok()) s = ops[i].comm->impl->SubmitP2P(p2p);
    if (!s.ok() && result.ok()) result = s, failed = ops[i].comm;
  }
  group_ops.clear();
  return failed != nullptr ? weft::ReportOn(failed, result) : weft::Report(result);
}
