#include "shim/shim_comm.h"

#include <mutex>
#include <string>
#include <thread>

#include "collectives/api_internal.h"
#include "shim/nccl_env.h"

namespace weft_shim {

struct LocalSet {
  std::mutex mutex;
  int alive = 0;                      // members not yet destroyed
  std::vector<std::thread> destroys;  // one per destroyed member, joined by the last
  weftResult_t result = weftSuccess;  // the first failed destroy
  std::string error;
};

namespace {

thread_local int group_depth = 0;
thread_local std::vector<InitRequest> deferred;

weftResult_t Report(weftResult_t code, const std::string& message) {
  return weft::ReportFailure(weft::Status(code, message));
}

}  // namespace

weftResult_t InitTogether(const std::vector<InitRequest>& requests) {
  weft_shim::WarnAboutNcclEnvironmentOnce();
  const size_t n = requests.size();
  std::vector<weftComm_t> made(n, nullptr);
  std::vector<weftResult_t> results(n, weftSuccess);
  std::vector<std::string> errors(n);
  auto init = [&](size_t i) {
    const InitRequest& q = requests[i];
    results[i] = weftCommInitRank(&made[i], q.nranks, q.id, q.rank);
    if (results[i] != weftSuccess) errors[i] = weftGetLastError(nullptr);
  };
  if (n == 1) {
    init(0);
  } else {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < n; ++i)
      threads.emplace_back(init, i);
    for (std::thread& t : threads)
      t.join();
  }
  for (size_t i = 0; i < n; ++i) {
    if (results[i] == weftSuccess) continue;
    for (weftComm_t w : made)
      if (w != nullptr) weftCommAbort(w);
    for (const InitRequest& q : requests)
      q.comm->init_result = results[i];
    return Report(results[i], "rank " + std::to_string(requests[i].rank) + ": " + errors[i]);
  }
  auto set = n > 1 ? std::make_shared<LocalSet>() : nullptr;
  if (set) set->alive = static_cast<int>(n);
  for (size_t i = 0; i < n; ++i) {
    requests[i].comm->weft = made[i];
    requests[i].comm->init_result = weftSuccess;
    requests[i].comm->set = set;
  }
  return weftSuccess;
}

namespace {

// Runs `end` on the communicator (on a thread of its own for a member of a set of several)
// and frees `comm`; the set's last member waits for every member's end.
weftResult_t End(ncclComm_t comm, weftResult_t (*end)(weftComm_t)) {
  weftComm_t w = comm->weft;
  std::shared_ptr<LocalSet> set = std::move(comm->set);
  comm->magic = 0;
  delete comm;
  if (!set) return w == nullptr ? weftSuccess : end(w);
  std::vector<std::thread> all;
  {
    std::lock_guard<std::mutex> lock(set->mutex);
    set->destroys.emplace_back([set, w, end] {
      const weftResult_t r = w == nullptr ? weftSuccess : end(w);
      std::lock_guard<std::mutex> inner(set->mutex);
      if (r != weftSuccess && set->result == weftSuccess) {
        set->result = r;
        set->error = weftGetLastError(nullptr);
      }
    });
    if (--set->alive > 0) return weftSuccess;
    all.swap(set->destroys);
  }
  for (std::thread& t : all)
    t.join();
  std::lock_guard<std::mutex> lock(set->mutex);
  return set->result == weftSuccess ? weftSuccess : Report(set->result, set->error);
}

}  // namespace

weftResult_t Destroy(ncclComm_t comm) {
  return End(comm, weftCommDestroy);
}

weftResult_t Abort(ncclComm_t comm) {
  return End(comm, weftCommAbort);
}

void GroupStart() {
  ++group_depth;
}

bool InGroup() {
  return group_depth > 0;
}

void DeferInit(const InitRequest& request) {
  deferred.push_back(request);
}

weftResult_t GroupEnd() {
  if (group_depth > 0) --group_depth;
  if (group_depth > 0 || deferred.empty()) return weftSuccess;
  std::vector<InitRequest> requests;
  requests.swap(deferred);
  return InitTogether(requests);
}

}  // namespace weft_shim
