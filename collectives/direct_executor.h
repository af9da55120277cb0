// DirectExecutor: runs a Plan between ranks of one host through shared-memory FIFOs,
// NCCL-style: a step writes its result straight into the receiver's FIFO slot (a reduce
// or a copy), and reads what the sender wrote into its own. No transport messages, no
// staging copies: one pass over the data per step. The FIFOs are memory UCX allocates and
// maps into the peers (see UcxTransport::AllocateShared); which pairs of ranks have one is
// DirectLinkMap's (direct_links.h): ring neighbours, tree edges, recursive-doubling pairs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectives/executor.h"
#include "collectives/plan.h"
#include "collectives/plan_runner.h"

namespace weft {

// The control words of one FIFO, each side's on its own cache line. The receiver owns the
// FIFO; the sender maps it. Counters are cumulative over the communicator's life. A side
// that waits long sleeps on the other side's counter (a futex on its low 32 bits, shared
// between processes) after raising its `waiting` flag; the other side wakes it when it
// moves the counter and sees the flag.
struct FifoHeader {
  alignas(64) uint64_t head;  // messages the sender has published (written by the sender)
  uint32_t head_waiting;      // the receiver sleeps on `head` (written by the receiver)
  alignas(64) uint64_t tail;  // messages the receiver has consumed (written by the receiver)
  uint32_t tail_waiting;      // the sender sleeps on `tail` (written by the sender)
};

struct FifoView {
  FifoHeader* header = nullptr;
  std::byte* slots = nullptr;
  size_t slot_bytes = 0;
  int nslots = 0;
};

// Bytes one FIFO needs in a shared region.
size_t FifoBytes(size_t slot_bytes, int nslots);
// Lays a FIFO out at `base` (64-byte aligned).
FifoView FifoAt(void* base, size_t slot_bytes, int nslots);

// A FIFO to or from one peer, and how many messages it has carried before this collective.
struct FifoLink {
  int peer = -1;
  FifoView fifo;
  uint64_t messages = 0;
};

// One channel's FIFOs: those I read (mine, each written by one peer) and those I write
// (the peers'). A handful each, so a linear search finds a peer's.
struct DirectChannel {
  std::vector<FifoLink> in;
  std::vector<FifoLink> out;

  FifoLink* In(int peer) { return Find(&in, peer); }
  FifoLink* Out(int peer) { return Find(&out, peer); }
  const FifoLink* In(int peer) const { return Find(&in, peer); }
  const FifoLink* Out(int peer) const { return Find(&out, peer); }

 private:
  template <typename V>
  static auto Find(V* links, int peer) -> decltype(&(*links)[0]) {
    for (auto& l : *links)
      if (l.peer == peer) return &l;
    return nullptr;
  }
};

class DirectExecutor : public PlanRunner {
 public:
  // `channels` are the communicator's; on completion their counters move past this plan.
  void Reset(const Plan* plan, const ExecArgs& args, DirectChannel* channels);

  Status Advance(bool* done) override;
  void CancelOutstanding() override {}
  bool Quiescent(bool = false) const override { return true; }
  bool NeedsPolling() const override { return true; }
  size_t StepsRun() const override { return steps_run_; }
  bool Sequential() const override { return true; }
  std::string Waiting() const override;
  void WaitForWork(int timeout_us) override;

  // True if every message of `plan` has a FIFO in `channels` and fits its slots.
  static bool CanRun(const Plan& plan, const std::vector<DirectChannel>& channels,
                     weftDataType_t type);

 private:
  std::byte* Ptr(const Region& r) const;
  bool RunStep(int c, const Step& st);  // false: not ready yet
  // Runs the next `anytime` step after the blocked one, if any; true if it ran one.
  bool RunAnytimeAhead(int c);

  const Plan* plan_ = nullptr;
  ExecArgs args_;
  size_t elem_size_ = 0;
  DirectChannel* channels_ = nullptr;
  std::vector<size_t> next_;                  // per channel: the next step to run
  std::vector<std::vector<bool>> ran_early_;  // per channel and step: anytime steps done
  std::vector<size_t> anytime_cursor_;        // per channel: no unrun anytime step before it
  bool finished_ = false;
  size_t steps_run_ = 0;
  Status error_;  // a one-copy read failed
};

// Copies `bytes` from `address` in process `pid` (process_vm_readv: same user, and ptrace
// allowed between the two, as between ranks launched together without Yama's restrictions).
Status ReadFromProcess(int pid, uint64_t address, void* to, size_t bytes);

}  // namespace weft
