#include "collectives/device/device_queue.h"

#include <algorithm>
#include <cstdint>

namespace weft {

DeviceQueue::DeviceQueue(DeviceApi* api, int64_t timeout_ms, ClockFn clock)
    : api_(api), timeout_ms_(timeout_ms), clock_(std::move(clock)) {}

void DeviceQueue::Push(DeviceOp op) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const DeviceStage& s : op.stages)
    max_gate_ = std::max(max_gate_, s.gate);
  ops_.push_back({std::move(op), false});
  if (!error_.ok()) SkipAll();
}

bool DeviceQueue::Idle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ops_.empty();
}

size_t DeviceQueue::Pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ops_.size();
}

Status DeviceQueue::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

void DeviceQueue::Fail(const Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_.ok()) error_ = why;
  SkipAll();
}

void DeviceQueue::SkipAll() {
  for (Entry& p : ops_) {
    if (p.skipped) continue;
    p.skipped = true;
    if (p.op.skip) p.op.skip();
  }
  // Gates are monotonic: opening the highest releases every stream.
  if (!ops_.empty()) api_->OpenGate(max_gate_);
}

bool DeviceQueue::Step() {
  bool moved = false;
  while (true) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (ops_.empty()) return moved;
    DeviceOp& op = ops_.front().op;  // only this thread pops, so the reference stays valid
    if (stage_ == op.stages.size()) {
      DeviceOp done = std::move(op);
      ops_.pop_front();
      stage_ = 0;
      stage_started_ = false;
      lock.unlock();
      if (done.finish) done.finish();
      moved = true;
      continue;
    }
    DeviceStage& stage = op.stages[stage_];
    if (stage.event >= 0) {
      bool done = false;
      Status s = api_->EventDone(stage.event, &done);
      if (s.ok() && !done) {
        const TimePoint now = Now();
        if (!stage_started_) {
          stage_started_ = true;
          stage_since_ = now;
        }
        if (now - stage_since_ < std::chrono::milliseconds(timeout_ms_)) return moved;
        s = TimeoutError(Format(
            "%s: the stream's work before step %zu did not finish within WEFT_TIMEOUT_MS=%lld",
            op.what.c_str(), stage_, static_cast<long long>(timeout_ms_)));
      }
      if (!s.ok() && error_.ok()) {
        error_ = s.code() == weftTimeout ? s : s.WithContext(op.what);
        SkipAll();
      }
      api_->ReleaseEvent(stage.event);
      stage.event = -1;
    }
    if (error_.ok()) {
      // Host work runs without the lock, so Push never waits for the network.
      std::function<Status()> work = std::move(stage.host_work);
      const uint32_t gate = stage.gate;
      lock.unlock();
      Status s = work ? work() : Status::Ok();
      lock.lock();
      if (!s.ok() && error_.ok()) {
        error_ = s;
        SkipAll();
      }
      if (error_.ok() && gate != 0) api_->OpenGate(gate);
    }
    ++stage_;
    stage_started_ = false;
    moved = true;
  }
}

}  // namespace weft
