#include "collectives/communicator.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "collectives/algorithms/recursive_doubling.h"
#include "collectives/algorithms/ring.h"
#include "collectives/algorithms/tree.h"
#include "common/dtype.h"
#include "common/log.h"
#include "topology/hwloc_loader.h"
#include "topology/nccl_xml_loader.h"
#include "topology/nccl_xml_writer.h"
#include "topology/placement.h"

namespace weft {
namespace {

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

// Host identity for "can use shared memory and see each other's processes": host name,
// boot id (containers with one name on two machines differ) and the IPC and PID namespaces
// (containers on one machine that cannot share memory or signal each other differ).
uint64_t HostHash() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::string id = host;
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::string boot_id;
  if (boot >> boot_id) id += boot_id;
  for (const char* ns : {"/proc/self/ns/ipc", "/proc/self/ns/pid"}) {
    char link[128] = {};
    if (readlink(ns, link, sizeof(link) - 1) > 0) id += link;
  }
  return Fnv1a(id);
}

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

// Channels for a message. Host memory: one; a second ring measured no faster on 2 cores
// (the reduction and the copies already keep memory busy) and doubles staging.
int AutoChannels(size_t /*bytes*/) {
  return 1;
}

}  // namespace

std::vector<uint8_t> EncodePeerInfo(const PeerInfo& info) {
  std::vector<uint8_t> out(16);
  std::memcpy(out.data(), &info.host_hash, 8);
  std::memcpy(out.data() + 8, &info.pid, 4);
  std::memcpy(out.data() + 12, &info.numa, 4);
  return out;
}

Status DecodePeerInfo(const std::vector<uint8_t>& bytes, PeerInfo* out) {
  WEFT_REQUIRE(bytes.size() == 16, weftRemoteError, "peer info of %zu bytes (expected 16)",
               bytes.size());
  std::memcpy(&out->host_hash, bytes.data(), 8);
  std::memcpy(&out->pid, bytes.data() + 8, 4);
  std::memcpy(&out->numa, bytes.data() + 12, 4);
  return Status::Ok();
}

Status Communicator::Create(const Config& config, const UniqueIdData& id, int nranks, int rank,
                            std::unique_ptr<RootServer> root, std::unique_ptr<Communicator>* out) {
  std::unique_ptr<Communicator> c(new Communicator());
  c->config_ = config;
  WEFT_CHECK(ParseAlgoSpec(config.algo, &c->algos_));
  c->rank_ = rank;
  c->nranks_ = nranks;
  c->root_ = std::move(root);
  SetLogRank(rank);
  WEFT_CHECK(c->Init(id));
  *out = std::move(c);
  return Status::Ok();
}

Status Communicator::Init(const UniqueIdData& id) {
  WEFT_CHECK(Bootstrap::Connect(id, rank_, nranks_, config_.timeout_ms, &bootstrap_));
  // Round 1: where everyone runs (the transport is configured from it).
  PeerInfo mine;
  mine.host_hash = HostHash();
  mine.pid = static_cast<int32_t>(getpid());
  mine.numa = CurrentNumaNode();
  std::vector<std::vector<uint8_t>> all;
  WEFT_CHECK(bootstrap_->AllGather(EncodePeerInfo(mine), &all));
  std::vector<uint64_t> hosts(nranks_);
  std::vector<int32_t> pids(nranks_);
  std::vector<int> numas(nranks_);
  for (int r = 0; r < nranks_; ++r) {
    PeerInfo info;
    WEFT_CHECK(DecodePeerInfo(all[r], &info).WithContext(Format("rank %d", r)));
    hosts[r] = info.host_hash;
    pids[r] = info.pid;
    numas[r] = info.numa;
  }
  int first_on_host = rank_;
  for (int r = nranks_ - 1; r >= 0; --r)
    if (hosts[r] == hosts[rank_]) first_on_host = r;
  WEFT_CHECK(DiscoverTopology(first_on_host == rank_));
  std::vector<bool> same_host(nranks_);
  local_pids_.assign(nranks_, 0);
  bool all_local = true;
  for (int r = 0; r < nranks_; ++r) {
    same_host[r] = hosts[r] == hosts[rank_];
    all_local = all_local && same_host[r];
    if (r != rank_ && same_host[r]) local_pids_[r] = pids[r];
  }
  // Round 2: transport addresses.
  WEFT_CHECK(UcxTransport::Create(rank_, nranks_, all_local, &transport_));
  WEFT_CHECK(bootstrap_->AllGather(transport_->address(), &all));
  WEFT_CHECK(transport_->SetPeers(std::move(all), std::move(same_host)));
  // Host memory: ranks by host, then NUMA node. (GPU rings come with device buffers.)
  ring_ = LocalityRing(hosts, numas);
  // Double binary trees over the ring order (neighbours in the ring are neighbours in the
  // trees' in-order layout, so tree edges stay mostly inside a host).
  trees_ = DoubleBinaryTrees(nranks_);
  for (Tree& t : trees_) {
    Tree by_rank = t;
    for (int pos = 0; pos < nranks_; ++pos) {
      by_rank.parent[ring_[pos]] = t.parent[pos] < 0 ? -1 : ring_[t.parent[pos]];
      by_rank.children[ring_[pos]].clear();
      for (int c : t.children[pos])
        by_rank.children[ring_[pos]].push_back(ring_[c]);
    }
    by_rank.root = ring_[t.root];
    t = std::move(by_rank);
  }
  WEFT_CHECK(SetUpDirect(all_local));
  TunerInput tune;
  tune.nranks = nranks_;
  tune.transport = TransportKind::kTcp;
  if (all_local) tune.transport = TransportKind::kSharedMemory;
  for (int nic : host_graph_.nics)
    if (!all_local && host_graph_.nodes[nic].link_layer == "ib")
      tune.transport = TransportKind::kInfiniBand;
  // Measured here (docs/performance.md): a ring step over the shared FIFOs hands off in
  // about 0.3 us, a UCX tag message in about 1 us; with more ranks on the host than cores,
  // every dependent hop waits for the scheduler, about 2 us, whatever the path.
  if (direct_) tune.ring_latency_us = 0.3;
  int local_ranks = 0;
  for (int r = 0; r < nranks_; ++r)
    local_ranks += hosts[r] == hosts[rank_];
  if (local_ranks > static_cast<int>(std::thread::hardware_concurrency()))
    tune.latency_us = tune.ring_latency_us = 2.0;
  TuneTable measured;
  if (!config_.tune_file.empty()) WEFT_CHECK(LoadTuneFile(config_.tune_file, &measured));
  tuner_ = std::make_unique<Tuner>(tune, algos_, std::move(measured));
  if (LogEnabled(LogLevel::kInfo, kLogTopo)) {
    std::string order;
    for (int r : ring_)
      order += Format(" %d(numa %d)", r, numas[r]);
    WEFT_INFO(kLogTopo, "rank %d of %d: ring%s", rank_, nranks_, order.c_str());
  }
  StartProgressThread();
  return Status::Ok();
}

Communicator::~Communicator() {
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

Status Communicator::DiscoverTopology(bool first_on_host) {
  Status s = config_.topo_file.empty() ? LoadHwlocTopology("", &host_graph_)
                                       : LoadTopologyFile(config_.topo_file, &host_graph_);
  WEFT_CHECK(s.WithContext(config_.topo_file.empty() ? "topology discovery" : "WEFT_TOPO_FILE"));
  WEFT_INFO(kLogTopo, "host topology from %s: %zu GPUs, %zu NICs", host_graph_.source.c_str(),
            host_graph_.gpus.size(), host_graph_.nics.size());
  if (first_on_host && !config_.topo_dump_file.empty()) {
    std::string path;
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    const std::string& pattern = config_.topo_dump_file;
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'h')
        path += host, ++i;
      else if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'p')
        path += std::to_string(getpid()), ++i;
      else
        path += pattern[i];
    }
    WEFT_CHECK(WriteNcclTopology(host_graph_, path).WithContext("WEFT_TOPO_DUMP_FILE"));
    WEFT_INFO(kLogTopo, "topology written to %s", path.c_str());
  }
  return Status::Ok();
}

int Communicator::RingNext() const {
  for (int p = 0; p < nranks_; ++p)
    if (ring_[p] == rank_) return ring_[(p + 1) % nranks_];
  return rank_;
}

int Communicator::RingPrev() const {
  for (int p = 0; p < nranks_; ++p)
    if (ring_[p] == rank_) return ring_[(p + nranks_ - 1) % nranks_];
  return rank_;
}

Status Communicator::SetUpDirect(bool all_local) {
  // Every rank takes part in both exchanges, so that they all agree on the outcome.
  const int nchannels = config_.nchannels > 0 ? static_cast<int>(config_.nchannels) : 1;
  const size_t slot_bytes = config_.chunk_size;
  const int nslots = static_cast<int>(std::clamp<size_t>(config_.buffsize / slot_bytes, 2, 64));
  const size_t fifo_bytes = FifoBytes(slot_bytes, nslots);
  bool want = all_local && nranks_ > 1 && config_.shm_direct;
  UcxTransport::SharedRegion region;
  if (want) {
    Status s = transport_->AllocateShared(fifo_bytes * nchannels, &region);
    if (!s.ok()) {
      WEFT_INFO(kLogInit, "no shared FIFOs: %s", s.message().c_str());
      want = false;
    } else {
      std::memset(region.local, 0, fifo_bytes * nchannels);
    }
  }
  std::vector<std::vector<uint8_t>> descriptors;
  WEFT_CHECK(
      bootstrap_->AllGather(want ? region.descriptor : std::vector<uint8_t>{}, &descriptors));
  void* next_region = nullptr;
  const int next = RingNext();
  if (want && !descriptors[next].empty()) {
    Status s = transport_->AttachShared(next, descriptors[next], &next_region);
    if (!s.ok()) WEFT_INFO(kLogInit, "no shared FIFOs: %s", s.message().c_str());
  }
  const uint8_t ok = next_region != nullptr ? 1 : 0;
  std::vector<std::vector<uint8_t>> oks;
  WEFT_CHECK(bootstrap_->AllGather({ok}, &oks));
  direct_ = true;
  for (const auto& o : oks)
    direct_ = direct_ && o.size() == 1 && o[0] == 1;
  if (!direct_) return Status::Ok();
  direct_slot_bytes_ = slot_bytes;
  direct_channels_.assign(nchannels, DirectChannel{});
  for (int c = 0; c < nchannels; ++c) {
    direct_channels_[c].in =
        FifoAt(static_cast<std::byte*>(region.local) + c * fifo_bytes, slot_bytes, nslots);
    direct_channels_[c].out =
        FifoAt(static_cast<std::byte*>(next_region) + c * fifo_bytes, slot_bytes, nslots);
  }
  WEFT_INFO(kLogInit, "ring neighbours share FIFOs: %d channels x %d slots x %zu bytes", nchannels,
            nslots, slot_bytes);
  return Status::Ok();
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
  std::lock_guard<std::mutex> lock(mutex_);
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
  const size_t bytes = a.count * esz *
                       (a.coll == CollType::kAllGather || a.coll == CollType::kReduceScatter
                            ? static_cast<size_t>(nranks_)
                            : 1);
  Chunking chunking;
  chunking.nchannels =
      config_.nchannels > 0 ? static_cast<int>(config_.nchannels) : AutoChannels(bytes);
  chunking.chunk_elems = std::max<size_t>(1, config_.chunk_size / esz);
  // Huge messages get bigger chunks rather than more messages than a tag can number.
  const size_t elems = bytes / esz / static_cast<size_t>(chunking.nchannels) + 1;
  chunking.chunk_elems = std::max(chunking.chunk_elems, elems / (kMaxMessagesPerLink / 8) + 1);
  // The algorithm is a function of (collective, size) for a given communicator, so the
  // plan cache needs no algorithm in its key, and the tuner runs once per new plan.
  PlanKey key{static_cast<int>(a.coll), a.count, static_cast<int>(esz), a.root, chunking.nchannels,
              chunking.chunk_elems};
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    auto p = std::make_unique<CachedPlan>();
    const Algo algo = ChooseAlgo(a.coll, bytes);
    p->algo = algo;
    switch (algo) {
      case Algo::kRecursiveDoubling:
        WEFT_CHECK(BuildRecursiveDoublingPlan(rank_, nranks_, a.count, &p->plan));
        break;
      case Algo::kTree:
        WEFT_CHECK(BuildTreeAllReducePlan(rank_, trees_, a.count, chunking, &p->plan));
        break;
      case Algo::kRing:
        WEFT_CHECK(BuildRingPlan(a.coll, rank_, ring_, a.count, a.root, chunking, &p->plan));
        p->direct = direct_ && DirectExecutor::CanRun(p->plan, RingPrev(), RingNext(),
                                                      direct_slot_bytes_, a.type);
        break;
    }
    if (plans_.size() >= 64) plans_.clear();  // a bounded cache; plans are cheap to rebuild
    it = plans_.emplace(key, std::move(p)).first;
    WEFT_TRACE(kLogColl, "plan%s:\n%s", it->second->direct ? " (shared FIFOs)" : "",
               it->second->plan.Describe().c_str());
  }
  *plan = it->second.get();
  return Status::Ok();
}

const std::vector<StagingArea>& Communicator::Staging(size_t op_index, const Plan& plan,
                                                      weftDataType_t type) {
  if (staging_.size() <= op_index) {
    staging_.resize(op_index + 1);
    staging_bytes_.resize(op_index + 1);
  }
  auto& bufs = staging_[op_index];
  auto& sizes = staging_bytes_[op_index];
  const size_t slot_bytes = Executor::SlotBytes(plan, type);
  const int slots = static_cast<int>(
      std::clamp<size_t>(config_.buffsize / std::max<size_t>(slot_bytes, 1), 2, 64));
  const size_t need = slot_bytes * static_cast<size_t>(slots);
  std::vector<StagingArea>& areas = staging_areas_;
  areas.resize(plan.channels.size());
  if (bufs.size() < areas.size()) {
    bufs.resize(areas.size());
    sizes.resize(areas.size(), 0);
  }
  for (size_t c = 0; c < areas.size(); ++c) {
    if (sizes[c] < need) {
      bufs[c].reset(new std::byte[need]);
      sizes[c] = need;
    }
    areas[c] = {bufs[c].get(), slot_bytes, slots};
  }
  return areas;
}

Status Communicator::Run(const std::vector<CollArgs>& ops) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!error_.ok())
    return InvalidUsage("the communicator is in error (" + error_.message() +
                        "); only weftCommAbort or weftCommDestroy may follow");
  const uint64_t first_seq = seq_;
  while (executors_.size() < ops.size())
    executors_.push_back(std::make_unique<Executor>());
  while (direct_executors_.size() < ops.size())
    direct_executors_.push_back(std::make_unique<DirectExecutor>());
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
    if (cached->direct) {
      direct_executors_[i]->Reset(plan, ea, direct_channels_.data());
      runners_[i] = direct_executors_[i].get();
    } else {
      executors_[i]->Reset(transport_.get(), plan, ea, Staging(i, *plan, a.type));
      runners_[i] = executors_[i].get();
    }
  }
  Status s = Drive(ops, first_seq);
  if (!s.ok()) SetError(s);
  return s;
}

bool Communicator::NeedsPolling(size_t n) const {
  for (size_t i = 0; i < n; ++i)
    if (runners_[i]->NeedsPolling()) return true;
  return false;
}

size_t Communicator::StepsRun(size_t n) const {
  size_t steps = 0;
  for (size_t i = 0; i < n; ++i)
    steps += runners_[i]->StepsRun();
  return steps;
}

Status Communicator::Drive(const std::vector<CollArgs>& ops, uint64_t first_seq) {
  const size_t n = ops.size();
  auto& executors = runners_;
  const auto start = Clock::now();
  const Deadline deadline = start + std::chrono::milliseconds(config_.timeout_ms);
  const auto spin = std::chrono::microseconds(config_.spin_us);
  auto spin_until = start + spin;
  auto next_peer_check = start + std::chrono::milliseconds(100);
  Status failure;
  unsigned iter = 0, idle = 0;
  bool progressed_since_check = true;
  size_t steps_seen = 0;
  while (true) {
    bool progressed = false;
    for (int i = 0; i < 64 && transport_->Progress(); ++i)
      progressed = true;
    bool all_done = true;
    bool sequential_pending = false;  // an earlier sequential runner has not finished
    for (size_t i = 0; i < n && failure.ok(); ++i) {
      bool done = false;
      if (executors[i]->Sequential() && sequential_pending) {
        all_done = false;
        continue;
      }
      Status s = executors[i]->Advance(&done);
      sequential_pending = sequential_pending || (executors[i]->Sequential() && !done);
      if (!s.ok()) {
        failure =
            s.WithContext(Format("%s (seq %llu, count %zu, %s) on rank %d", CollName(ops[i].coll),
                                 static_cast<unsigned long long>(first_seq + i), ops[i].count,
                                 TypeName(ops[i].type), rank_));
      }
      all_done = all_done && done;
    }
    if (!failure.ok()) break;
    if (all_done) return Status::Ok();
    const size_t steps = StepsRun(n);
    if (steps != steps_seen) {
      steps_seen = steps;
      progressed = true;
    }
    if (progressed) {
      idle = 0;
      progressed_since_check = true;
    } else {
      ++idle;
    }
    // Poll a few times before reading the clock or yielding: the next message is often a
    // fraction of a microsecond away.
    if (idle < 16 && (++iter % 64) != 0) continue;
    idle = 0;
    const auto now = Clock::now();
    Status health = transport_->Health();
    if (health.ok() && now >= next_peer_check) {
      // Waiting long for a peer: is it still there?
      health = CheckPeers();
      next_peer_check = now + std::chrono::milliseconds(100);
    }
    if (!health.ok()) {
      failure = health.WithContext(Format("rank %d", rank_));
      break;
    }
    if (now >= deadline) {
      for (size_t i = 0; i < n; ++i) {
        bool done = false;
        (void)executors[i]->Advance(&done);
        if (done) continue;
        failure = TimeoutError(Format(
            "%s (seq %llu, count %zu, %s) timed out after WEFT_TIMEOUT_MS=%lld ms on rank %d, "
            "waiting for %s",
            CollName(ops[i].coll), static_cast<unsigned long long>(first_seq + i), ops[i].count,
            TypeName(ops[i].type), static_cast<long long>(config_.timeout_ms), rank_,
            executors[i]->Waiting().c_str()));
        break;
      }
      break;
    }
    if (progressed_since_check) {
      spin_until = now + spin;
      progressed_since_check = false;
    } else if (now < spin_until) {
      sched_yield();
    } else if (!NeedsPolling(n)) {
      // Sleep on the transport's events so that ranks sharing cores can run.
      transport_->WaitForEvent(std::min(RemainingMs(deadline), 100));
    } else {
      // Polled work (shared FIFOs, pending sends): the first runner that is stuck waits
      // for its neighbour (a futex for the FIFOs), a millisecond at most, so that time
      // and peers are checked regularly.
      for (size_t i = 0; i < n; ++i) {
        if (!runners_[i]->NeedsPolling()) continue;
        runners_[i]->WaitForWork(1000);
        break;
      }
    }
  }
  // Take back every buffer from the transport before returning to the user. The
  // communicator is unusable from here on (only abort or destroy may follow), so its
  // endpoints are closed at once: that ends sends a dead peer will never take.
  transport_->CloseEndpoints(0);
  for (size_t i = 0; i < n; ++i)
    executors[i]->CancelOutstanding();
  // Receives must end (they write into user buffers); they cancel at once. Sends only read,
  // and those to a dead peer may never end: they get a short grace, then are abandoned.
  auto quiet = [&](bool receives_only) {
    for (size_t i = 0; i < n; ++i)
      if (!executors[i]->Quiescent(receives_only)) return false;
    return true;
  };
  for (auto [receives_only, ms] : {std::pair{true, 1000}, std::pair{false, 20}}) {
    const Deadline drain = DeadlineIn(ms);
    while (!quiet(receives_only) && Clock::now() < drain) {
      if (!transport_->Progress()) transport_->WaitForEvent(1);
    }
  }

  if (!quiet(false)) {
    // The transport still owns some requests: keep their completions alive for good.
    WEFT_WARN(kLogColl, "abandoning %zu executors with outstanding transport requests", n);
    for (auto& e : executors_)
      (void)e.release();
    executors_.clear();
  }
  return failure;
}

Status Communicator::Destroy() {
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
  return s;
}

void Communicator::Abort() {
  StopProgressThread();
  std::lock_guard<std::mutex> lock(mutex_);
  transport_->CloseEndpoints(0);
  bootstrap_->Leave();
}

}  // namespace weft
