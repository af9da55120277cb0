#include "collectives/communicator.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <thread>

#include "collectives/consistency.h"
#include "collectives/plan_builder.h"
#include "collectives/reduce/reduce.h"
#include "common/dtype.h"
#include "common/log.h"

namespace weft {
namespace {

// False once the process is gone or a zombie (its parent has not reaped it yet).
bool ProcessAlive(int32_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no procfs: trust kill()
  size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return true;
  char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

}  // namespace

Status Communicator::Create(const Config& config, const UniqueIdData& id, int nranks, int rank,
                            std::unique_ptr<RootServer> root, std::unique_ptr<Communicator>* out) {
  std::unique_ptr<Communicator> c(new Communicator());
  c->config_ = config;
  WEFT_CHECK(config.Check());
  WEFT_CHECK(ParseAlgoSpec(config.algo, &c->algos_, config.SourceOf("WEFT_ALGO")));
  c->rank_ = rank;
  c->nranks_ = nranks;
  c->root_ = std::move(root);
  SetLogRank(rank);
  WEFT_CHECK(c->Init(id));
  *out = std::move(c);
  return Status::Ok();
}

// Outside the lock once taken: destroying the engine joins its thread, which may be running
// a host collective that needs the lock.
std::unique_ptr<DeviceEngine> Communicator::TakeDeviceEngine() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::move(device_);
}

Communicator::~Communicator() {
  TakeDeviceEngine().reset();
  StopProgressThread();
  // Members are destroyed in reverse order: transport (endpoints, worker), bootstrap, root.
}

void Communicator::StartProgressThread() {
  progress_thread_ = std::thread([this] { ProgressThreadMain(); });
}

void Communicator::StopProgressThread() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (progress_thread_.joinable()) progress_thread_.join();
}

// Between collectives nobody else drives the worker: this thread does, a few times a
// second, so that a dead peer is noticed (endpoint error) even while the application
// computes. It takes the transport only when no caller holds it, and never spins, so it
// costs nothing when ranks outnumber cores. Callers drive their own collectives inline.
void Communicator::ProgressThreadMain() {
  SetLogRank(rank_);
  std::unique_lock<std::mutex> stop_lock(stop_mutex_);
  while (!stop_) {
    stop_cv_.wait_for(stop_lock, std::chrono::milliseconds(50));
    if (stop_) break;
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) continue;
    for (int i = 0; i < 64 && transport_->Progress(); ++i) {
    }
    if (error_.ok()) {
      Status health = CheckPeers();
      if (!health.ok()) SetError(health);
    }
  }
}

Status Communicator::CheckPeers() {
  auto dead_local_rank = [&]() -> Status {
    for (int r = 0; r < nranks_; ++r) {
      if (local_pids_[r] > 0 && !ProcessAlive(local_pids_[r]))
        return RemoteError(Format("rank %d (pid %d on this host) exited", r, local_pids_[r]));
    }
    return Status::Ok();
  };
  WEFT_CHECK(transport_->Health());
  WEFT_CHECK(dead_local_rank());
  Status bootstrap = bootstrap_->CheckForError();
  if (bootstrap.ok()) return bootstrap;
  // A dying process closes its sockets before it is gone: give a local rank's exit a
  // moment to show, so that the error names the rank rather than the lost connection.
  for (int i = 0; i < 10; ++i) {
    WEFT_CHECK(dead_local_rank());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return bootstrap;
}

void Communicator::SetError(const Status& s) {
  if (error_.ok()) error_ = s;
  in_error_ = true;
}

Status Communicator::AsyncError() {
  if (revoked_) return Status::Ok();  // deliberate, and over once Revoke returned
  // Under the lock: frameworks poll this from a watchdog thread while another thread's first
  // device call creates the engine.
  std::lock_guard<std::mutex> lock(mutex_);
  if (device_) {
    Status device_error = device_->error();
    if (!device_error.ok()) return device_error;
  }
  if (error_.ok()) {
    Status health = CheckPeers();
    if (!health.ok()) SetError(health);
  }
  return error_;
}

Algo Communicator::ChooseAlgo(CollType coll, size_t bytes) const {
  std::vector<Prediction> candidates;
  bool from_table = false;
  const Algo algo = tuner_->Choose(coll, bytes, &candidates, &from_table);
  if (LogEnabled(LogLevel::kInfo, kLogTune)) {
    std::string text;
    for (const Prediction& p : candidates)
      text += Format(" %s %.1f us", AlgoName(p.algo), p.time_us);
    WEFT_INFO(kLogTune, "%s of %zu bytes: %s%s (predicted:%s)", CollName(coll), bytes,
              AlgoName(algo), from_table ? " from WEFT_TUNE_FILE" : "", text.c_str());
  }
  return algo;
}

Status Communicator::GetPlan(const CollArgs& a, const CachedPlan** plan) {
  const size_t esz = TypeSize(a.type);
  const size_t bytes = CallBytes(a.coll, a.count, esz, nranks_);
  Chunking chunking =
      ChunkingFor(config_.chunk_size, static_cast<int>(config_.nchannels), nhosts_, esz);
  // The algorithm is a function of (collective, size) for a given communicator, so the
  // plan cache needs no algorithm in its key, and the tuner runs once per new plan.
  PlanKey key{static_cast<int>(a.coll), a.count, static_cast<int>(esz), a.root, chunking.nchannels,
              chunking.chunk_elems};
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    auto p = std::make_unique<CachedPlan>();
    const Algo algo = ChooseAlgo(a.coll, bytes);
    p->algo = algo;
    // Tree chunks and recursive doubling's messages travel on the shallower FIFOs of tree
    // edges and pairs: cut them to fit (links that cannot carry a message go over the
    // network, which is slower inside a host).
    if ((algo == Algo::kTree || algo == Algo::kRecursiveDoubling) && shm_)
      chunking.chunk_elems =
          std::min(chunking.chunk_elems, std::max<size_t>(1, kDirectOtherSlotBytes / esz));
    WEFT_CHECK(BuildPlan(algo, a.coll, rank_, shapes_, a.count, a.root, chunking, &p->plan));
    if (plans_.size() >= 64) plans_.clear();  // a bounded cache; plans are cheap to rebuild
    it = plans_.emplace(key, std::move(p)).first;
    WEFT_TRACE(kLogColl, "plan:\n%s", it->second->plan.Describe().c_str());
  }
  *plan = it->second.get();
  return Status::Ok();
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
    const CachedPlan* cached;
    WEFT_CHECK(GetPlan(a, &cached));
    const Plan* plan = &cached->plan;
    last_algo_ = cached->algo;
    ExecArgs ea;
    ea.input = a.send;
    ea.output = a.recv;
    ea.type = a.type;
    ea.op = a.op;
    ea.seq = seq_++;
    if (plan->scratch_count > 0) ea.scratch = Scratch(i, plan->scratch_count * TypeSize(a.type));
    Status reset = executors_[i]->Reset(plan, ea, links_.get());
    if (!reset.ok()) {
      SetError(reset);
      return reset;
    }
    runners_[i] = executors_[i].get();
  }
  Status s = Drive(ops.size(), [&](size_t i) {
    return Format("%s (seq %llu, count %zu, %s)", CollName(ops[i].coll),
                  static_cast<unsigned long long>(first_seq + i), ops[i].count,
                  TypeName(ops[i].type));
  });
  if (!s.ok()) SetError(s);
  return s;
}

Status Communicator::RunP2P(const std::vector<P2PArgs>& ops) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.ok()) return CommunicatorInError(error_);
  p2p_sent_.resize(static_cast<size_t>(nranks_), 0);
  p2p_received_.resize(static_cast<size_t>(nranks_), 0);
  p2p_ops_.clear();
  for (const P2PArgs& a : ops) {
    P2POp op;
    op.send = a.send;
    op.buf = a.buf;
    op.bytes = a.count * TypeSize(a.type);
    op.peer = a.peer;
    op.seq = (a.send ? p2p_sent_ : p2p_received_)[static_cast<size_t>(a.peer)]++;
    p2p_ops_.push_back(op);
  }
  if (!p2p_runner_) p2p_runner_ = std::make_unique<P2PRunner>();
  p2p_runner_->Reset(transport_.get(), MemoryType::kHost, &p2p_ops_);
  runners_.assign(1, p2p_runner_.get());
  Status s = Drive(1, [&](size_t) {
    return Format("a group of %zu sends and receives (%s rank %d first)", ops.size(),
                  ops[0].send ? "a send to" : "a receive from", ops[0].peer);
  });
  if (!s.ok()) SetError(s);
  return s;
}

// Buffers of one call or group live all in host memory or all on one GPU (*device >= 0).
// `buffers` lists what the call reads and writes (nulls and empty ones left out).
Status Communicator::PlaceBuffers(const std::vector<const void*>& buffers, const char* what,
                                  int* device) const {
  *device = -1;
  if (!cuda_present_) return Status::Ok();
  bool any_host = false;
  for (const void* p : buffers) {
    const BufferLocation loc = LocateBuffer(p);
    if (!loc.device) {
      any_host = true;
    } else if (*device < 0) {
      *device = loc.device_id;
    } else if (loc.device_id != *device) {
      return InvalidArgument(
          Format("%s: buffers on GPUs %d and %d in one call", what, *device, loc.device_id));
    }
  }
  if (*device >= 0 && any_host)
    return InvalidArgument(Format(
        "%s mixes host and device buffers; each call (and each group) must use one kind", what));
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
  int device = -1;
  if (cuda_present_)
    WEFT_CHECK(
        PlaceBuffers(BuffersOf(ops), ops.size() == 1 ? CollName(ops[0].coll) : "a group", &device));
  if (config_.check) WEFT_CHECK(CheckConsistency(ops));
  if (device >= 0) return SubmitDevice(ops, device);
  // Host collectives run after the device collectives queued before them, on every rank,
  // so that both take their sequence numbers in call order.
  if (device_) WEFT_CHECK(device_->Drain());
  return Run(ops);
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

Status Communicator::EnsureDeviceEngine(int device) {
  if (!device_) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_.ok()) return CommunicatorInError(error_);
    }
    DeviceEngineOptions o;
    o.device = device;
    o.ipc = all_local_ && config_.cuda_ipc && nranks_ <= kMaxDeviceRanksIpc;
    o.staging_piece_bytes = static_cast<size_t>(config_.cuda_staging_piece);
    o.timeout_ms = config_.timeout_ms;
    o.rank = rank_;
    o.nranks = nranks_;
    std::unique_ptr<DeviceEngine> engine;
    WEFT_CHECK(CreateDeviceEngine(this, o, &engine));
    std::lock_guard<std::mutex> lock(mutex_);
    device_ = std::move(engine);
  } else if (device != device_->device()) {
    return InvalidArgument(
        Format("device buffers on GPU %d, but this communicator's device "
               "collectives run on GPU %d",
               device, device_->device()));
  }
  return Status::Ok();
}

Status Communicator::SubmitDevice(const std::vector<CollArgs>& ops, int device) {
  WEFT_CHECK(EnsureDeviceEngine(device));
  for (const CollArgs& a : ops)
    WEFT_CHECK(device_->Enqueue(a));
  return Status::Ok();
}

Status Communicator::Destroy() {
  Status device_status;
  if (device_) {
    device_status = device_->Drain();
    if (!device_status.ok()) device_->Abort(device_status);
    TakeDeviceEngine().reset();
  }
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

void Communicator::Revoke() {
  revoked_ = true;
  const Status why = InvalidUsage("the communicator was revoked (weftCommRevoke)");
  if (device_) device_->Abort(why);
  std::lock_guard<std::mutex> lock(mutex_);  // taken once a running call has failed
  SetError(why);
}

Status Communicator::ShrinkRound(const std::vector<int32_t>& excluded, bool abort,
                                 const std::vector<uint8_t>& mine,
                                 std::vector<std::vector<uint8_t>>* all) {
  abort = abort || revoked_;  // a revoked communicator is quiescent: shrink it as it is
  if (!abort && device_) WEFT_CHECK(device_->Drain());
  std::lock_guard<std::mutex> lock(mutex_);
  if (!abort) {
    if (error_.ok()) {
      Status health = CheckPeers();
      if (!health.ok()) SetError(health);
    }
    if (!error_.ok())
      return InvalidUsage("the communicator is in error (" + error_.message() +
                          "): shrink it with WEFT_SHRINK_ABORT");
  }
  return bootstrap_->Shrink(excluded, mine, all);
}

void Communicator::Abort() {
  abort_requested_ = true;
  if (device_) {
    device_->Abort(InvalidUsage("weftCommAbort was called"));
    TakeDeviceEngine().reset();
  }
  StopProgressThread();
  std::lock_guard<std::mutex> lock(mutex_);
  transport_->CloseEndpoints(0);
  bootstrap_->Leave();
}

}  // namespace weft
