#include "collectives/device/net_proxy.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "collectives/device/proto/mem_ops.h"
#include "common/keep_for_life.h"
#include "common/log.h"
#include "transport/drain.h"

namespace weft {

Status AllocateHostRegion(size_t bytes, SharedRegion* out) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  WEFT_REQUIRE(p != nullptr, weftSystemError, "cannot allocate %zu bytes for the proxy's FIFOs",
               rounded);
  std::memset(p, 0, rounded);
  out->host = p;
  out->device = p;
  out->free = [](void* q) { std::free(q); };
  return Status::Ok();
}

NetProxy::NetProxy(Transport* transport, const NetProxyOptions& options)
    : transport_(transport), options_(options) {}

NetProxy::~NetProxy() {
  // The receives posted ahead (and any send cut off) end before their slots go.
  CancelOutstanding();
  const bool drained = DrainBeforeFree(
      transport_, [this] { return Quiescent(); }, "the proxy's FIFOs");
  if (keep_memory_ || !drained) {
    if (drained)
      WEFT_WARN(kLogNet, "leaving the proxy's FIFOs allocated: kernels still queued may read them");
    KeepForLife(std::move(channels_));
    KeepForLife(std::move(region_));
    return;
  }
  channels_.clear();
  if (region_.host != nullptr && region_.free) region_.free(region_.host);
}

Status NetProxy::Create(Transport* transport, const NetProxyOptions& options,
                        std::unique_ptr<NetProxy>* out) {
  WEFT_REQUIRE(options.channels >= 1 && options.channels <= proto::kNetRingMaxChannels,
               weftInvalidArgument, "the proxy serves 1 to %d channels, not %d",
               proto::kNetRingMaxChannels, options.channels);
  WEFT_REQUIRE(options.shape.nslots >= 2 && options.shape.slot_bytes >= proto::kNetRingMinSlotBytes,
               weftInvalidArgument,
               "the proxy's FIFOs need at least 2 slots of %zu bytes (given %d of %zu)",
               proto::kNetRingMinSlotBytes, options.shape.nslots, options.shape.slot_bytes);
  WEFT_REQUIRE(options.first_tag_channel >= 0 && options.first_tag_channel + options.channels <=
                                                     static_cast<int>(kMaxCollectiveChannels),
               weftInvalidArgument, "the proxy's tag channels %d..%d are out of range",
               options.first_tag_channel, options.first_tag_channel + options.channels - 1);
  const auto at = std::find(options.ring.begin(), options.ring.end(), options.rank);
  WEFT_REQUIRE(at != options.ring.end(), weftInvalidArgument,
               "rank %d is not on the proxy's ring of %zu ranks", options.rank,
               options.ring.size());
  std::unique_ptr<NetProxy> p(new NetProxy(transport, options));
  const int n = static_cast<int>(options.ring.size());
  p->pos_ = static_cast<int>(at - options.ring.begin());
  p->prev_ = options.ring[static_cast<size_t>((p->pos_ + n - 1) % n)];
  p->next_ = options.ring[static_cast<size_t>((p->pos_ + 1) % n)];
  WEFT_CHECK(p->Build());
  *out = std::move(p);
  return Status::Ok();
}

// The next `bytes` of the region, on a cache line; *device is the kernel's address of it.
// Before the region exists (LayOut's measuring pass) it only counts, and returns nulls.
void* NetProxy::Carve(size_t bytes, void** device) {
  const size_t at = region_used_;
  region_used_ += (bytes + 63) / 64 * 64;
  if (region_.host == nullptr) {
    if (device != nullptr) *device = nullptr;
    return nullptr;
  }
  if (device != nullptr) *device = region_dev_ + at;
  return static_cast<unsigned char*>(region_.host) + at;
}

// Words, the ring, the kernel's counters, the FIFOs' descriptors, then per channel and
// direction: counters, sizes, slots. Run once to measure the region, once to place it.
void NetProxy::LayOut() {
  const auto nslots = static_cast<size_t>(options_.shape.nslots);
  const auto channels = static_cast<size_t>(options_.channels);
  region_used_ = 0;
  void* dev = nullptr;
  words_ = static_cast<Words*>(Carve(sizeof(Words), &dev));
  words_dev_ = static_cast<Words*>(dev);
  ring_ = static_cast<int*>(Carve(options_.ring.size() * sizeof(int), &dev));
  ring_dev_ = static_cast<const int*>(dev);
  Carve(2 * channels * sizeof(uint64_t), &dev);
  counts_dev_ = static_cast<uint64_t*>(dev);
  // The FIFOs' descriptors as the kernel reads them: send FIFOs by channel, then receive.
  fifos_ = static_cast<proto::NetFifo*>(Carve(2 * channels * sizeof(proto::NetFifo), &dev));
  fifos_dev_ = static_cast<proto::NetFifo*>(dev);
  channels_.resize(channels);
  for (Channel& ch : channels_) {
    for (int dir = 0; dir < 2; ++dir) {
      proto::NetFifo& f = dir == 0 ? ch.send : ch.recv;
      proto::NetFifo& d = dir == 0 ? ch.send_dev : ch.recv_dev;
      f.slot_bytes = d.slot_bytes = options_.shape.slot_bytes;
      f.nslots = d.nslots = static_cast<uint32_t>(nslots);
      f.counters =
          static_cast<proto::NetFifoCounters*>(Carve(sizeof(proto::NetFifoCounters), &dev));
      d.counters = static_cast<proto::NetFifoCounters*>(dev);
      f.sizes = static_cast<uint64_t*>(Carve(nslots * sizeof(uint64_t), &dev));
      d.sizes = static_cast<uint64_t*>(dev);
      f.slots = static_cast<unsigned char*>(
          Carve(nslots * proto::NetSlotStride(options_.shape.slot_bytes), &dev));
      d.slots = static_cast<unsigned char*>(dev);
    }
  }
}

Status NetProxy::Build() {
  LayOut();  // measures
  WEFT_CHECK(options_.allocate(region_used_, &region_));
  region_dev_ = static_cast<unsigned char*>(region_.device);
  LayOut();  // places
  std::copy(options_.ring.begin(), options_.ring.end(), ring_);
  const size_t channels = channels_.size();
  for (size_t c = 0; c < channels; ++c) {
    Channel& ch = channels_[c];
    fifos_[c] = ch.send_dev;
    fifos_[channels + c] = ch.recv_dev;
    const int tag_channel = options_.first_tag_channel + static_cast<int>(c);
    ch.tx = std::make_unique<NetSendPort>(transport_, next_, tag_channel, options_.shape,
                                          reinterpret_cast<std::byte*>(ch.send.slots));
    WEFT_CHECK(NetRecvPort::Create(transport_, prev_, tag_channel, options_.shape, &ch.rx,
                                   reinterpret_cast<std::byte*>(ch.recv.slots)));
  }
  return Status::Ok();
}

namespace {

proto::DeviceColl DeviceCollOf(CollType c) {
  switch (c) {
    case CollType::kAllGather:
      return proto::DeviceColl::kAllGather;
    case CollType::kReduceScatter:
      return proto::DeviceColl::kReduceScatter;
    case CollType::kBroadcast:
      return proto::DeviceColl::kBroadcast;
    case CollType::kReduce:
      return proto::DeviceColl::kReduce;
    default:
      return proto::DeviceColl::kAllReduce;
  }
}

}  // namespace

proto::NetRingArgs NetProxy::KernelArgs(const CollArgs& a, int64_t timeout_ms) const {
  const std::vector<int>& ring = options_.ring;
  proto::NetRingArgs k;
  k.coll = DeviceCollOf(a.coll);
  k.pos = pos_;
  k.nranks = static_cast<int>(ring.size());
  k.root = static_cast<int>(std::find(ring.begin(), ring.end(), a.root) - ring.begin());
  k.ring = ring_dev_;
  k.input = a.send;
  k.output = a.recv;
  k.count = a.count;
  k.divisor = a.op == weftAvg ? k.nranks : 0;
  k.channels = options_.channels;
  k.send = fifos_dev_;
  k.recv = fifos_dev_ + options_.channels;
  k.sent = counts_dev_;
  k.received = counts_dev_ + options_.channels;
  k.limits.abort_flag = &words_dev_->abort;
  k.limits.timeout_ns = timeout_ms > 0 ? static_cast<uint64_t>(timeout_ms) * 1000000u : 0;
  k.stuck_source = &words_dev_->stuck;
  return k;
}

void NetProxy::Start() {
  started_ = true;
  blocks_target_ += static_cast<uint32_t>(options_.channels);
  proto::StoreRelease(&words_->status, 0u);
  proto::StoreRelease(&words_->stuck, 0u);
}

uint32_t NetProxy::BlocksFinished() const {
  return proto::LoadAcquire(&words_->finished);
}

int NetProxy::StuckPeer() const {
  return static_cast<int>(proto::LoadAcquire(&words_->stuck)) - 1;
}

void NetProxy::Abort() {
  proto::StoreRelease(&words_->abort, 1u);
}

Status NetProxy::Advance(bool* done) {
  *done = false;
  for (Channel& ch : channels_) {
    // Messages the kernel wrote go to the wire, straight from their slots.
    const uint64_t written = proto::LoadAcquire(&ch.send.counters->head);
    for (; ch.posted < written; ++ch.posted, ++moved_, ++moved_sent_) {
      std::byte* slot = nullptr;
      WEFT_CHECK(ch.tx->Slot(ch.posted, &slot));
      WEFT_REQUIRE(slot != nullptr, weftInternalError,
                   "the kernel wrote message %llu to rank %d into a slot still on its way",
                   static_cast<unsigned long long>(ch.posted), next_);
      WEFT_CHECK(ch.tx->Post(ch.posted, proto::NetFifoBytes(ch.send, ch.posted)));
    }
    // A slot whose message has left may take message n + nslots: that is the link's own
    // question (Slot of n + nslots is non-null once message n has left), and the FIFO's tail.
    const uint64_t nslots = ch.send.nslots;
    while (ch.credited < ch.posted) {
      std::byte* slot = nullptr;
      WEFT_CHECK(ch.tx->Slot(ch.credited + nslots, &slot));
      if (slot == nullptr) break;
      proto::NetFifoRelease(ch.send, ch.credited++);
    }
    // Messages that arrived are the kernel's to read; the slots it is done with take the
    // next ones. (The link has a receive posted for messages up to released + nslots only.)
    while (ch.arrived < ch.released + nslots) {
      const std::byte* data = nullptr;
      size_t bytes = 0;
      WEFT_CHECK(ch.rx->Data(ch.arrived, &data, &bytes));
      if (data == nullptr) break;
      proto::NetFifoPost(ch.recv, ch.arrived++, bytes);
      ++moved_;
      ++moved_received_;
    }
    const uint64_t read = proto::LoadAcquire(&ch.recv.counters->tail);
    for (; ch.released < read; ++ch.released)
      WEFT_CHECK(ch.rx->Release(ch.released));
  }
  // Every block of the call has returned (counts wrap; the difference does not).
  if (!started_ || static_cast<int32_t>(BlocksFinished() - blocks_target_) < 0) return Status::Ok();
  const uint32_t status = proto::LoadAcquire(&words_->status);
  if (status != 0) {
    const int peer = StuckPeer();
    const auto why = static_cast<proto::WaitResult>(status);
    const char* what = why == proto::WaitResult::kAborted ? "was aborted" : "timed out";
    if (peer >= 0)
      return Status(why == proto::WaitResult::kAborted ? weftRemoteError : weftTimeout,
                    Format("the kernel %s waiting for rank %d", what, peer));
    return Status(weftInternalError, Format("the kernel %s", what));
  }
  for (const Channel& ch : channels_) {
    if (ch.posted < proto::LoadAcquire(&ch.send.counters->head) || ch.tx->InFlight())
      return Status::Ok();
  }
  started_ = false;
  *done = true;
  return Status::Ok();
}

void NetProxy::CancelOutstanding() {
  Abort();
  for (Channel& ch : channels_) {
    ch.tx->Cancel();
    ch.rx->Cancel();
  }
}

bool NetProxy::Quiescent(bool receives_only) const {
  for (const Channel& ch : channels_) {
    if (!ch.rx->Quiescent()) return false;
    if (!receives_only && !ch.tx->Quiescent()) return false;
  }
  return true;
}

std::string NetProxy::Waiting() const {
  std::string s;
  for (size_t c = 0; c < channels_.size(); ++c) {
    const Channel& ch = channels_[c];
    s += Format(
        "%schannel %zu: %llu messages to rank %d posted (%llu of them sent), %llu arrived "
        "from rank %d",
        c == 0 ? "" : "; ", c, static_cast<unsigned long long>(ch.posted), next_,
        static_cast<unsigned long long>(ch.credited), static_cast<unsigned long long>(ch.arrived),
        prev_);
  }
  return s;
}

}  // namespace weft
