#include "collectives/device_hierarchy.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/log.h"

namespace weft {
namespace {

std::byte* At(void* p, size_t bytes) {
  return static_cast<std::byte*>(p) + bytes;
}
const std::byte* At(const void* p, size_t bytes) {
  return static_cast<const std::byte*>(p) + bytes;
}

// "whose ranks 0, 1 are ranks 4, 5 here".
std::string RankMap(const std::vector<int>& members) {
  std::string theirs, ours;
  for (size_t i = 0; i < members.size(); ++i) {
    theirs += (i == 0 ? "" : ", ") + std::to_string(i);
    ours += (i == 0 ? "" : ", ") + std::to_string(members[i]);
  }
  return "whose ranks " + theirs + " are ranks " + ours + " here";
}

}  // namespace

Status DeviceHierarchy::Create(const AllGatherBytes& all_gather, const PlanShapes& shapes, int rank,
                               const Config& config, std::unique_ptr<DeviceHierarchy>* out) {
  WEFT_REQUIRE(shapes.hosts.size() > 1 && shapes.uniform_hosts(), weftInternalError,
               "a device hierarchy needs several hosts of as many ranks");
  const int host = shapes.host_of[static_cast<size_t>(rank)];
  const std::vector<int>& mine = shapes.hosts[static_cast<size_t>(host)];
  std::unique_ptr<DeviceHierarchy> h(new DeviceHierarchy());
  h->L_ = static_cast<int>(mine.size());
  h->index_ = static_cast<int>(std::find(mine.begin(), mine.end(), rank) - mine.begin());
  const int n = static_cast<int>(shapes.host_of.size());
  // Errors of a sub-communicator name its ranks: each says which of this one's they are.
  std::vector<int> rail;
  for (const std::vector<int>& other : shapes.hosts)
    rail.push_back(other[static_cast<size_t>(h->index_)]);
  h->local_name_ = Format("host %d's sub-communicator, %s", host, RankMap(mine).c_str());
  h->rail_name_ = Format("rail %d's sub-communicator, %s", h->index_, RankMap(rail).c_str());
  WEFT_CHECK(SplitComm(all_gather, n, rank, host, h->index_, config, &h->local_)
                 .WithContext(h->local_name_));
  WEFT_CHECK(SplitComm(all_gather, n, rank, h->index_, host, config, &h->rail_)
                 .WithContext(h->rail_name_));
  WEFT_INFO(kLogInit, "device hierarchy: rank %d is local rank %d of %d on host %d, rail %d", rank,
            h->index_, h->L_, host, h->index_);
  *out = std::move(h);
  return Status::Ok();
}

DeviceHierarchy::~DeviceHierarchy() {
  for (weftComm_t c : {rail_, local_})
    if (c != nullptr && weftCommDestroy(c) != weftSuccess)
      WEFT_WARN(kLogInit, "destroying a device hierarchy's communicator: %s",
                weftGetLastError(nullptr));
}

bool DeviceHierarchy::Serves(const PlanShapes& shapes, const CollArgs& a) {
  const bool builtin_op = a.op == weftSum || a.op == weftProd || a.op == weftMin || a.op == weftMax;
  return a.coll == CollType::kAllReduce && builtin_op && !a.premul && shapes.hosts.size() > 1 &&
         shapes.uniform_hosts() && shapes.hosts.front().size() > 1;
}

Status DeviceHierarchy::AllReduce(const CollArgs& a) {
  WEFT_REQUIRE(local_ != nullptr && rail_ != nullptr, weftInvalidUsage,
               "the device hierarchy was aborted");
  const size_t esz = TypeSize(a.type);
  const size_t shard = a.count / static_cast<size_t>(L_);
  const size_t main = shard * static_cast<size_t>(L_);
  const size_t mine = static_cast<size_t>(index_) * shard * esz;  // shard `index_`'s offset
  auto leg = [&](CollType coll, const void* send, void* recv, size_t count) {
    CollArgs l = a;
    l.coll = coll;
    l.send = send;
    l.recv = recv;
    l.count = count;
    return l;
  };
  if (shard > 0) {
    // In place where the caller's call is (reduce-scatter's recvbuff = sendbuff + l x count).
    WEFT_CHECK(Local(leg(CollType::kReduceScatter, a.send, At(a.recv, mine), shard)));
    WEFT_CHECK(Rail(leg(CollType::kAllReduce, At(a.recv, mine), At(a.recv, mine), shard)));
    WEFT_CHECK(Local(leg(CollType::kAllGather, At(a.recv, mine), a.recv, shard)));
  }
  if (main < a.count) {
    const size_t tail = a.count - main;
    void* at = At(a.recv, main * esz);
    WEFT_CHECK(Local(leg(CollType::kAllReduce, At(a.send, main * esz), at, tail)));
    WEFT_CHECK(Rail(leg(CollType::kAllReduce, at, at, tail)));
  }
  return Status::Ok();
}

Status DeviceHierarchy::Local(const CollArgs& leg) {
  return local_->impl->Submit({leg}).WithContext(local_name_);
}

Status DeviceHierarchy::Rail(const CollArgs& leg) {
  return rail_->impl->Submit({leg}).WithContext(rail_name_);
}

Status DeviceHierarchy::AsyncError() const {
  if (local_ != nullptr) WEFT_CHECK(local_->impl->AsyncError().WithContext(local_name_));
  if (rail_ != nullptr) WEFT_CHECK(rail_->impl->AsyncError().WithContext(rail_name_));
  return Status::Ok();
}

uint64_t DeviceHierarchy::HostReducedBytes() const {
  uint64_t bytes = 0;
  for (weftComm_t c : {local_, rail_})
    if (c != nullptr) bytes += c->impl->HostReducedBytes();
  return bytes;
}

void DeviceHierarchy::Abort() {
  for (weftComm_t* c : {&local_, &rail_}) {
    if (*c != nullptr) weftCommAbort(*c);
    *c = nullptr;
  }
}

void DeviceHierarchy::Revoke() {
  for (weftComm_t c : {local_, rail_})
    if (c != nullptr) c->impl->Revoke();
}

}  // namespace weft
