// PlanExecutor: the one plan runner. Runs one rank's Plan over the links the plan names
// (transport/link.h: shared-memory FIFOs, links over the network, any mix of them in one
// plan) without blocking, with a reduction back-end chosen by the buffers' memory type
// (collectives/reduce/backend.h). Each channel runs its steps in order; a step runs when its
// message has arrived and the link it sends on has a free slot, and then does its work in one
// pass, straight from the arrived slot into the outgoing one (RecvReduceSend reduces into the
// next rank's slot), before releasing the one and posting the other. Steps marked `anytime`
// (local copies) run early while a channel waits.
//
// Links count their messages over the communicator's life, so the runners of one batch run
// one after another (Sequential), in the order every rank gives them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectives/algorithms/one_shot.h"
#include "collectives/link_table.h"
#include "collectives/memory_registry.h"
#include "collectives/plan.h"
#include "collectives/plan_runner.h"
#include "collectives/reduce/backend.h"

namespace weft {

struct ExecArgs {
  const void* input = nullptr;
  void* output = nullptr;
  void* scratch = nullptr;  // Plan::scratch_count elements
  weftDataType_t type = weftFloat32;
  weftRedOp_t op = weftSum;
  MemoryType mem = MemoryType::kHost;
  uint64_t seq = 0;  // the collective's number, for messages
  // Host outputs of at least this many bytes take their final results with streaming stores
  // where the plan marks them (Step::stream); 0: never (WEFT_STREAM_MIN_BYTES).
  size_t stream_min_bytes = 0;
  // The user's registered buffers: a one-copy plan posts these as shared memory its peers
  // map (null: none).
  const MemoryRegistry* registry = nullptr;
  // The communicator's one-shot scratch, for kOneShot steps (null: none).
  OneShotScratch* one_shot = nullptr;
};

class PlanExecutor : public PlanRunner {
 public:
  // Resolves the plan's links (making network links at their first use). `plan` and
  // `links` must outlive the run.
  Status Reset(const Plan* plan, const ExecArgs& args, LinkTable* links);

  Status Advance(bool* done) override;
  void CancelOutstanding() override { links_->CancelAll(); }
  bool Quiescent(bool receives_only = false) const override {
    return links_->Quiescent(receives_only);
  }
  bool NeedsPolling() const override;
  size_t StepsRun() const override { return steps_run_; }
  bool Sequential() const override { return true; }
  std::string Waiting() const override;
  void WaitForWork(int timeout_us) override;

 private:
  struct Endpoints {
    SendPort* send = nullptr;
    RecvPort* recv = nullptr;
  };
  // A peer's buffers as it posted them (kRecvAddress): [0] its input, [1] its output.
  struct PeerBuffers {
    PostedAddress posted[2];
    std::byte* mapped[2] = {nullptr, nullptr};  // here, where they are shared memory
    RecvPort* port = nullptr;                   // the link it posted them on
  };
  // Finds the port of every link of plan_ (links_, elem_size_ set), and whether it has a
  // one-shot step.
  Status ResolvePorts();
  std::byte* Ptr(const Region& r) const;
  // Runs the step if its message and a slot are there; *ran false otherwise.
  Status RunStep(const Step& st, bool* ran);
  // Does the step's work from the arrived message `in` into `out` (the outgoing slot; null
  // where the message leaves from the user's memory, whose address *user_data then holds).
  Status Compute(const Step& st, const std::byte* in, size_t in_bytes, std::byte* out,
                 const void** user_data);
  bool SendsInFlight() const;
  // The zero-copy steps (kRecvAddress, kReducePeer, kWritePeer).
  Status ComputePeerStep(const Step& st, const std::byte* in);
  // A kOneShot step, as far as the peers' lines have arrived; *ran once complete.
  Status RunOneShot(const Step& st, bool* ran);
  // Runs the next `anytime` step after the blocked one, if any; true if it ran one.
  Status RunAnytimeAhead(size_t c, bool* ran);
  uint64_t SendNumber(const Step& st) const;
  uint64_t RecvNumber(const Step& st) const;
  // The first unfinished step of the first unfinished channel, or null.
  const Step* Blocked() const;

  const Plan* plan_ = nullptr;
  ExecArgs args_;
  size_t elem_size_ = 0;
  LinkTable* links_ = nullptr;
  ReduceBackend* backend_ = nullptr;
  uint64_t resolved_serial_ = 0;    // the plan whose ports ports_ holds (Plan::serial; 0: none)
  bool stream_ = false;             // this call's output is large enough for streaming stores
  std::vector<Endpoints> ports_;    // per plan link
  std::vector<uint64_t> base_;      // per plan link: messages before this plan
  std::vector<size_t> next_;        // per channel: the next step to run
  std::vector<PeerBuffers> peers_;  // per rank: what it posted in this plan
  std::vector<std::vector<bool>> ran_early_;  // per channel and step: anytime steps done
  std::vector<size_t> anytime_cursor_;        // per channel: no unrun anytime step before it
  bool uses_shm_ = false;                     // a link of the plan is a shared-memory FIFO
  bool uses_net_ = false;                     // ... goes over the network
  bool one_shot_ = false;                     // a step runs the one-shot protocol
  proto::OneShotCursor one_shot_cursor_;      // where that step goes on
  bool one_shot_rung_ = false;                // this call's sleeping peers woken
  bool started_ = false;
  bool finished_ = false;
  size_t steps_run_ = 0;
};

}  // namespace weft
