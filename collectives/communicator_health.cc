// Health: a failed peer (process gone, connection lost), the sticky error, revoke, abort
// and the meeting of the survivors a shrink starts with.
#include "collectives/communicator.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "collectives/device_hierarchy.h"
#include "common/log.h"

namespace weft {

namespace {

// False once the process is gone or a zombie (its parent has not reaped it yet).
bool ProcessAlive(int32_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no procfs: trust kill()
  size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return true;
  char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace

Status Communicator::CheckPeers() {
  auto dead_local_rank = [&]() -> Status {
    for (int r = 0; r < nranks_; ++r) {
      if (local_pids_[r] > 0 && !ProcessAlive(local_pids_[r]))
        return RemoteError(Format("rank %d (pid %d on this host) exited", r, local_pids_[r]));
    }
    return Status::Ok();
  };
  WEFT_CHECK(transport_->Health());
  WEFT_CHECK(dead_local_rank());
  Status bootstrap = bootstrap_->CheckForError();
  if (bootstrap.ok()) return bootstrap;
  // A dying process closes its sockets before it is gone: give a local rank's exit a
  // moment to show, so that the error names the rank rather than the lost connection.
  for (int i = 0; i < 10; ++i) {
    WEFT_CHECK(dead_local_rank());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return bootstrap;
}

// Every rank of a stuck call times out; each asks the others, through the root, which
// rank stopped, so that all of them name the same one (not each its own neighbour).
Status Communicator::WithStallVerdict(const Status& timeout) {
  StallReport mine;
  mine.completed_calls = seq_;
  mine.waiting = timeout.message();
  std::string verdict;
  const Status asked = bootstrap_->ReportStall(mine, &verdict);
  if (asked.ok()) return Status(timeout.code(), verdict + "; here: " + timeout.message());
  if (asked.code() == weftTimeout)
    return Status(timeout.code(),
                  "rank 0 stopped making progress: the bootstrap root, in its process, did not "
                  "answer when asked which rank stopped (or rank 0's host is unreachable); "
                  "here: " +
                      timeout.message());
  return Status(timeout.code(), timeout.message() + " (the other ranks could not be asked: " +
                                    asked.message() + ")");
}

void Communicator::SetError(const Status& s) {
  if (error_.ok()) error_ = s;
  in_error_ = true;
}

Status Communicator::AsyncError() {
  if (revoked_) return Status::Ok();  // deliberate, and over once Revoke returned
  // Under the lock: frameworks poll this from a watchdog thread while another thread's first
  // device call creates the engine.
  std::lock_guard<std::mutex> lock(mutex_);
  if (device_) {
    Status device_error = device_->error();
    if (!device_error.ok()) return device_error;
  }
  if (hierarchy_) {
    Status legs_error = hierarchy_->AsyncError();
    if (!legs_error.ok()) return legs_error;
  }
  if (error_.ok()) {
    Status health = CheckPeers();
    if (!health.ok()) SetError(health);
  }
  return error_;
}

void Communicator::Revoke() {
  revoked_ = true;
  const Status why = InvalidUsage("the communicator was revoked (weftCommRevoke)");
  if (device_) device_->Abort(why);
  if (hierarchy_) hierarchy_->Revoke();
  std::lock_guard<std::mutex> lock(mutex_);  // taken once a running call has failed
  SetError(why);
}

Status Communicator::ShrinkRound(const std::vector<int32_t>& excluded, bool abort,
                                 const std::vector<uint8_t>& mine,
                                 std::vector<std::vector<uint8_t>>* all) {
  ExclusiveCaller::Scope call(&caller_, "weftCommShrink");
  WEFT_CHECK(call.status());
  abort = abort || revoked_;  // a revoked communicator is quiescent: shrink it as it is
  if (!abort && device_) WEFT_CHECK(device_->Drain());
  std::lock_guard<std::mutex> lock(mutex_);
  if (!abort) {
    if (error_.ok()) {
      Status health = CheckPeers();
      if (!health.ok()) SetError(health);
    }
    if (!error_.ok())
      return InvalidUsage("the communicator is in error (" + error_.message() +
                          "): shrink it with WEFT_SHRINK_ABORT");
  }
  return bootstrap_->Shrink(excluded, mine, all);
}

void Communicator::Abort() {
  abort_requested_ = true;
  if (device_) {
    device_->Abort(InvalidUsage("weftCommAbort was called"));
    TakeDeviceEngine().reset();
  }
  if (std::unique_ptr<DeviceHierarchy> h = TakeDeviceHierarchy()) h->Abort();
  StopProgressThread();
  std::lock_guard<std::mutex> lock(mutex_);
  transport_->CloseEndpoints(0);
  bootstrap_->Leave();
}

}  // namespace weft
