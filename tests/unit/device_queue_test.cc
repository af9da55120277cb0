// The device stream-ordering state machine against a fake device: streams are queues of
// items (events, gates, kernels) that advance one item per tick, and time is a fake clock.
#include "collectives/device/device_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/fake_device.h"

namespace weft {
namespace {

// Builds an op of `phases` gated kernels on `stream`, the way the communicator does:
// event, gate, kernel per phase; host work logs its name.
DeviceOp GatedOp(FakeDevice& dev, int stream, const std::string& name, int phases,
                 uint32_t* next_gate, std::vector<std::string>* log, bool* skip_flag,
                 int fail_at_phase = -1) {
  DeviceOp op;
  op.what = name;
  for (int p = 0; p < phases; ++p) {
    DeviceStage st;
    st.event = dev.RecordEvent(stream);
    st.gate = ++*next_gate;
    dev.WaitGate(stream, st.gate);
    const std::string tag = name + ".host" + std::to_string(p);
    st.host_work = [log, tag, p, fail_at_phase]() -> Status {
      log->push_back(tag);
      if (p == fail_at_phase) return RemoteError("rank 3 died");
      return Status::Ok();
    };
    dev.Kernel(stream, [log, skip_flag, name, p] {
      log->push_back(name + (*skip_flag ? ".skipped" : ".kernel") + std::to_string(p));
    });
    op.stages.push_back(std::move(st));
  }
  DeviceStage last;  // the op's resources live until its last kernel has run
  last.event = dev.RecordEvent(stream);
  op.stages.push_back(std::move(last));
  op.skip = [skip_flag] { *skip_flag = true; };
  op.finish = [log, name] { log->push_back(name + ".finish"); };
  return op;
}

TEST(DeviceQueue, HostWorkRunsBetweenEarlierStreamWorkAndTheGatedKernel) {
  FakeDevice dev(1);
  FakeClock clock;
  DeviceQueue q(&dev, 1000, clock.fn());
  std::vector<std::string> log;
  uint32_t gate = 0;
  bool skip = false;
  dev.Kernel(0, [&] { log.push_back("before"); });
  q.Push(GatedOp(dev, 0, "allreduce", 2, &gate, &log, &skip));
  dev.Kernel(0, [&] { log.push_back("after"); });
  // Nothing on the stream has run: the queue does not move and does not block.
  EXPECT_FALSE(q.Step());
  EXPECT_TRUE(log.empty());
  RunToCompletion(dev, q);
  const std::vector<std::string> expected = {"before",
                                             "allreduce.host0",
                                             "allreduce.kernel0",
                                             "allreduce.host1",
                                             "allreduce.kernel1",
                                             "allreduce.finish",
                                             "after"};
  EXPECT_EQ(log, expected);
  EXPECT_TRUE(q.error().ok());
  EXPECT_EQ(dev.released(), 3u);  // every event released once
}

TEST(DeviceQueue, OperationsOnTwoStreamsRunTheirHostWorkInCallOrder) {
  FakeDevice dev(2);
  DeviceQueue q(&dev, 1000);
  std::vector<std::string> log;
  uint32_t gate = 0;
  bool skip[4] = {};
  for (int i = 0; i < 4; ++i)
    q.Push(GatedOp(dev, i % 2, "op" + std::to_string(i), 2, &gate, &log, &skip[i]));
  RunToCompletion(dev, q);
  std::vector<std::string> host;
  for (const auto& e : log)
    if (e.find(".host") != std::string::npos) host.push_back(e);
  const std::vector<std::string> expected = {"op0.host0", "op0.host1", "op1.host0", "op1.host1",
                                             "op2.host0", "op2.host1", "op3.host0", "op3.host1"};
  EXPECT_EQ(host, expected);
  EXPECT_EQ(dev.gate(), 8u);
  for (const auto& e : log)
    EXPECT_EQ(e.find("skipped"), std::string::npos) << e;
}

TEST(DeviceQueue, AFailureSkipsThisAndLaterKernelsAndStillReleasesEveryStream) {
  FakeDevice dev(1);
  DeviceQueue q(&dev, 1000);
  std::vector<std::string> log;
  uint32_t gate = 0;
  bool skip1 = false, skip2 = false;
  q.Push(GatedOp(dev, 0, "op1", 2, &gate, &log, &skip1, /*fail_at_phase=*/1));
  q.Push(GatedOp(dev, 0, "op2", 1, &gate, &log, &skip2));
  RunToCompletion(dev, q);
  const std::vector<std::string> expected = {"op1.host0",    "op1.kernel0", "op1.host1",
                                             "op1.skipped1", "op1.finish",  "op2.skipped0",
                                             "op2.finish"};
  EXPECT_EQ(log, expected);
  EXPECT_EQ(q.error().code(), weftRemoteError);
  EXPECT_NE(q.error().message().find("rank 3 died"), std::string::npos);
  // An op queued after the failure is skipped too (the error is sticky).
  bool skip3 = false;
  q.Push(GatedOp(dev, 0, "op3", 1, &gate, &log, &skip3));
  RunToCompletion(dev, q);
  EXPECT_TRUE(skip3);
  EXPECT_EQ(log.back(), "op3.finish");
}

TEST(DeviceQueue, StreamWorkThatNeverFinishesTimesOutOnTheFakeClock) {
  FakeDevice dev(1);
  FakeClock clock;
  DeviceQueue q(&dev, 500, clock.fn());
  std::vector<std::string> log;
  uint32_t gate = 0;
  bool skip = false;
  q.Push(GatedOp(dev, 0, "broadcast (seq 7)", 1, &gate, &log, &skip));
  // The device never ticks: the event stays pending.
  EXPECT_FALSE(q.Step());
  clock.now += std::chrono::milliseconds(499);
  EXPECT_FALSE(q.Step());
  EXPECT_TRUE(q.error().ok());
  clock.now += std::chrono::milliseconds(2);
  EXPECT_TRUE(q.Step());
  EXPECT_EQ(q.error().code(), weftTimeout);
  EXPECT_NE(q.error().message().find("broadcast (seq 7)"), std::string::npos);
  EXPECT_NE(q.error().message().find("WEFT_TIMEOUT_MS=500"), std::string::npos);
  EXPECT_TRUE(skip);
  RunToCompletion(dev, q);  // the gate was opened: the stream drains, the op finishes
  EXPECT_EQ(log.back(), "broadcast (seq 7).finish");
}

TEST(DeviceQueue, FailFromAnotherThreadReleasesEveryPendingOperation) {
  FakeDevice dev(2);
  DeviceQueue q(&dev, 1000);
  std::vector<std::string> log;
  uint32_t gate = 0;
  bool skip[3] = {};
  for (int i = 0; i < 3; ++i)
    q.Push(GatedOp(dev, i % 2, "op" + std::to_string(i), 2, &gate, &log, &skip[i]));
  q.Fail(RemoteError("aborted"));
  EXPECT_EQ(dev.gate(), 6u);
  RunToCompletion(dev, q);
  EXPECT_EQ(std::count_if(log.begin(), log.end(),
                          [](const std::string& e) { return e.find(".host") != e.npos; }),
            0);
  for (bool s : skip)
    EXPECT_TRUE(s);
  EXPECT_EQ(q.error().code(), weftRemoteError);
}

}  // namespace
}  // namespace weft
