// Runs one batch of point-to-point sends and receives (a group's weftSend/weftRecv calls on
// one communicator) over the transport, without blocking, for the communicator's drive loop.
// Every operation is posted at the first Advance (receives first), so a group whose sends
// and receives pair up across ranks in any order cannot deadlock. Messages carry their own
// tag space (kP2PChannel) with a sequence per ordered pair of ranks, so they never meet a
// collective's messages, and the k-th send from a to b meets the k-th receive at b from a.
// A rank's send to itself whose receive is in the same batch is a memcpy, done at the first
// Advance (all-to-all sends every rank its own block; through the transport's loopback it
// costs a rendezvous and a second progress pass). A self send whose receive comes in a
// later batch still goes through the transport, as it must.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectives/plan_runner.h"
#include "transport/transport.h"

namespace weft {

// The collectives' channels are below it.
constexpr uint32_t kP2PChannel = kMaxCollectiveChannels;

// The tag of the `seq`-th message from `src` to one peer: the low 16 bits of the sequence
// in the tag's sequence field, the next 22 in its message field.
uint64_t P2PTag(uint64_t seq, int src);

struct P2POp {
  bool send = true;
  void* buf = nullptr;
  size_t bytes = 0;
  int peer = 0;
  uint64_t seq = 0;  // this message's place among those between this rank and peer
};

class P2PRunner : public PlanRunner {
 public:
  // Takes the batch in *ops, and leaves the previous batch there (vectors keep their
  // memory from call to call: a group is often one send and one receive, issued millions
  // of times).
  void Reset(Transport* transport, MemoryType mem, std::vector<P2POp>* ops);

  Status Advance(bool* done) override;
  void CancelOutstanding() override;
  bool Quiescent(bool receives_only = false) const override;
  bool NeedsPolling() const override;
  size_t StepsRun() const override { return completed_; }
  std::string Waiting() const override;

 private:
  void PairSelfMessages();
  Status CopySelfMessages();

  Transport* transport_ = nullptr;
  MemoryType mem_ = MemoryType::kHost;
  std::vector<P2POp> ops_;
  std::vector<Completion> completions_;  // one per op, never reallocated once posted
  std::vector<bool> posted_;
  // For a self send copied locally, the index of its receive; kNotLocal otherwise (and for
  // every receive).
  static constexpr size_t kNotLocal = static_cast<size_t>(-1);
  std::vector<size_t> local_receive_;
  std::vector<bool> local_;  // op done by a local copy (a self send or its receive)
  bool started_ = false;
  size_t completed_ = 0;
};

}  // namespace weft
