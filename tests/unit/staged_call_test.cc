// A staged collective's stream work and host stages on the fake device (fake_device.h): the
// results, the overlap of copies with the host collective, and what a failure leaves behind.
#include "collectives/device/staged_call.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "collectives/device/device_engine.h"
#include "tests/unit/fake_device.h"

namespace weft {
namespace {

constexpr int32_t kUntouched = -7;

// Queues copies and copy-out kernels on stream 0 of a FakeDevice, over host arrays.
class FakeStagingStream : public StagingStream {
 public:
  FakeStagingStream(FakeDevice* dev, const void* device_send, void* host_send,
                    std::vector<std::string>* log)
      : dev_(dev),
        device_send_(static_cast<const std::byte*>(device_send)),
        host_send_(static_cast<std::byte*>(host_send)),
        log_(log) {}
  Status RecordEvent(int* id) override {
    *id = dev_->RecordEvent(0);
    return Status::Ok();
  }
  Status WaitGate(uint32_t value) override {
    dev_->WaitGate(0, value);
    return Status::Ok();
  }
  Status CopyIn(const StagingCopy& c) override {
    const int k = copies_in_++;
    dev_->Kernel(0, [this, c, k] {
      for (size_t i = 0; i < c.rows; ++i)
        std::memcpy(host_send_ + c.host_offset + i * c.host_pitch,
                    device_send_ + c.device_offset + i * c.device_pitch, c.bytes);
      log_->push_back("in" + std::to_string(k));
    });
    return Status::Ok();
  }
  Status LaunchCopyOut(const DevicePhase* phase, size_t max_count) override {
    const int k = copies_out_++;
    EXPECT_GE(max_count, 1u);
    dev_->Kernel(0, [this, phase, k] {
      if (phase->skip != 0) {
        log_->push_back("skip" + std::to_string(k));
        return;
      }
      for (uint32_t t = 0; t < phase->ntasks; ++t)
        std::memcpy(phase->task[t].out, phase->task[t].in[0], phase->task[t].count * 4);
      log_->push_back("out" + std::to_string(k));
    });
    return Status::Ok();
  }

 private:
  FakeDevice* dev_;
  const std::byte* device_send_;
  std::byte* host_send_;
  std::vector<std::string>* log_;
  int copies_in_ = 0;
  int copies_out_ = 0;
};

size_t Position(const std::vector<std::string>& log, const std::string& entry) {
  const auto it = std::find(log.begin(), log.end(), entry);
  EXPECT_NE(it, log.end()) << entry << " never happened";
  return static_cast<size_t>(it - log.begin());
}

// One rank's view of an all-reduce (int32 sum) of two ranks, the other of which holds
// `Other(i)`: the host collective of a piece is played by a function of the staged input.
struct AllReduceOfTwo {
  static int32_t Other(size_t i) { return static_cast<int32_t>(i % 1009) * 3; }

  explicit AllReduceOfTwo(size_t count, size_t piece_bytes)
      : args{CollType::kAllReduce, nullptr, nullptr, count, weftInt32, weftSum, 0, nullptr},
        plan(PlanStaging(args, 0, 2, piece_bytes)),
        send(count),
        recv(count, kUntouched),
        host_send(plan.send_bytes),
        host_recv(plan.recv_bytes),
        phases(CopyOutLaunches(plan)) {
    for (size_t i = 0; i < count; ++i)
      send[i] = static_cast<int32_t>(i * 11 + 5);
  }

  StagedCall Call(std::vector<std::string>* log, uint32_t* gate, int fail_at_piece = -1) {
    StagedCall call;
    call.plan = &plan;
    call.phases = phases.data();
    call.host_recv = host_recv.data();
    call.device_recv = recv.data();
    call.elem_size = sizeof(int32_t);
    call.run_piece = [this, log, fail_at_piece](const StagingPiece& p) -> Status {
      const size_t k = static_cast<size_t>(pieces_run++);
      log->push_back("host" + std::to_string(k));
      if (static_cast<int>(k) == fail_at_piece) return RemoteError("rank 1 died");
      const auto* in = reinterpret_cast<const int32_t*>(host_send.data() + p.send_offset);
      auto* out = reinterpret_cast<int32_t*>(host_recv.data() + p.recv_offset);
      const size_t first = p.begin;
      for (size_t i = 0; i < p.count; ++i)
        out[i] = in[i] + Other(first + i);
      return Status::Ok();
    };
    call.next_gate = [gate] { return ++*gate; };
    return call;
  }
  int32_t Expected(size_t i) const { return send[i] + Other(i); }

  CollArgs args;
  StagingPlan plan;
  std::vector<int32_t> send, recv;
  std::vector<std::byte> host_send, host_recv;
  std::vector<DevicePhase> phases;
  int pieces_run = 0;
};

// A fake device, its queue and the log of what ran, with a staged call queued on them as
// the engine does it: the call's stages, then a last event.
struct FakeRun {
  FakeDevice dev{1};
  DeviceQueue q{&dev, 1000};
  std::vector<std::string> log;
  uint32_t gate = 0;
  std::unique_ptr<FakeStagingStream> stream;  // its kernels run on later ticks

  Status Queue(const StagedCall& call, const void* device_send, void* host_send) {
    stream = std::make_unique<FakeStagingStream>(&dev, device_send, host_send, &log);
    DeviceOp op;
    const Status s = QueueStagedCall(call, stream.get(), &op);
    DeviceStage last;
    last.event = dev.RecordEvent(0);
    op.stages.push_back(std::move(last));
    q.Push(std::move(op));
    return s;
  }
};

TEST(StagedCall, PiecesOverlapCopiesWithTheHostCollectiveInTwoSlotsAndGiveTheExactResult) {
  AllReduceOfTwo ar(8000, 4000);  // 8 pieces of 1000 elements
  ASSERT_EQ(ar.plan.pieces.size(), 8u);
  FakeRun run;
  FakeDevice& dev = run.dev;
  DeviceQueue& q = run.q;
  const std::vector<std::string>& log = run.log;
  ASSERT_TRUE(run.Queue(ar.Call(&run.log, &run.gate), ar.send.data(), ar.host_send.data()).ok());
  // Two staging slots of 1000 elements (4000 bytes, 4096 with alignment) serve the 8 pieces.
  EXPECT_EQ(ar.plan.send_bytes, 2 * 4096u);
  // The device copies piece 0 in; the host runs piece 0 before piece 1 is in.
  ASSERT_TRUE(dev.Tick());  // in0
  ASSERT_TRUE(dev.Tick());  // E0
  q.Step();
  EXPECT_EQ(log, (std::vector<std::string>{"in0", "host0"}));
  // With the host still busy on piece 1 (no more steps), the device copies piece 1 in,
  // piece 0 back out and piece 2 into piece 0's slot; piece 3 waits for piece 1's slot.
  for (int i = 0; i < 100 && dev.Tick(); ++i) {
  }
  EXPECT_EQ(log, (std::vector<std::string>{"in0", "host0", "in1", "out0", "in2"}));
  RunToCompletion(dev, q);
  ASSERT_TRUE(q.error().ok()) << q.error().message();
  for (size_t i = 0; i < ar.recv.size(); ++i)
    ASSERT_EQ(ar.recv[i], ar.Expected(i)) << "element " << i;
  for (int k = 0; k < 8; ++k) {
    const std::string n = std::to_string(k);
    EXPECT_LT(Position(log, "in" + n), Position(log, "host" + n));
    EXPECT_LT(Position(log, "host" + n), Position(log, "out" + n));
    if (k >= 2) {  // a slot is refilled only once its previous piece is out
      EXPECT_LT(Position(log, "out" + std::to_string(k - 2)), Position(log, "in" + n));
    }
  }
}

TEST(StagedCall, AFailedPieceLeavesItAndEveryLaterPieceUnwritten) {
  AllReduceOfTwo ar(8000, 4000);
  FakeRun run;
  ASSERT_TRUE(run.Queue(ar.Call(&run.log, &run.gate, /*fail_at_piece=*/3), ar.send.data(),
                        ar.host_send.data())
                  .ok());
  RunToCompletion(run.dev, run.q);
  EXPECT_EQ(run.q.error().code(), weftRemoteError);
  EXPECT_EQ(ar.pieces_run, 4) << "no piece runs after the failure";
  for (size_t i = 3000; i < ar.recv.size(); ++i)
    ASSERT_EQ(ar.recv[i], kUntouched) << "element " << i;
  for (size_t i = 0; i < 3000; ++i)  // pieces before the failure are whole or untouched
    ASSERT_TRUE(ar.recv[i] == ar.Expected(i) || ar.recv[i] == kUntouched) << "element " << i;
  EXPECT_NE(std::find(run.log.begin(), run.log.end(), "skip7"), run.log.end());
}

TEST(StagedCall, AllGatherOf20RanksCopiesOutEveryRowOverSeveralLaunches) {
  const int n = 20;
  const size_t count = 300;
  CollArgs a{CollType::kAllGather, nullptr, nullptr, count, weftInt32, weftSum, 0, nullptr};
  const StagingPlan plan = PlanStaging(a, 0, n, 100 * 4 * n);  // 3 pieces, 2 launches each
  ASSERT_EQ(plan.pieces.size(), 3u);
  std::vector<int32_t> send(count), recv(count * n, kUntouched);
  for (size_t i = 0; i < count; ++i)
    send[i] = static_cast<int32_t>(i);
  std::vector<std::byte> host_send(plan.send_bytes), host_recv(plan.recv_bytes);
  std::vector<DevicePhase> phases(CopyOutLaunches(plan));
  ASSERT_EQ(phases.size(), 6u);
  StagedCall call;
  call.plan = &plan;
  call.phases = phases.data();
  call.host_recv = host_recv.data();
  call.device_recv = recv.data();
  call.elem_size = 4;
  // The host all-gather: rank q's row of a piece holds q * 100000 + its element index.
  call.run_piece = [&](const StagingPiece& p) -> Status {
    auto* out = reinterpret_cast<int32_t*>(host_recv.data() + p.recv_offset);
    const size_t first = p.begin;
    for (size_t q = 0; q < static_cast<size_t>(n); ++q)
      for (size_t i = 0; i < p.count; ++i)
        out[q * p.count + i] = static_cast<int32_t>(q * 100000 + first + i);
    return Status::Ok();
  };
  FakeRun run;
  call.next_gate = [&] { return ++run.gate; };
  ASSERT_TRUE(run.Queue(call, send.data(), host_send.data()).ok());
  RunToCompletion(run.dev, run.q);
  ASSERT_TRUE(run.q.error().ok()) << run.q.error().message();
  for (size_t qq = 0; qq < static_cast<size_t>(n); ++qq)
    for (size_t i = 0; i < count; ++i)
      ASSERT_EQ(recv[qq * count + i], static_cast<int32_t>(qq * 100000 + i))
          << "rank " << qq << " element " << i;
}

}  // namespace
}  // namespace weft
