// ExclusiveCaller: one thread at a time in the calls of one communicator. Two threads that
// issue collectives on one communicator at once would have their calls paired with the
// peers' in whatever order they happened to take the lock, which is wrong data with
// success; the second thread is refused instead (weftInvalidUsage). Calls from different
// threads one after another are fine, as are nested entries by the thread in the call, and
// the calls meant for another thread (weftCommRevoke, weftCommAbort, weftCommGetAsyncError)
// take no mark.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <utility>

#include "common/status.h"

namespace weft {

class ExclusiveCaller {
 public:
  // Holds the mark for one call; status() is weftInvalidUsage if another thread holds it.
  class Scope {
   public:
    Scope(ExclusiveCaller* owner, const char* what);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    const Status& status() const { return status_; }

   private:
    ExclusiveCaller* owner_;
    bool held_ = false;
    Status status_;
  };

  // Context for the message: "rank 2 of 4".
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  std::atomic<std::thread::id> holder_{};
  int depth_ = 0;  // the holder's nested entries; touched by the holder only
  std::string name_;
};

inline ExclusiveCaller::Scope::Scope(ExclusiveCaller* owner, const char* what) : owner_(owner) {
  const std::thread::id me = std::this_thread::get_id();
  std::thread::id none{};
  if (owner_->holder_.compare_exchange_strong(none, me, std::memory_order_acquire) || none == me) {
    held_ = true;
    ++owner_->depth_;
    return;
  }
  status_ = Status(weftInvalidUsage,
                   Format("%s: another thread is in a call on this communicator (%s): calls on "
                          "one communicator must not overlap; give each thread its own "
                          "communicator or serialize the calls (weft.h: threads)",
                          what, owner_->name_.c_str()));
}

inline ExclusiveCaller::Scope::~Scope() {
  if (held_ && --owner_->depth_ == 0)
    owner_->holder_.store(std::thread::id{}, std::memory_order_release);
}

}  // namespace weft
