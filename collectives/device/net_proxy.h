// The network proxy of the device path across hosts (NCCL's proxy thread): per channel, a
// send FIFO to the next rank of the ring and a receive FIFO from the previous one, in memory
// the kernel and the proxy both see; the kernel does all the arithmetic (proto/net_ring.h),
// the proxy only hands filled slots to the transport and marks arrivals. The slots are the
// network links' own memory (transport/net_link.h over the caller's slots), so a message
// goes from the kernel's store to the wire with no copy on the host, and nothing on the host
// reads device data: the proxy's reduced-bytes count is zero by construction.
//
// A NetProxy is a PlanRunner: whoever drives the transport (the communicator's drive loop,
// a test's) calls Advance until the kernel has finished and its last messages have left.
// FIFOs and counters live for the proxy's life, so calls follow one another with no
// handshake. Where the transport fails, Advance returns the error; the driver then raises
// the abort flag (Abort) and every wait of the kernel returns.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectives/coll_args.h"
#include "collectives/device/proto/net_ring.h"
#include "collectives/plan_runner.h"
#include "transport/net_link.h"
#include "transport/transport.h"

namespace weft {

// Memory the kernel and the proxy share: ordinary host memory for CPU threads standing in
// for the kernel, pinned host memory mapped into the device for a GPU. Zeroed.
struct SharedRegion {
  void* host = nullptr;    // as the proxy reaches it
  void* device = nullptr;  // as the kernel reaches it (the same address on the CPU)
  std::function<void(void*)> free;
};
using RegionAllocator = std::function<Status(size_t bytes, SharedRegion* out)>;
// Ordinary host memory, 64-byte aligned (CI's kernels are CPU threads).
Status AllocateHostRegion(size_t bytes, SharedRegion* out);

// The transport's tag channels a communicator's proxy uses: past every plan's (WEFT_NCHANNELS
// is at most 32) and below point-to-point's.
constexpr int kProxyFirstTagChannel = 40;

struct NetProxyOptions {
  // The ring (every rank once; data flows along it), copied where the kernel reads it, and
  // this rank on it: it receives from the rank before and sends to the one after.
  std::vector<int> ring;
  int rank = 0;
  int channels = 1;
  // The transport's tag channels its connections use: first_tag_channel + c for channel c.
  // They must carry nothing else between these ranks.
  int first_tag_channel = 0;
  NetLinkShape shape;  // slots per FIFO and their size (at least kNetRingMinSlotBytes)
  RegionAllocator allocate = AllocateHostRegion;
};

class NetProxy final : public PlanRunner {
 public:
  static Status Create(Transport* transport, const NetProxyOptions& options,
                       std::unique_ptr<NetProxy>* out);
  ~NetProxy() override;
  NetProxy(const NetProxy&) = delete;
  NetProxy& operator=(const NetProxy&) = delete;

  // The kernel's arguments for this rank's call `a` (a collective of the five the ring
  // serves): the FIFOs, its counters, the ring, the abort flag and the stuck-peer word as
  // the kernel reaches them, and the call. `timeout_ms` bounds each wait of the kernel
  // (0: none).
  proto::NetRingArgs KernelArgs(const CollArgs& a, int64_t timeout_ms) const;
  int prev() const { return prev_; }
  int next() const { return next_; }
  // The next call's kernel (options.channels blocks) was launched, or will be: the proxy is
  // done with the call once those blocks have returned and its sends have left. Calls start
  // in the order their kernels run; nothing is reset between them, so a GPU may run calls
  // queued on a stream back to back while the proxy serves them one by one.
  void Start();
  // The kernel's outcome word, as it reaches it: 0, or the proto::WaitResult of a wait that
  // gave up; its count of blocks that returned over the proxy's life (LaunchNetRing's
  // `finished`, which BlocksFinished reads); and the rank a wait gave up on (-1: none).
  uint32_t* kernel_status() const { return &words_dev_->status; }
  uint32_t* kernel_finished() const { return &words_dev_->finished; }
  uint32_t BlocksFinished() const;
  int StuckPeer() const;
  // Every wait of the kernel gives up (a failure found by the driver, an abort).
  void Abort();
  // Kernels queued on a stream that has not run yet may still reach the FIFOs: the proxy's
  // memory outlives it (they return at once, having seen the abort flag).
  void KeepMemory() { keep_memory_ = true; }

  Status Advance(bool* done) override;
  void CancelOutstanding() override;
  bool Quiescent(bool receives_only = false) const override;
  bool NeedsPolling() const override { return true; }  // the kernel raises no event
  size_t StepsRun() const override { return moved_; }
  std::string Waiting() const override;

  // Messages handed to the transport and marked arrived so far (over the proxy's life).
  uint64_t messages_sent() const { return moved_sent_; }
  uint64_t messages_received() const { return moved_received_; }

 private:
  // The words the kernel and the proxy share besides the FIFOs: one cache line each.
  struct Words {
    alignas(64) uint32_t abort;
    alignas(64) uint32_t status;
    alignas(64) uint32_t finished;
    alignas(64) uint32_t stuck;  // 1 + the rank a wait of the kernel gave up on
  };
  struct Channel {
    proto::NetFifo send, recv;          // as the proxy reaches them
    proto::NetFifo send_dev, recv_dev;  // as the kernel does
    std::unique_ptr<NetSendPort> tx;
    std::unique_ptr<NetRecvPort> rx;
    uint64_t posted = 0;    // messages of the send FIFO handed to the transport
    uint64_t credited = 0;  // of those, the ones that left (the send FIFO's tail)
    uint64_t arrived = 0;   // messages of the receive FIFO marked arrived (its head)
    uint64_t released = 0;  // of those, slots handed back to the link for the next ones
  };
  NetProxy(Transport* transport, const NetProxyOptions& options);
  Status Build();
  void LayOut();
  void* Carve(size_t bytes, void** device);

  Transport* transport_;
  NetProxyOptions options_;
  int pos_ = 0, prev_ = -1, next_ = -1;  // on the ring
  int* ring_ = nullptr;                  // the ring in the region (proxy's view)
  const int* ring_dev_ = nullptr;        // the ring as the kernel reads it
  SharedRegion region_;
  size_t region_used_ = 0;
  unsigned char* region_dev_ = nullptr;
  Words* words_ = nullptr;               // proxy's view
  Words* words_dev_ = nullptr;           // kernel's view
  uint64_t* counts_dev_ = nullptr;       // the kernel's sent/received per channel (its view)
  proto::NetFifo* fifos_ = nullptr;      // the FIFOs' descriptors (proxy's view)
  proto::NetFifo* fifos_dev_ = nullptr;  // and the kernel's
  std::vector<Channel> channels_;
  bool started_ = false;  // a call is in progress
  bool keep_memory_ = false;
  uint32_t blocks_target_ = 0;  // the returned-blocks count that ends it (wraps)
  size_t moved_ = 0;
  uint64_t moved_sent_ = 0, moved_received_ = 0;
};

}  // namespace weft
