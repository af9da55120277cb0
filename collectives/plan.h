// A Plan: what one rank does for one collective, as data. Per channel, an ordered list of
// steps; each step receives at most one message and sends at most one, each over a link the
// plan names (a one-way connection to a peer on the step's channel). Built by pure functions
// (algorithms/), run by the PlanExecutor over whatever carries each link, checked without a
// network by running the plans of N virtual ranks over the loopback transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collectives/collective.h"
#include "common/status.h"
#include "transport/link.h"
#include "weft/weft.h"

namespace weft {

enum class StepKind : uint8_t {
  kSend,                // send src
  kRecv,                // receive into dst
  kRecvCopySend,        // receive into dst, send dst
  kRecvReduceSend,      // receive into staging, staging op= src, send staging
  kRecvReduceCopy,      // receive into staging, dst = staging op src
  kRecvReduceCopySend,  // receive into staging, dst = staging op src, send dst
  kCopy,                // dst = src
  // One-copy steps (shared FIFOs only: the messages are small control words, the data is
  // read straight from the peer's buffer with process_vm_readv):
  kPostAddress,  // send where src is in this process (for the peer to read it)
  kReadPeer,     // receive the peer's posted address, read count elements from it into dst
  kSignal,       // send "done with your buffer"
  kWaitSignal,   // receive the peer's "done with your buffer"
  // Zero-copy steps: the peer's posted buffers, mapped where they are shared memory
  // (weftMemAlloc), are read and written in place; process_vm_readv/writev otherwise.
  kRecvAddress,  // receive the peer's posted address of its buffer `peer_mem.buf`, keep it
  kReducePeer,   // dst = src op the peer's peer_mem (and, with peer_write, into the peer's
                 // output at peer_mem.offset too)
  kWritePeer,    // the peer's peer_mem = src
  // A one-shot LL collective (algorithms/one_shot.h), ranks of one host: what each peer
  // needs of src, as LL lines, into this rank's slot of its scratch (mapped at init:
  // ExecArgs::one_shot), then dst from the lines the peers stored here (Plan::coll says
  // how; `count` is one block). No link and no message of the plan's.
  kOneShot,
};
const char* StepKindName(StepKind k);

inline bool StepReceives(StepKind k) {
  return k == StepKind::kRecv || k == StepKind::kRecvCopySend || k == StepKind::kRecvReduceSend ||
         k == StepKind::kRecvReduceCopy || k == StepKind::kRecvReduceCopySend ||
         k == StepKind::kReadPeer || k == StepKind::kWaitSignal || k == StepKind::kRecvAddress;
}
inline bool StepSends(StepKind k) {
  return k == StepKind::kSend || k == StepKind::kRecvCopySend || k == StepKind::kRecvReduceSend ||
         k == StepKind::kRecvReduceCopySend || k == StepKind::kPostAddress ||
         k == StepKind::kSignal;
}
// Steps whose messages carry a control word (PostedAddress or nothing), not data.
inline bool StepIsOneCopy(StepKind k) {
  return k == StepKind::kPostAddress || k == StepKind::kReadPeer || k == StepKind::kSignal ||
         k == StepKind::kWaitSignal || k == StepKind::kRecvAddress;
}
// Steps that work on a peer's posted buffer without a message of their own.
inline bool StepTouchesPeer(StepKind k) {
  return k == StepKind::kReducePeer || k == StepKind::kWritePeer;
}

inline bool StepReduces(StepKind k) {
  return k == StepKind::kRecvReduceSend || k == StepKind::kRecvReduceCopy ||
         k == StepKind::kRecvReduceCopySend;
}

// kScratch: memory the runner provides for the call (Plan::scratch_count elements), where a
// rank keeps partial results that neither user buffer may hold.
enum class BufferId : uint8_t { kNone, kInput, kOutput, kScratch };

// `count` elements at element `offset` of a user buffer.
struct Region {
  BufferId buf = BufferId::kNone;
  size_t offset = 0;
  size_t count = 0;
};

struct Step {
  StepKind kind = StepKind::kCopy;
  int send_peer = -1;
  int recv_peer = -1;
  Region src;              // data sent (kSend), reduced with (kRecvReduce*) or copied (kCopy)
  Region dst;              // where the result lands
  size_t count = 0;        // elements moved by this step
  uint32_t send_msg = 0;   // index of this message among those to send_peer (channel-wide)
  uint32_t recv_msg = 0;   // index among those from recv_peer
  int32_t send_link = -1;  // index into Plan::links (NumberMessages fills it)
  int32_t recv_link = -1;
  bool finalize = false;  // dst now holds the final reduced value: apply weftAvg's divide
  bool anytime = false;   // a local copy nothing else touches: the runner may do it early,
                          // while the ring keeps it waiting
  bool stream = false;    // dst is output no later step of the channel reads: for a large
                          // output the runner may write it around the caches
  bool fence = false;     // the step overwrites memory an earlier send of the channel reads:
                          // a runner that sends from user memory waits for those sends first
                          // (the PlanExecutor copies every message into its link: no wait)
  // Zero-copy steps: whose posted buffer (kInput: the one it posted first, its input;
  // kOutput: its output) and which elements of it.
  int mem_peer = -1;
  Region peer_mem;
  bool peer_write = false;  // kReducePeer: the result goes to the peer's output as well
};

// A step moving src.count (or, without src, dst.count) elements.
Step MakeStep(StepKind kind, int send_peer, int recv_peer, Region src, Region dst);

struct ChannelPlan {
  std::vector<Step> steps;
  // Appends MakeStep(...) and returns it, for the builder to set flags on.
  Step* Add(StepKind kind, int send_peer, int recv_peer, Region src, Region dst) {
    steps.push_back(MakeStep(kind, send_peer, recv_peer, src, dst));
    return &steps.back();
  }
};

// A one-way connection a plan uses: to (send) or from `peer`, on `channel`.
struct PlanLink {
  int channel = 0;
  int peer = -1;
  bool send = true;
  uint32_t messages = 0;  // how many this plan moves on it
  size_t max_elems = 0;   // the largest (elements)
  bool control = false;   // carries one-copy control words, not data
};

struct Plan {
  // Set by the router, unique per communicator: a runner that saw this serial before may
  // keep the ports it resolved for it (0: never reuse).
  uint64_t serial = 0;
  CollType coll = CollType::kAllReduce;
  int root = 0;  // broadcast and reduce (the one-shot step reads it; other plans name peers)
  int rank = 0;
  int nranks = 1;
  size_t input_count = 0;    // elements the input buffer must hold
  size_t output_count = 0;   // elements the output buffer must hold
  size_t scratch_count = 0;  // elements of scratch memory the runner must provide
  std::vector<ChannelPlan> channels;
  std::vector<PlanLink> links;  // every link a step names

  // A plan with its header filled and `nchannels` empty channels, for the builders.
  static Plan Empty(CollType coll, int rank, int nranks, size_t input_count, size_t output_count,
                    int nchannels);

  size_t StepCount() const;
  std::string Describe() const;  // one line per step, for logs and test failures
};

// How to cut the work: channels run in parallel, chunks pipeline each channel.
struct Chunking {
  int nchannels = 1;
  size_t chunk_elems = 1 << 16;  // elements per message (>= 1)
};

// Fills send_msg/recv_msg by counting messages per link in step order, and the plan's links
// (with each step's index into them); checks that no link carries more messages than a plan
// may number. Then marks the results nothing reads again (MarkStreamedResults). Every
// builder ends with it.
Status NumberMessages(Plan* plan);
// Sets Step::stream on each reducing step whose dst is output that no later step of its
// channel reads (channels work on disjoint slices).
void MarkStreamedResults(Plan* plan);
// The largest message of the plan on a link of `elem_size`-byte elements, in bytes.
size_t LinkMessageBytes(const PlanLink& link, size_t elem_size);

}  // namespace weft
