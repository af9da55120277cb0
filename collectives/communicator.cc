// Communicator: creation, destruction and the API's entries (Submit routes a batch to the
// device engine or runs it on host buffers; Run runs collectives through the plan runner).
#include "collectives/communicator.h"
#include "collectives/device_hierarchy.h"

#include <algorithm>
#include <cstdint>

#include "collectives/consistency.h"
#include "collectives/plan_builder.h"
#include "collectives/reduce/reduce.h"
#include "common/dtype.h"
#include "common/log.h"

namespace weft {

Status Communicator::Create(const Config& config, const UniqueIdData& id, int nranks, int rank,
                            std::unique_ptr<RootServer> root, std::unique_ptr<Communicator>* out) {
  std::unique_ptr<Communicator> c(new Communicator());
  c->config_ = config;
  WEFT_CHECK(config.Check());
  WEFT_CHECK(ParseAlgoSpec(config.algo, &c->algos_, config.SourceOf("WEFT_ALGO")));
  c->rank_ = rank;
  c->nranks_ = nranks;
  c->caller_.set_name(Format("rank %d of %d", rank, nranks));
  c->root_ = std::move(root);
  SetLogRank(rank);
  WEFT_CHECK(c->Init(id));
  *out = std::move(c);
  return Status::Ok();
}

bool Communicator::ShouldWarn(const std::string& message) {
  std::lock_guard<std::mutex> lock(warn_mutex_);
  const bool in_error = in_error_.load();
  if ((in_error && warned_in_error_) || message == last_warning_) {
    ++quiet_failures_;
    return false;
  }
  last_warning_ = message;
  warned_in_error_ = in_error;
  return true;
}

uint64_t Communicator::quiet_failures() {
  std::lock_guard<std::mutex> lock(warn_mutex_);
  return quiet_failures_;
}

Communicator::~Communicator() {
  TakeDeviceEngine().reset();
  // Not destroyed (a failed init or destroy): its sub-communicators go without waiting.
  if (std::unique_ptr<DeviceHierarchy> h = TakeDeviceHierarchy()) h->Abort();
  StopProgressThread();
  // Members are destroyed in reverse order: transport (endpoints, worker), bootstrap, root.
}

namespace {

using Pool = std::vector<std::pair<std::unique_ptr<std::byte[]>, size_t>>;

void* GrowAndGet(Pool* pool, size_t op_index, size_t bytes) {
  if (pool->size() <= op_index) pool->resize(op_index + 1);
  auto& [buf, size] = (*pool)[op_index];
  if (size < bytes) {
    buf.reset(new std::byte[bytes]);
    size = bytes;
  }
  return buf.get();
}

}  // namespace

void* Communicator::Scratch(size_t op_index, size_t bytes) {
  return GrowAndGet(&scratch_, op_index, bytes);
}

Status Communicator::PreMultiply(size_t op_index, CollArgs* a) {
  PreMulSum op;
  if (a->premul)  // taken when the call was made; the op may be destroyed since
    op = *a->premul;
  else
    WEFT_CHECK(user_ops_.Find(a->op, a->type, &op));
  a->op = weftSum;
  const size_t esz = TypeSize(a->type);
  std::array<uint8_t, 8> scalar = op.value;
  if (op.device_scalar && a->count > 0) WEFT_CHECK(ReadDeviceScalar(op.device_ptr, esz, &scalar));
  const bool root = rank_ == a->root;
  size_t elems = a->count;
  void* dst = a->recv;
  switch (a->coll) {
    case CollType::kAllReduce:  // the output holds the input; the sum runs in place there
      break;
    case CollType::kReduce:  // off the root the input is all there is: it stays unchanged
      if (!root) dst = GrowAndGet(&premultiplied_, op_index, elems * esz);
      break;
    case CollType::kReduceScatter:  // the input is N outputs long
      elems = a->count * static_cast<size_t>(nranks_);
      dst = GrowAndGet(&premultiplied_, op_index, elems * esz);
      break;
    default:  // all-gather and broadcast reduce nothing
      return Status::Ok();
  }
  if (elems == 0) return Status::Ok();
  ScaleHost(dst, a->send, elems, a->type, scalar.data());
  a->send = dst;
  return Status::Ok();
}

Status Communicator::Register(void* buff, size_t bytes, void** handle) {
  ExclusiveCaller::Scope call(&caller_, "weftCommRegister");
  WEFT_CHECK(call.status());
  std::lock_guard<std::mutex> lock(mutex_);
  return registry_.Register(buff, bytes, handle);
}

Status Communicator::Deregister(void* handle) {
  ExclusiveCaller::Scope call(&caller_, "weftCommDeregister");
  WEFT_CHECK(call.status());
  std::lock_guard<std::mutex> lock(mutex_);
  return registry_.Deregister(handle);
}

Status Communicator::Run(const std::vector<CollArgs>& batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.ok()) return CommunicatorInError(error_);
  // Here, not at the API, so that staged device pieces (which run through Run) get it too.
  bool rewrite = false;
  for (const CollArgs& a : batch)
    rewrite = rewrite || UserOps::IsUserOp(a.op);
  if (rewrite) {
    rewritten_ = batch;
    for (size_t i = 0; i < rewritten_.size(); ++i) {
      if (!UserOps::IsUserOp(rewritten_[i].op)) continue;
      Status s = PreMultiply(i, &rewritten_[i]);
      if (!s.ok()) {  // the peers go on into this collective: the job cannot continue
        SetError(s);
        return s;
      }
    }
  }
  const std::vector<CollArgs>& ops = rewrite ? rewritten_ : batch;
  const uint64_t first_seq = seq_;
  while (executors_.size() < ops.size())
    executors_.push_back(std::make_unique<PlanExecutor>());
  runners_.resize(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const CollArgs& a = ops[i];
    if (config_.proxy_standin) {
      bool taken = false;
      Status routed = RouteToStandIn(i, a, &taken);
      if (!routed.ok()) {
        SetError(routed);
        return routed;
      }
      if (taken) {
        ++seq_;
        continue;
      }
    }
    const Router::Route* route;
    WEFT_CHECK(router_->Get(a, &route));
    const Plan* plan = &route->plan;
    last_algo_ = route->algo;
    ExecArgs ea;
    ea.input = a.send;
    ea.output = a.recv;
    ea.type = a.type;
    ea.op = a.op;
    ea.seq = seq_++;
    ea.stream_min_bytes = config_.stream_min_bytes;
    ea.registry = registry_.size() > 0 ? &registry_ : nullptr;
    ea.one_shot = one_shot_.ranks.empty() ? nullptr : &one_shot_;
    if (plan->scratch_count > 0) ea.scratch = Scratch(i, plan->scratch_count * TypeSize(a.type));
    Status reset = executors_[i]->Reset(plan, ea, links_.get());
    if (!reset.ok()) {
      SetError(reset);
      return reset;
    }
    runners_[i] = executors_[i].get();
  }
  Status s = Drive(
      ops.size(),
      [&](size_t i) {
        return Format("%s (seq %llu, count %zu, %s)", CollName(ops[i].coll),
                      static_cast<unsigned long long>(first_seq + i), ops[i].count,
                      TypeName(ops[i].type));
      },
      /*collective=*/true);
  if (!s.ok()) SetError(s);
  return s;
}

Status Communicator::EnsureProxy(const RegionAllocator& allocate, bool for_device) {
  if (proxy_) {
    if (for_device && !proxy_for_device_)
      return InvalidUsage(
          "WEFT_PROXY_STANDIN runs host collectives through the network proxy in host memory; "
          "it cannot also serve device buffers: unset it on every rank");
    return Status::Ok();
  }
  NetProxyOptions o;
  o.ring = shapes_.ring;
  o.rank = rank_;
  o.channels = static_cast<int>(std::clamp<int64_t>(config_.nchannels > 0 ? config_.nchannels : 2,
                                                    1, proto::kNetRingMaxChannels));
  o.first_tag_channel = kProxyFirstTagChannel;
  o.shape.slot_bytes =
      config_.chunk_size > 0 ? static_cast<size_t>(config_.chunk_size) : size_t{256} << 10;
  o.shape.nslots = 4;
  o.allocate = allocate;
  WEFT_CHECK(NetProxy::Create(transport_.get(), o, &proxy_));
  proxy_for_device_ = for_device;
  WEFT_INFO(kLogColl,
            "rank %d: %s and network proxy: ring from rank %d to %d, %d channels, %d slots of "
            "%zu bytes per FIFO",
            rank_, for_device ? "ring kernel" : "stand-in kernel (WEFT_PROXY_STANDIN)",
            proxy_->prev(), proxy_->next(), o.channels, o.shape.nslots, o.shape.slot_bytes);
  return Status::Ok();
}

Status Communicator::RingProxy(const RegionAllocator& allocate, NetProxy** proxy) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.ok()) return CommunicatorInError(error_);
  WEFT_CHECK(EnsureProxy(allocate, /*for_device=*/true));
  *proxy = proxy_.get();
  return Status::Ok();
}

Status Communicator::RunCollective(PlanRunner* runner, const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.ok()) return CommunicatorInError(error_);
  runners_.assign(1, runner);
  ++seq_;
  Status s = Drive(
      1, [&](size_t) { return what; }, /*collective=*/true);
  if (!s.ok()) SetError(s);
  return s;
}

Status Communicator::RouteToStandIn(size_t op_index, const CollArgs& a, bool* taken) {
  *taken = false;
  if (nranks_ < 2) return Status::Ok();
  WEFT_CHECK(EnsureProxy(AllocateHostRegion, /*for_device=*/false));
  if (standins_.size() <= op_index) standins_.resize(op_index + 1);
  // The drive loop's timeout comes first (its verdict names the rank that stopped); the
  // kernel's own is the backstop a GPU kernel needs.
  standins_[op_index] = std::make_unique<StandInRingRunner>(
      proxy_.get(), a, config_.timeout_ms > 0 ? config_.timeout_ms + 1000 : 0);
  runners_[op_index] = standins_[op_index].get();
  last_algo_ = Algo::kRing;
  *taken = true;
  return Status::Ok();
}

namespace {

// What a call reads and writes, for PlaceBuffers (nulls and empty buffers left out).
std::vector<const void*> BuffersOf(const std::vector<P2PArgs>& ops) {
  std::vector<const void*> buffers;
  for (const P2PArgs& a : ops)
    if (a.buf != nullptr && a.count > 0) buffers.push_back(a.buf);
  return buffers;
}

std::vector<const void*> BuffersOf(const std::vector<CollArgs>& ops) {
  std::vector<const void*> buffers;
  for (const CollArgs& a : ops) {
    if (a.count == 0) continue;
    for (const void* p : {a.send, static_cast<const void*>(a.recv)})
      if (p != nullptr) buffers.push_back(p);
  }
  return buffers;
}

}  // namespace

Status Communicator::SubmitP2P(const std::vector<P2PArgs>& ops) {
  ExclusiveCaller::Scope call(&caller_, "a send or receive");
  WEFT_CHECK(call.status());
  if (ops.empty()) return Status::Ok();
  int device = -1;
  // Without a GPU every buffer is host memory: small calls skip even listing them.
  if (cuda_present_)
    WEFT_CHECK(PlaceBuffers(BuffersOf(ops), "a group of sends and receives", &device));
  if (device >= 0) {
    for (const P2PArgs& a : ops)
      if (a.stream != ops[0].stream)
        return InvalidArgument("the sends and receives of one group must use one stream");
    WEFT_CHECK(EnsureDeviceEngine(device));
    return device_->EnqueueP2P(ops);
  }
  if (device_) WEFT_CHECK(device_->Drain());
  return RunP2P(ops);
}

Status Communicator::Submit(const std::vector<CollArgs>& ops) {
  ExclusiveCaller::Scope call(&caller_, "a collective");
  WEFT_CHECK(call.status());
  int device = -1;
  if (cuda_present_)
    WEFT_CHECK(
        PlaceBuffers(BuffersOf(ops), ops.size() == 1 ? CollName(ops[0].coll) : "a group", &device));
  if (config_.check) WEFT_CHECK(CheckConsistency(ops));
  if (device >= 0) return SubmitDevice(ops, device);
  // Host collectives run after the device collectives queued before them, on every rank,
  // so that both take their sequence numbers in call order.
  if (device_) WEFT_CHECK(device_->Drain());
  if (config_.device_hier_on_host && ops.size() == 1 && UsesDeviceHierarchy(ops[0])) {
    WEFT_CHECK(EnsureDeviceHierarchy());
    last_algo_ = Algo::kHier;
    return hierarchy_->Run(ops[0], /*device=*/-1);
  }
  std::vector<CollArgs> agreed;
  bool changed = false;
  WEFT_CHECK(AgreeOnZeroCopy(ops, &agreed, &changed));
  return Run(changed ? agreed : ops);
}

Status Communicator::AgreeOnZeroCopy(const std::vector<CollArgs>& ops,
                                     std::vector<CollArgs>* agreed, bool* changed) {
  *changed = false;
  // Facts every rank shares: the job, the settings, each call's collective and size.
  const size_t min_bytes = config_.zero_copy_min_bytes;
  if (!one_copy_ || !all_local_ || nranks_ < 2 || min_bytes == 0) return Status::Ok();
  auto asks = [&](const CollArgs& a) {  // the size first: it rules out most calls
    return CallBytes(a.coll, a.count, TypeSize(a.type), nranks_) >= min_bytes &&
           AlgorithmOf(Algo::kDirect).Serves(a.coll) && algos_.Allows(a.coll, Algo::kDirect);
  };
  // Small calls, the common case, return before taking the lock.
  if (std::none_of(ops.begin(), ops.end(), asks)) return Status::Ok();
  std::vector<size_t> asked;
  std::vector<uint8_t> mine;
  {
    std::lock_guard<std::mutex> lock(mutex_);  // the registry
    for (size_t i = 0; i < ops.size(); ++i) {
      const CollArgs& a = ops[i];
      if (!asks(a)) continue;
      asked.push_back(i);
      const size_t esz = TypeSize(a.type);
      // A broadcast's input matters at its root only.
      const bool input_used = a.coll != CollType::kBroadcast || a.root == rank_;
      const bool in = !input_used ||
                      registry_.Find(a.send, InputCount(a.coll, a.count, nranks_) * esz).nonce != 0;
      const bool out =
          registry_.Find(a.recv, OutputCount(a.coll, a.count, nranks_) * esz).nonce != 0;
      mine.push_back(in && out ? 1 : 0);
    }
  }
  if (asked.empty()) return Status::Ok();
  std::vector<uint8_t> all(mine.size(), 0);
  CollArgs ask;
  ask.coll = CollType::kAllReduce;
  ask.send = mine.data();
  ask.recv = all.data();
  ask.count = mine.size();
  ask.type = weftUint8;
  ask.op = weftMin;
  WEFT_CHECK(Run({ask}).WithContext("agreeing on zero-copy all-reduces"));
  *agreed = ops;
  for (size_t k = 0; k < asked.size(); ++k) {
    (*agreed)[asked[k]].zero_copy = all[k] == 1;
    *changed = *changed || all[k] == 1;
  }
  return Status::Ok();
}

Status Communicator::CheckConsistency(const std::vector<CollArgs>& ops) {
  std::lock_guard<std::mutex> lock(mutex_);  // the progress thread also talks to the bootstrap
  if (!error_.ok()) return CommunicatorInError(error_);
  std::vector<std::vector<uint8_t>> all;
  Status s = bootstrap_->AllGather(EncodeCallSignature(ops), &all);
  if (!s.ok()) {
    SetError(s);
    return s;
  }
  return CompareCallSignatures(all, rank_);
}

Status Communicator::Destroy() {
  Status device_status;
  if (device_) {
    device_status = device_->Drain();
    if (!device_status.ok()) device_->Abort(device_status);
    TakeDeviceEngine().reset();
  }
  // Its sub-communicators' destroy is collective too, as this one's (every rank is here).
  TakeDeviceHierarchy().reset();
  StopProgressThread();
  std::lock_guard<std::mutex> lock(mutex_);
  Status s;
  if (error_.ok()) {
    // Every rank is done with every collective before anyone closes its endpoints.
    s = bootstrap_->Barrier();
    transport_->CloseEndpoints(s.ok() ? std::min<int64_t>(config_.timeout_ms, 10000) : 0);
  } else {
    transport_->CloseEndpoints(0);
  }
  bootstrap_->Leave();
  return device_status.ok() ? s : device_status;
}

}  // namespace weft
