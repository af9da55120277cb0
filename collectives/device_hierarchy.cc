#include "collectives/device_hierarchy.h"

#include <algorithm>
#include <string>
#include <vector>

#include "collectives/cost_model.h"
#include "common/byte_offset.h"
#include "common/dtype.h"
#include "common/log.h"

namespace weft {
namespace {

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

// Rail l's ranks, in host order, are chunks l x H ... l x H + H - 1 of the rail-major order.
std::vector<DeviceHierarchy::ChunkRun> DeviceHierarchy::RailMajorRuns(const PlanShapes& shapes) {
  const size_t H = shapes.hosts.size();
  const size_t L = shapes.hosts.front().size();
  std::vector<ChunkRun> runs;
  for (size_t l = 0; l < L; ++l) {
    std::vector<size_t> ranks;
    for (const std::vector<int>& host : shapes.hosts)
      ranks.push_back(static_cast<size_t>(host[l]));
    bool even = ranks[1] > ranks[0];
    for (size_t h = 1; even && h < H; ++h)
      even = ranks[h] - ranks[h - 1] == ranks[1] - ranks[0];
    if (even) {
      runs.push_back({l * H, ranks[0], ranks[1] - ranks[0], H});
    } else {
      for (size_t h = 0; h < H; ++h)
        runs.push_back({l * H + h, ranks[h], 1, 1});
    }
  }
  return runs;
}

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
  h->H_ = static_cast<int>(shapes.hosts.size());
  h->rank_ = rank;
  h->piece_bytes_ = config.device_hier_piece;
  h->host_ = host;
  h->host_of_ = shapes.host_of;
  h->index_of_.assign(shapes.host_of.size(), 0);
  for (const std::vector<int>& ranks : shapes.hosts)
    for (size_t i = 0; i < ranks.size(); ++i)
      h->index_of_[static_cast<size_t>(ranks[i])] = static_cast<int>(i);
  h->runs_ = RailMajorRuns(shapes);
  h->rail_major_ = std::all_of(h->runs_.begin(), h->runs_.end(), [](const ChunkRun& r) {
    return r.scratch == r.user && (r.stride == 1 || r.rows == 1);
  });
  h->local_name_ = Format("host %d's sub-communicator, %s", host, RankMap(mine).c_str());
  h->rail_name_ = Format("rail %d's sub-communicator, %s", h->index_, RankMap(rail).c_str());
  WEFT_CHECK(SplitComm(all_gather, n, rank, host, h->index_, config, &h->local_)
                 .WithContext(h->local_name_));
  WEFT_CHECK(SplitComm(all_gather, n, rank, h->index_, host, config, &h->rail_)
                 .WithContext(h->rail_name_));
  WEFT_INFO(kLogInit, "device hierarchy: rank %d is local rank %d of %d on host %d, rail %d; %s",
            rank, h->index_, h->L_, host, h->index_,
            h->rail_major_
                ? "ranks are rail-major: all-gather and reduce-scatter copy no chunks"
                : Format("all-gather and reduce-scatter move chunks in %zu copies", h->runs_.size())
                      .c_str());
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
  const bool reduces = a.coll == CollType::kAllReduce || a.coll == CollType::kReduceScatter ||
                       a.coll == CollType::kReduce;
  const bool moves = a.coll == CollType::kAllGather || a.coll == CollType::kBroadcast;
  const bool served = moves || (reduces && builtin_op && !a.premul);
  return served && shapes.hosts.size() > 1 && shapes.uniform_hosts() &&
         shapes.hosts.front().size() > 1;
}

Status DeviceHierarchy::Run(const CollArgs& a, int device) {
  WEFT_REQUIRE(local_ != nullptr && rail_ != nullptr, weftInvalidUsage,
               "the device hierarchy was aborted");
  LegScratch* scratch = &host_scratch_;
  if (device >= 0) {
    if (!device_scratch_) device_scratch_ = std::make_unique<LegScratch>(device);
    WEFT_REQUIRE(device_scratch_->device() == device, weftInvalidArgument,
                 "device buffers on GPU %d, but this communicator's hierarchy runs on GPU %d",
                 device, device_scratch_->device());
    scratch = device_scratch_.get();
  }
  switch (a.coll) {
    case CollType::kAllReduce:
      return AllReduce(a, device);
    case CollType::kAllGather:
      return AllGather(a, scratch);
    case CollType::kReduceScatter:
      return ReduceScatter(a, scratch);
    case CollType::kBroadcast:
      return Broadcast(a);
    case CollType::kReduce:
      return Reduce(a, scratch);
    default:
      return InternalError(Format("the device hierarchy does not serve %s", CollName(a.coll)));
  }
}

namespace {

CollArgs Leg(const CollArgs& a, CollType coll, const void* send, void* recv, size_t count,
             int root = 0) {
  CollArgs l = a;
  l.coll = coll;
  l.send = send;
  l.recv = recv;
  l.count = count;
  l.root = root;
  return l;
}

}  // namespace

Status DeviceHierarchy::AllReduce(const CollArgs& a, int device) {
  const size_t esz = TypeSize(a.type);
  const size_t shard = a.count / static_cast<size_t>(L_);
  const size_t main = shard * static_cast<size_t>(L_);
  if (shard > 0) WEFT_CHECK(AllReducePieces(a, device, shard));
  if (main < a.count) {
    const size_t tail = a.count - main;
    void* at = At(a.recv, main * esz);
    WEFT_CHECK(Local(Leg(a, CollType::kAllReduce, At(a.send, main * esz), at, tail)));
    WEFT_CHECK(Rail(Leg(a, CollType::kAllReduce, at, at, tail)));
  }
  return Status::Ok();
}

// Piece p is a block of L x shard_p elements; local rank l reduces, and carries along its
// rail, shard l of it. On a GPU the rail's legs run on the side stream: the caller's stream
// runs RS(0), RS(1), [AR(0) done], AG(0), RS(2), [AR(1) done], AG(1), ... and the side stream
// [RS(0) done], AR(0), [RS(1) done], AR(1), ..., so piece p crosses the network while the
// host's ranks reduce-scatter piece p + 1 and gather piece p - 1; every piece's legs keep
// their order, and each sub-communicator gets its calls in the same order on every rank.
Status DeviceHierarchy::AllReducePieces(const CollArgs& a, int device, size_t shard) {
  const size_t esz = TypeSize(a.type);
  const size_t L = static_cast<size_t>(L_);
  const size_t pieces =
      std::min(shard, DeviceHierPieces(shard * L * esz, static_cast<size_t>(piece_bytes_), L_, H_));
  void* rail_stream = a.stream;
  if (device >= 0 && pieces > 1) {
    if (!side_) {
      auto side = std::make_unique<PieceStreams>();
      WEFT_CHECK(SideStream::Create(device, &side->stream));
      WEFT_CHECK(StreamEvent::Create(device, &side->forked));
      for (StreamEvent& e : side->rail_done)
        WEFT_CHECK(StreamEvent::Create(device, &e));
      side_ = std::move(side);
    }
    rail_stream = side_->stream.get();
  }
  const bool forked = rail_stream != a.stream;
  // Piece p's first element and its shard per rank (the first shard % pieces have one more).
  auto first = [&](size_t p) { return L * (p * (shard / pieces) + std::min(p, shard % pieces)); };
  auto shard_of = [&](size_t p) { return shard / pieces + (p < shard % pieces ? 1 : 0); };
  auto mine = [&](size_t p) {
    return At(a.recv, (first(p) + static_cast<size_t>(index_) * shard_of(p)) * esz);
  };
  auto host_then_rail = [&](size_t p) {
    // In place where the caller's call is (reduce-scatter's recvbuff = sendbuff + l x count).
    WEFT_CHECK(
        Local(Leg(a, CollType::kReduceScatter, At(a.send, first(p) * esz), mine(p), shard_of(p))));
    CollArgs rail = Leg(a, CollType::kAllReduce, mine(p), mine(p), shard_of(p));
    rail.stream = rail_stream;
    if (forked) {
      WEFT_CHECK(side_->forked.Record(a.stream));
      WEFT_CHECK(side_->forked.MakeWait(rail_stream));
    }
    WEFT_CHECK(Rail(rail));
    if (forked) WEFT_CHECK(side_->rail_done[p % 2].Record(rail_stream));
    return Status::Ok();
  };
  auto gather = [&](size_t p) {
    if (forked) WEFT_CHECK(side_->rail_done[p % 2].MakeWait(a.stream));
    return Local(Leg(a, CollType::kAllGather, mine(p), At(a.recv, first(p) * esz), shard_of(p)));
  };
  WEFT_CHECK(host_then_rail(0));
  for (size_t p = 1; p <= pieces; ++p) {
    if (p < pieces) WEFT_CHECK(host_then_rail(p));
    WEFT_CHECK(gather(p - 1));
  }
  return Status::Ok();
}

Status DeviceHierarchy::AllGather(const CollArgs& a, LegScratch* scratch) {
  const size_t chunk = a.count * TypeSize(a.type);
  if (chunk == 0) return Status::Ok();
  const size_t rail_chunks = static_cast<size_t>(H_);
  std::byte* all = static_cast<std::byte*>(a.recv);
  if (!rail_major_)
    WEFT_CHECK(scratch->Acquire(a.stream, chunk * rail_chunks * static_cast<size_t>(L_), &all));
  std::byte* mine = all + static_cast<size_t>(index_) * rail_chunks * chunk;
  WEFT_CHECK(Rail(Leg(a, CollType::kAllGather, a.send, mine, a.count)));
  WEFT_CHECK(Local(Leg(a, CollType::kAllGather, mine, all, a.count * rail_chunks)));
  if (rail_major_) return Status::Ok();
  WEFT_CHECK(MoveChunks(scratch, a.stream, all, a.recv, chunk, Toward::kUser));
  return scratch->Release(a.stream);
}

Status DeviceHierarchy::ReduceScatter(const CollArgs& a, LegScratch* scratch) {
  const size_t chunk = a.count * TypeSize(a.type);
  if (chunk == 0) return Status::Ok();
  const size_t rail_chunks = static_cast<size_t>(H_);
  const size_t mine_at = static_cast<size_t>(index_) * rail_chunks * chunk;
  std::byte* space = nullptr;
  // Rail-major input is read where it is, into scratch for this rank's rail alone.
  WEFT_CHECK(scratch->Acquire(
      a.stream, rail_major_ ? rail_chunks * chunk : rail_chunks * chunk * static_cast<size_t>(L_),
      &space));
  const void* all = a.send;
  std::byte* mine = space;
  if (!rail_major_) {
    WEFT_CHECK(MoveChunks(scratch, a.stream, a.send, space, chunk, Toward::kScratch));
    all = space;
    mine = space + mine_at;  // in place
  }
  WEFT_CHECK(Local(Leg(a, CollType::kReduceScatter, all, mine, a.count * rail_chunks)));
  WEFT_CHECK(Rail(Leg(a, CollType::kReduceScatter, mine, a.recv, a.count)));
  return scratch->Release(a.stream);
}

DeviceHierarchy::RootedParts DeviceHierarchy::PartsOf(const CollArgs& a) const {
  RootedParts p;
  p.host = host_of_[static_cast<size_t>(a.root)];
  p.index = index_of_[static_cast<size_t>(a.root)];
  p.part = a.count / static_cast<size_t>(L_);
  p.main = p.part * static_cast<size_t>(L_);
  p.tail = a.count - p.main;
  return p;
}

Status DeviceHierarchy::Broadcast(const CollArgs& a) {
  if (a.count == 0) return Status::Ok();
  const size_t esz = TypeSize(a.type);
  const RootedParts r = PartsOf(a);
  std::byte* mine = At(a.recv, static_cast<size_t>(index_) * r.part * esz);
  std::byte* tail = At(a.recv, r.main * esz);
  const CollType kBcast = CollType::kBroadcast;
  if (host_ == r.host) WEFT_CHECK(Local(Leg(a, kBcast, a.send, a.recv, a.count, r.index)));
  if (r.part > 0) WEFT_CHECK(Rail(Leg(a, kBcast, mine, mine, r.part, r.host)));
  if (r.tail > 0 && index_ == r.index) WEFT_CHECK(Rail(Leg(a, kBcast, tail, tail, r.tail, r.host)));
  if (host_ == r.host) return Status::Ok();
  if (r.part > 0) WEFT_CHECK(Local(Leg(a, CollType::kAllGather, mine, a.recv, r.part)));
  if (r.tail > 0) WEFT_CHECK(Local(Leg(a, kBcast, tail, tail, r.tail, r.index)));
  return Status::Ok();
}

Status DeviceHierarchy::Reduce(const CollArgs& a, LegScratch* scratch) {
  if (a.count == 0) return Status::Ok();
  const size_t esz = TypeSize(a.type);
  const RootedParts r = PartsOf(a);
  // The parts gather in the root's output; elsewhere in scratch laid out alike.
  const bool root = rank_ == a.root;
  std::byte* space = static_cast<std::byte*>(a.recv);
  if (!root) WEFT_CHECK(scratch->Acquire(a.stream, a.count * esz, &space));
  std::byte* mine = space + static_cast<size_t>(index_) * r.part * esz;
  std::byte* tail = space + r.main * esz;
  if (r.part > 0) {
    WEFT_CHECK(Local(Leg(a, CollType::kReduceScatter, a.send, mine, r.part)));
    WEFT_CHECK(Rail(Leg(a, CollType::kReduce, mine, mine, r.part, r.host)));
    if (host_ == r.host) WEFT_CHECK(Local(Leg(a, CollType::kAllGather, mine, space, r.part)));
  }
  if (r.tail > 0) {
    WEFT_CHECK(Local(Leg(a, CollType::kReduce, At(a.send, r.main * esz), tail, r.tail, r.index)));
    if (index_ == r.index) WEFT_CHECK(Rail(Leg(a, CollType::kReduce, tail, tail, r.tail, r.host)));
  }
  return root ? Status::Ok() : scratch->Release(a.stream);
}

Status DeviceHierarchy::MoveChunks(LegScratch* scratch, void* stream, const void* from, void* to,
                                   size_t chunk_bytes, Toward toward) const {
  for (const ChunkRun& r : runs_) {
    const bool to_user = toward == Toward::kUser;
    RowCopy c;
    c.width = chunk_bytes;
    c.rows = r.rows;
    c.src = At(from, (to_user ? r.scratch : r.user) * chunk_bytes);
    c.src_pitch = (to_user ? 1 : r.stride) * chunk_bytes;
    c.dst = At(to, (to_user ? r.user : r.scratch) * chunk_bytes);
    c.dst_pitch = (to_user ? r.stride : 1) * chunk_bytes;
    WEFT_CHECK(scratch->Copy(stream, c));
  }
  return Status::Ok();
}

namespace {

// A sub-communicator that failed between two legs (its progress thread saw a peer go)
// answers the next leg with "the communicator is in error"; the caller, who has seen no
// failure yet, gets the failure itself, with its code.
Status SubmitLeg(weftComm_t comm, const CollArgs& leg, const std::string& name) {
  Status st = comm->impl->Submit({leg});
  if (!st.ok()) {
    Status cause = comm->impl->AsyncError();
    if (!cause.ok()) st = std::move(cause);
  }
  return st.WithContext(name);
}

}  // namespace

Status DeviceHierarchy::Local(const CollArgs& leg) {
  return SubmitLeg(local_, leg, local_name_);
}

Status DeviceHierarchy::Rail(const CollArgs& leg) {
  return SubmitLeg(rail_, leg, rail_name_);
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
