// A fake device for the stream-ordering tests: streams are queues of items (events, gates,
// kernels) that advance one item per tick, and time is a fake clock.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "collectives/device/device_queue.h"

namespace weft {

class FakeDevice : public DeviceApi {
 public:
  explicit FakeDevice(int nstreams) : streams_(nstreams) {}

  int RecordEvent(int stream) {
    const int id = next_event_++;
    done_[id] = false;
    streams_[stream].push_back({Item::kEvent, id, 0, {}});
    return id;
  }
  void WaitGate(int stream, uint32_t value) {
    streams_[stream].push_back({Item::kGate, -1, value, {}});
  }
  void Kernel(int stream, std::function<void()> fn) {
    streams_[stream].push_back({Item::kKernel, -1, 0, std::move(fn)});
  }
  // Each stream runs its front item if it can. Returns true when any item ran.
  bool Tick() {
    bool ran = false;
    for (auto& s : streams_) {
      if (s.empty()) continue;
      Item& it = s.front();
      if (it.kind == Item::kGate && gate_ < it.value) continue;
      if (it.kind == Item::kEvent) done_[it.id] = true;
      if (it.kind == Item::kKernel) it.fn();
      s.pop_front();
      ran = true;
    }
    return ran;
  }
  bool Drained() const {
    for (const auto& s : streams_)
      if (!s.empty()) return false;
    return true;
  }

  Status EventDone(int id, bool* done) override {
    auto it = done_.find(id);
    if (it == done_.end()) return InternalError("unknown event");
    if (released_.count(id)) return InternalError("event queried after release");
    *done = it->second;
    return Status::Ok();
  }
  void ReleaseEvent(int id) override { released_.insert({id, true}); }
  void OpenGate(uint32_t value) override {
    gate_ = std::max(gate_, value);
    ++gates_opened_;
  }

  uint32_t gate() const { return gate_; }
  size_t released() const { return released_.size(); }

 private:
  struct Item {
    enum Kind { kEvent, kGate, kKernel } kind;
    int id;
    uint32_t value;
    std::function<void()> fn;
  };
  std::vector<std::deque<Item>> streams_;
  std::map<int, bool> done_;
  std::map<int, bool> released_;
  uint32_t gate_ = 0;
  int next_event_ = 0;
  int gates_opened_ = 0;
};

struct FakeClock {
  DeviceQueue::TimePoint now{};
  DeviceQueue::ClockFn fn() {
    return [this] { return now; };
  }
};

// Alternates device ticks and queue steps until the streams drain (bounded).
inline void RunToCompletion(FakeDevice& dev, DeviceQueue& q, int max_steps = 1000) {
  for (int i = 0; i < max_steps && !(dev.Drained() && q.Idle()); ++i) {
    q.Step();
    dev.Tick();
  }
  ASSERT_TRUE(dev.Drained());
  ASSERT_TRUE(q.Idle());
}

}  // namespace weft
