// The drive loop: runs a batch of plan runners to completion, failure or timeout, spinning
// briefly and then sleeping on the transport's events or the shared FIFOs' futexes.
#include <sched.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "collectives/communicator.h"
#include "common/dtype.h"
#include "common/keep_for_life.h"
#include "common/log.h"

namespace weft {

bool Communicator::NeedsPolling(size_t n) const {
  for (size_t i = 0; i < n; ++i)
    if (runners_[i]->NeedsPolling()) return true;
  return false;
}

size_t Communicator::StepsRun(size_t n) const {
  size_t steps = 0;
  for (size_t i = 0; i < n; ++i)
    steps += runners_[i]->StepsRun();
  return steps;
}

Status Communicator::Drive(size_t n, const std::function<std::string(size_t)>& describe,
                           bool collective) {
  auto& executors = runners_;
  const auto start = Clock::now();
  const Deadline deadline = start + std::chrono::milliseconds(config_.timeout_ms);
  const auto spin = std::chrono::microseconds(config_.spin_us);
  auto spin_until = start + spin;
  auto next_peer_check = start + std::chrono::milliseconds(100);
  Status failure;
  unsigned iter = 0, idle = 0;
  bool progressed_since_check = true;
  size_t steps_seen = 0;
  while (true) {
    bool progressed = false;
    for (int i = 0; i < 64 && transport_->Progress(); ++i)
      progressed = true;
    bool all_done = true;
    bool sequential_pending = false;  // an earlier sequential runner has not finished
    for (size_t i = 0; i < n && failure.ok(); ++i) {
      bool done = false;
      if (executors[i]->Sequential() && sequential_pending) {
        all_done = false;
        continue;
      }
      Status s = executors[i]->Advance(&done);
      sequential_pending = sequential_pending || (executors[i]->Sequential() && !done);
      if (!s.ok()) {
        failure = s.WithContext(Format("%s on rank %d", describe(i).c_str(), rank_));
      }
      all_done = all_done && done;
    }
    if (!failure.ok()) break;
    if (all_done) return Status::Ok();
    const size_t steps = StepsRun(n);
    if (steps != steps_seen) {
      steps_seen = steps;
      progressed = true;
    }
    if (progressed) {
      idle = 0;
      progressed_since_check = true;
    } else {
      ++idle;
    }
    // Poll a few times before reading the clock or yielding: the next message is often a
    // fraction of a microsecond away.
    if (idle < 16 && (++iter % 64) != 0) continue;
    idle = 0;
    const auto now = Clock::now();
    Status health = transport_->Health();
    if (health.ok() && abort_requested_.load(std::memory_order_relaxed))
      health = InvalidUsage("weftCommAbort was called");
    if (health.ok() && revoked_.load(std::memory_order_relaxed))
      health = InvalidUsage("the communicator was revoked (weftCommRevoke)");
    if (health.ok() && now >= next_peer_check) {
      // Waiting long for a peer: is it still there?
      health = CheckPeers();
      next_peer_check = now + std::chrono::milliseconds(100);
    }
    if (!health.ok()) {
      failure = health.WithContext(Format("rank %d", rank_));
      break;
    }
    if (now >= deadline) {
      for (size_t i = 0; i < n; ++i) {
        bool done = false;
        (void)executors[i]->Advance(&done);
        if (done) continue;
        failure = TimeoutError(
            Format("%s timed out after WEFT_TIMEOUT_MS=%lld ms on rank %d, waiting for %s",
                   describe(i).c_str(), static_cast<long long>(config_.timeout_ms), rank_,
                   executors[i]->Waiting().c_str()));
        break;
      }
      // The peer this rank waits for may itself be waiting on the one that stopped.
      if (!failure.ok() && collective) failure = WithStallVerdict(failure);
      break;
    }
    if (progressed_since_check) {
      spin_until = now + spin;
      progressed_since_check = false;
    } else if (now < spin_until) {
      // Spinning: with a core per rank, poll on (a yield is a system call, and the message
      // it would wait for is often under a microsecond away); with more ranks than cores,
      // let the peer we wait for have the core.
      if (oversubscribed_) sched_yield();
    } else if (!NeedsPolling(n)) {
      // Sleep on the transport's events so that ranks sharing cores can run.
      transport_->WaitForEvent(std::min(RemainingMs(deadline), 100));
    } else {
      // Polled work (shared FIFOs, pending sends): the first runner that is stuck waits
      // for its neighbour (a futex for the FIFOs), a millisecond at most, so that time
      // and peers are checked regularly.
      for (size_t i = 0; i < n; ++i) {
        if (!runners_[i]->NeedsPolling()) continue;
        runners_[i]->WaitForWork(1000);
        break;
      }
    }
  }
  // Take back every buffer from the transport before returning to the user. The
  // communicator is unusable from here on (only abort or destroy may follow), so its
  // endpoints are closed at once: that ends sends a dead peer will never take.
  transport_->CloseEndpoints(0);
  for (size_t i = 0; i < n; ++i)
    executors[i]->CancelOutstanding();
  links_->CancelAll();  // receives posted ahead for later collectives too
  // Receives must end (they write into user buffers); they cancel at once. Sends only read,
  // and those to a dead peer may never end: they get a short grace, then are abandoned.
  auto quiet = [&](bool receives_only) {
    for (size_t i = 0; i < n; ++i)
      if (!executors[i]->Quiescent(receives_only)) return false;
    return links_->Quiescent(receives_only);
  };
  for (auto [receives_only, ms] : {std::pair{true, 1000}, std::pair{false, 20}}) {
    const Deadline drain = DeadlineIn(ms);
    while (!quiet(receives_only) && Clock::now() < drain) {
      if (!transport_->Progress()) transport_->WaitForEvent(1);
    }
  }

  if (!quiet(false)) {
    // The transport still owns some requests: keep their completions alive for good (the
    // links keep theirs when they are destroyed).
    WEFT_WARN(kLogColl, "abandoning transfers the transport did not end");
    transport_->AbandonOutstanding();
    if (p2p_runner_) KeepForLife(std::move(p2p_runner_));
  }
  return failure;
}

void Communicator::StartProgressThread() {
  progress_thread_ = std::thread([this] { ProgressThreadMain(); });
}

void Communicator::StopProgressThread() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (progress_thread_.joinable()) progress_thread_.join();
}

// Between collectives nobody else drives the worker: this thread does, a few times a
// second, so that a dead peer is noticed (endpoint error) even while the application
// computes. It takes the transport only when no caller holds it, and never spins, so it
// costs nothing when ranks outnumber cores. Callers drive their own collectives inline.
void Communicator::ProgressThreadMain() {
  SetLogRank(rank_);
  std::unique_lock<std::mutex> stop_lock(stop_mutex_);
  while (!stop_) {
    stop_cv_.wait_for(stop_lock, std::chrono::milliseconds(50));
    if (stop_) break;
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) continue;
    for (int i = 0; i < 64 && transport_->Progress(); ++i) {
    }
    if (error_.ok()) {
      Status health = CheckPeers();
      if (!health.ok()) SetError(health);
    }
  }
}

}  // namespace weft
