// The stream-ordering state machine for collectives on device buffers.
//
// A call on device buffers only enqueues work on the user's stream: an event that marks
// "everything queued before this call is done", then a gate (a stream wait on a counter in
// pinned host memory), then the kernels, then the next event and gate, and so on. The host
// side of each stage (exchanging buffer addresses with the peers, a barrier, a host
// collective on staged data) runs here, on the communicator's device thread: when a stage's
// event has completed, its host work runs and then its gate opens, releasing the stream.
// The caller never blocks on the device and nothing ever synchronizes the user's stream.
//
// When anything fails (host work, an event error, a timeout), every pending operation is
// marked skip (its kernels return at once) and every gate is opened, so no stream is left
// waiting on a gate that would never open; the error is sticky. Skipped operations still
// wait for their events, so an operation's resources (descriptors the kernels read) are
// freed only after its last event: the builder ends each operation with an event stage.
//
// Device access goes through DeviceApi, so the machine is tested with a fake device and a
// fake clock (tests/unit/device_queue_test.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"

namespace weft {

class DeviceApi {
 public:
  virtual ~DeviceApi() = default;
  // Whether the work before event `id` on its stream has completed; never blocks.
  virtual Status EventDone(int id, bool* done) = 0;
  // The event will not be queried again.
  virtual void ReleaseEvent(int id) = 0;
  // Releases every stream waiting on a gate value <= `value`.
  virtual void OpenGate(uint32_t value) = 0;
};

struct DeviceStage {
  int event = -1;                     // wait for this event first; -1: none
  std::function<Status()> host_work;  // then run this (may block, bounded); null: none
  uint32_t gate = 0;                  // then open the gate to this value; 0: none
};

struct DeviceOp {
  std::string what;  // names the operation in errors: "allreduce (seq 4, count 1024, float32)"
  std::vector<DeviceStage> stages;
  std::function<void()> skip;    // makes the op's remaining kernels return at once
  std::function<void()> finish;  // after the last stage's event: frees resources
};

class DeviceQueue {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using ClockFn = std::function<TimePoint()>;

  // `timeout_ms` bounds how long a stage may wait for its event (the stream's earlier work).
  DeviceQueue(DeviceApi* api, int64_t timeout_ms, ClockFn clock = {});

  // Appends an operation whose stream work is already queued. Never blocks.
  void Push(DeviceOp op);
  // Advances the front operations as far as their events allow; runs host work inline.
  // Returns true when something moved (so the caller polls again before sleeping).
  bool Step();
  // True when no operation is pending.
  bool Idle() const;
  size_t Pending() const;
  // The first failure, or Ok.
  Status error() const;
  // Fails every pending and future operation with `why` (abort): skips and opens gates.
  void Fail(const Status& why);

 private:
  void SkipAll();  // marks every pending op skip, opens every gate; caller holds mutex_
  TimePoint Now() const { return clock_ ? clock_() : std::chrono::steady_clock::now(); }

  DeviceApi* api_;
  int64_t timeout_ms_;
  ClockFn clock_;
  mutable std::mutex mutex_;
  struct Entry {
    DeviceOp op;
    bool skipped = false;
  };
  std::deque<Entry> ops_;
  size_t stage_ = 0;            // stage of ops_.front() in progress
  bool stage_started_ = false;  // stage_since_ is valid
  TimePoint stage_since_;
  Status error_;
  uint32_t max_gate_ = 0;  // highest gate value pushed
};

}  // namespace weft
