// Executor: runs one rank's Plan over a Transport without blocking. Receives are posted a
// bounded window ahead (into staging slots when the data is to be reduced, straight into
// the output otherwise), steps run in order as their data arrives, sends complete in the
// background. The caller calls Advance until done, between transport progress calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectives/plan.h"
#include "collectives/plan_runner.h"
#include "transport/transport.h"

namespace weft {

struct ExecArgs {
  const void* input = nullptr;
  void* output = nullptr;
  weftDataType_t type = weftFloat32;
  weftRedOp_t op = weftSum;
  MemoryType mem = MemoryType::kHost;
  uint64_t seq = 0;  // collective sequence number, part of every tag
};

// Staging memory for one channel: `slots` buffers of `slot_bytes` each.
struct StagingArea {
  std::byte* base = nullptr;
  size_t slot_bytes = 0;
  int slots = 0;
};

class Executor : public PlanRunner {
 public:
  Executor() = default;
  // `plan` must outlive the executor; `staging` has one area per channel.
  Executor(Transport* transport, const Plan* plan, const ExecArgs& args,
           const std::vector<StagingArea>& staging) {
    Reset(transport, plan, args, staging);
  }
  // Starts over with another plan, keeping the memory of earlier ones (no allocation per
  // collective once sizes repeat).
  void Reset(Transport* transport, const Plan* plan, const ExecArgs& args,
             const std::vector<StagingArea>& staging);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Posts what can be posted and runs every step whose data has arrived. Sets *done when
  // all steps ran and all sends completed. Never blocks.
  Status Advance(bool* done) override;

  // Cancels every outstanding receive and send; then Advance-free progress drains them.
  void CancelOutstanding() override;
  // True when no transport operation (or no receive) of this executor is outstanding.
  bool Quiescent(bool receives_only = false) const override;
  // True while a send this executor posted has not completed. A sender must keep driving
  // the transport then: UCX pushes the fragments of a large eager message only when
  // progressed, and nothing wakes a sleeping sender when the peer's FIFO drains.
  bool NeedsPolling() const override;
  size_t StepsRun() const override { return steps_run_; }
  // What the executor waits for, e.g. "channel 0 step 3/8 RecvReduceSend: message 2 from rank 1".
  std::string Waiting() const override;

  // Bytes staging must provide per channel for this plan: one chunk per slot.
  static size_t SlotBytes(const Plan& plan, weftDataType_t type);

 private:
  struct StepState {
    Completion recv;
    Completion send;
    int slot = -1;
    bool recv_posted = false;
    bool send_posted = false;
    bool ran_early = false;
  };
  struct ChannelState {
    size_t next_post = 0;
    size_t next_exec = 0;
    std::vector<int> free_slots;
    std::vector<size_t> sends_in_flight;
    std::vector<StepState> steps;
    size_t anytime_cursor = 0;  // no unrun anytime step before it
  };

  Status AdvanceChannel(int c);
  Status PostReceives(int c);
  Status RunStep(int c, size_t index);
  Status ReapSends(int c);
  // Runs the next `anytime` step after the blocked one, if any; true if it ran one.
  bool RunAnytimeAhead(int c);
  Status PostSend(int c, size_t index, const void* data);
  std::byte* Ptr(const Region& r) const;
  std::byte* SlotPtr(int c, int slot) const;

  Transport* transport_ = nullptr;
  const Plan* plan_ = nullptr;
  ExecArgs args_;
  size_t elem_size_ = 0;
  std::vector<StagingArea> staging_;
  std::vector<ChannelState> channels_;
  size_t steps_run_ = 0;
};

}  // namespace weft
