// PlanRunner: what the communicator's drive loop needs from anything that runs a Plan
// without blocking (the PlanExecutor, the point-to-point runner).
#pragma once

#include <sched.h>

#include <string>

#include "common/status.h"

namespace weft {

class PlanRunner {
 public:
  virtual ~PlanRunner() = default;
  // Does whatever is possible now; sets *done when the plan has finished. Never blocks.
  virtual Status Advance(bool* done) = 0;
  // Asks the transport to end every outstanding operation (after a failure).
  virtual void CancelOutstanding() = 0;
  // True when no transport operation (or no receive) is outstanding.
  virtual bool Quiescent(bool receives_only = false) const = 0;
  // True while the runner needs polling to move on: a posted send that has not completed,
  // or shared-memory FIFOs (which raise no transport event to sleep on).
  virtual bool NeedsPolling() const = 0;
  // Steps run so far in this plan (progress detection for the drive loop).
  virtual size_t StepsRun() const = 0;
  // Must the next runner of a batch wait until this one is done? (Runners that share
  // ordered state, like the direct FIFOs, run one after another.)
  virtual bool Sequential() const { return false; }
  // Blocks for at most timeout_us, or until this runner may be able to move on. Only for
  // runners that need polling; the default gives the core away once.
  virtual void WaitForWork(int timeout_us);
  // What the runner waits for, for timeout messages.
  virtual std::string Waiting() const = 0;
};

inline void PlanRunner::WaitForWork(int) {
  sched_yield();
}

}  // namespace weft
