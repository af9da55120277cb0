#include "collectives/device/standin_ring.h"

#include <algorithm>

#include "collectives/device/proto/net_ring.h"
#include "collectives/reduce/host_formats.h"
#include "collectives/reduce/reduce_ops.h"

namespace weft {
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

int PositionOf(const std::vector<int>& ring, int rank) {
  return static_cast<int>(std::find(ring.begin(), ring.end(), rank) - ring.begin());
}

}  // namespace

StandInRingRunner::StandInRingRunner(NetProxy* proxy, const CollArgs& a, int rank,
                                     const std::vector<int>& ring, int64_t timeout_ms)
    : proxy_(proxy), type_(a.type), op_(a.op) {
  proxy_->KernelArgs(&args_);
  args_.coll = DeviceCollOf(a.coll);
  args_.pos = PositionOf(ring, rank);
  args_.nranks = static_cast<int>(ring.size());
  args_.root = PositionOf(ring, a.root);
  args_.ring = ring.data();
  args_.input = a.send;
  args_.output = a.recv;
  args_.count = a.count;
  args_.divisor = a.op == weftAvg ? args_.nranks : 0;
  args_.limits.timeout_ns = timeout_ms > 0 ? static_cast<uint64_t>(timeout_ms) * 1000000u : 0;
}

StandInRingRunner::~StandInRingRunner() {
  if (launched_ && !blocks_.empty()) {
    proxy_->Abort();  // a runner dropped mid-call (a failed batch): its blocks return now
    Join();
  }
}

void StandInRingRunner::Launch() {
  launched_ = true;
  const int channels = args_.channels;
  NetProxy* proxy = proxy_;
  proxy_->Start(
      [proxy, channels] { return proxy->BlocksFinished() == static_cast<uint32_t>(channels); });
  for (int c = 0; c < channels; ++c) {
    blocks_.emplace_back([this, c] {
      uint32_t shared = 0;
      const proto::WaitResult r = VisitHostFormat(type_, proto::WaitResult::kAborted, [&](auto f) {
        return VisitOp(op_, [&](auto o) {
          return proto::NetRing<typename decltype(f)::type, typename decltype(o)::type>(args_, c, 0,
                                                                                        1, &shared);
        });
      });
      if (r != proto::WaitResult::kReady)
        proto::StoreRelease(proxy_->kernel_status(), static_cast<uint32_t>(r));
      __atomic_fetch_add(proxy_->kernel_finished(), 1u, __ATOMIC_RELEASE);
    });
  }
}

void StandInRingRunner::Join() {
  for (std::thread& t : blocks_)
    t.join();
  blocks_.clear();
}

Status StandInRingRunner::Advance(bool* done) {
  *done = done_;
  if (done_) return Status::Ok();
  if (!launched_) Launch();
  Status s = proxy_->Advance(done);
  if (!s.ok()) {
    proxy_->Abort();
    Join();
    return s;
  }
  if (*done) {
    Join();
    done_ = true;
  }
  return Status::Ok();
}

void StandInRingRunner::CancelOutstanding() {
  proxy_->Abort();
  Join();
  proxy_->CancelOutstanding();
}

bool StandInRingRunner::Quiescent(bool) const {
  // The call's buffers are touched by its blocks only; what the proxy still has posted
  // (receives ahead for the next call, a send cut off) touches its own slots, which live
  // as long as it does.
  return blocks_.empty();
}

}  // namespace weft
