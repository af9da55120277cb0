// Communicator: owns everything one weftComm_t needs (bootstrap connection, transport,
// progress thread, staging memory, plan cache) and runs collectives on it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "collectives/algo_spec.h"
#include "collectives/coll_args.h"
#include "collectives/device/device_engine.h"
#include "collectives/device/net_proxy.h"
#include "collectives/device/standin_ring.h"
#include "collectives/direct_links.h"
#include "collectives/exclusive_caller.h"
#include "collectives/host_collectives.h"
#include "collectives/link_table.h"
#include "collectives/memory_registry.h"
#include "collectives/p2p_runner.h"
#include "collectives/plan_builder.h"
#include "collectives/plan_executor.h"
#include "collectives/router.h"
#include "collectives/tuner.h"
#include "collectives/user_ops.h"
#include "common/config.h"
#include "topology/job_topology.h"
#include "topology/system_graph.h"
#include "topology/trees.h"
#include "transport/bootstrap/bootstrap.h"
#include "transport/bootstrap/root.h"
#include "transport/transport.h"

namespace weft {

class DeviceHierarchy;

// What each rank tells the others at init, before the transport exists.
struct PeerInfo {
  uint64_t host_hash = 0;
  int32_t pid = 0;
  int32_t numa = -1;              // NUMA node the rank runs on (-1: unknown)
  std::string gpu_pci;            // PCI id of the rank's current CUDA device ("" without one)
  sockaddr_in shrink_listener{};  // the bootstrap's, for a shrink without rank 0
};
std::vector<uint8_t> EncodePeerInfo(const PeerInfo& info);
Status DecodePeerInfo(const std::vector<uint8_t>& bytes, PeerInfo* out);

// One weftComm_t. Its jobs live in files of their own:
//   communicator.cc         creation, destruction, the API's entries (Submit, Run)
//   communicator_init.cc    setup: bootstrap, topology, transport, links, tuner
//   router.h                routing: algorithm and plan per call (a class of its own)
//   communicator_drive.cc   progress: driving runners to completion, the progress thread
//   communicator_health.cc  health: peers' failures, errors, revoke, abort, shrink's round
//   communicator_device.cc  device buffers: where they live, the device engine
//   communicator_p2p.cc     sends and receives
// The device engine sees it only as HostCollectives.
class Communicator final : public HostCollectives {
 public:
  // `root` is the bootstrap root if this process created it (weftGetUniqueId), else null.
  static Status Create(const Config& config, const UniqueIdData& id, int nranks, int rank,
                       std::unique_ptr<RootServer> root, std::unique_ptr<Communicator>* out);
  ~Communicator() override;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  // The settings it was made with (the environment's, and a weftConfig_t's over them).
  const Config& config() const { return config_; }
  int nranks() const { return nranks_; }
  const std::vector<int>& ring() const { return shapes_.ring; }

  // The API's entry: collectives on device buffers are queued on their stream (the device
  // engine); collectives on host buffers run now, after every queued device collective.
  Status Submit(const std::vector<CollArgs>& ops);
  // Runs the collectives together and returns when all are complete (host buffers).
  Status Run(const std::vector<CollArgs>& ops) override;
  // The API's entry for a batch of sends and receives (a group's, or one call): on device
  // buffers queued on their stream, on host buffers run now (after queued device work).
  Status SubmitP2P(const std::vector<P2PArgs>& ops);
  // Posts the sends and receives together and returns when all are complete (host buffers).
  Status RunP2P(const std::vector<P2PArgs>& ops) override;
  bool InError() const override {
    return in_error_.load(std::memory_order_relaxed) ||
           abort_requested_.load(std::memory_order_relaxed) ||
           revoked_.load(std::memory_order_relaxed);
  }
  // The device path across hosts: the ring proxy (made at first use) and one call of it
  // through the drive loop (host_collectives.h).
  Status RingProxy(const RegionAllocator& allocate, NetProxy** proxy) override;
  Status RunCollective(PlanRunner* runner, const std::string& what) override;
  // Bytes of device data the host's CPU reduced so far (each staged piece of a reducing
  // collective counts this rank's input); 0 where every device call ran on kernels.
  uint64_t HostReducedBytes() const;

  // Barrier with every rank, then closes connections. Bounded by WEFT_TIMEOUT_MS.
  Status Destroy();

  // Whether a failed call's message is worth a warning: not once the communicator is in
  // error and its failure has been logged (every later call is refused with the same
  // cause), nor the same message as the last one. A benchmark or a training loop that
  // calls on after a peer died then logs one line, not one per call; the rest are counted.
  bool ShouldWarn(const std::string& message);
  uint64_t quiet_failures();
  // The algorithm of the last collective run (for weft-perf's report).
  Algo last_algo() const { return last_algo_; }
  // How the last device collective ran ("cuda-ipc", "staged", "oneshot-kernel"), or ""
  // before the first one.
  const char* DevicePath() const { return last_device_path_; }

  // The ops weftRedOpCreatePreMulSum made on this communicator.
  UserOps& user_ops() { return user_ops_; }

  // weftCommRegister / weftCommDeregister (host buffers from weftMemAlloc).
  Status Register(void* buff, size_t bytes, void** handle);
  Status Deregister(void* handle);
  // weftCommWindowRegister / weftCommWindowDeregister (device buffers; collective): *slot
  // is the device engine's window, -1 where windows serve nothing.
  Status RegisterWindow(void* buff, size_t bytes, int* slot);
  Status DeregisterWindow(int slot);

  // Frees everything without waiting for peers.
  void Abort();
  // weftCommRevoke: collectives running on other threads and queued device work fail at
  // once; afterwards every call but shrink, destroy and abort is refused, and the
  // communicator reports no async error (as NCCL's, once quiescent). Returns when no call
  // is running.
  void Revoke();
  // weftCommShrink's meeting of the ranks not `excluded` (ascending) through the bootstrap
  // root: everyone's `mine` by rank. Without `abort`, only on a healthy communicator, after
  // its device work has finished.
  Status ShrinkRound(const std::vector<int32_t>& excluded, bool abort,
                     const std::vector<uint8_t>& mine, std::vector<std::vector<uint8_t>>* all);
  // The error that put the communicator in error, or Ok.
  Status AsyncError();

 private:
  Communicator() = default;
  Status Init(const UniqueIdData& id);
  // This host's hardware (hwloc, or WEFT_TOPO_FILE), logged and dumped; on a host's first
  // rank only.
  Status DiscoverTopology();
  // Sends each host's view (or `discovered`'s failure) from its first rank to every rank
  // and fills job_ (and host_graph_ on the other ranks of a host); collective.
  Status ExchangeHostViews(const std::vector<uint64_t>& hosts, const Status& discovered);
  // Sets up the links: shared-memory FIFOs between the ranks of each host that plans pair
  // (DirectLinkMap), and the table that makes network links at first use; collective (every
  // rank calls it); leaves shm_ false where the transport cannot map shared memory.
  Status SetUpLinks();
  Status WithStallVerdict(const Status& timeout);
  // The op_index-th op of a batch through the stand-in kernel and the proxy
  // (WEFT_PROXY_STANDIN), or *taken false where that path does not serve it.
  Status RouteToStandIn(size_t op_index, const CollArgs& a, bool* taken);
  // Makes proxy_ on the communicator's ring at first use, with FIFOs from `allocate`
  // (`for_device`: memory a GPU kernel reaches). Caller holds mutex_.
  Status EnsureProxy(const RegionAllocator& allocate, bool for_device);
  Status CheckMemoryBudget(const std::function<size_t(int)>& region_bytes, size_t one_shot_bytes,
                           const NetLinkShape& net, const DirectLinkConfig& links) const;
  // Scratch memory for the op_index-th op of a batch (a tree reduce off the root, a plan's
  // partial results).
  void* Scratch(size_t op_index, size_t bytes);
  // A PreMulSum op becomes a sum of inputs this rank multiplied first (into its output, or
  // memory of its own where the output cannot hold the input): *a is rewritten to that sum.
  Status PreMultiply(size_t op_index, CollArgs* a);
  bool NeedsPolling(size_t n) const;
  size_t StepsRun(size_t n) const;
  // Runs runners_[0 .. n) to completion, failure or timeout; describe(i) names the i-th
  // operation in errors.
  // `collective`: every rank takes part, so on a timeout the ranks ask each other which
  // one stopped (WithStallVerdict); sends and receives involve their peers only.
  Status Drive(size_t n, const std::function<std::string(size_t)>& describe, bool collective);
  void SetError(const Status& s);
  // A failed peer, from the bootstrap (the root saw a rank vanish) or, for ranks on this
  // host, from its process being gone. Cheap; called while waiting. Caller holds mutex_.
  Status CheckPeers();
  // All of `buffers` in host memory (*device = -1) or on one GPU; otherwise an error naming
  // `what`.
  Status PlaceBuffers(const std::vector<const void*>& buffers, const char* what, int* device) const;
  // Creates the device engine at the first device call (on `device`), or checks the call's
  // device is the engine's.
  Status EnsureDeviceEngine(int device);
  Status SubmitDevice(const std::vector<CollArgs>& ops, int device);
  // Whether `a` runs as the device hierarchy's legs (WEFT_DEVICE_HIER, and the tuner's
  // choice); every rank decides alike. The hierarchy is made at the first such call.
  bool UsesDeviceHierarchy(const CollArgs& a);
  Status EnsureDeviceHierarchy();
  // WEFT_CHECK=1: every rank compares what every rank called (bootstrap round trip).
  Status CheckConsistency(const std::vector<CollArgs>& ops);
  void StartProgressThread();
  void StopProgressThread();
  std::unique_ptr<DeviceHierarchy> TakeDeviceHierarchy();
  std::unique_ptr<DeviceEngine> TakeDeviceEngine();
  void ProgressThreadMain();
  // Large calls on one host that the one-copy plans serve (WEFT_ZERO_COPY_MIN_BYTES and
  // more): the ranks agree (a MIN all-reduce of one byte per such call) whether all their buffers
  // are registered, and those that are run zero copy. The tuner alone cannot choose it: a rank
  // knows only its own buffers. *ops is copied into *agreed where a call is marked.
  Status AgreeOnZeroCopy(const std::vector<CollArgs>& ops, std::vector<CollArgs>* agreed,
                         bool* changed);

  Config config_;
  int rank_ = 0;
  int nranks_ = 0;
  std::unique_ptr<RootServer> root_;
  std::unique_ptr<Bootstrap> bootstrap_;
  std::unique_ptr<Transport> transport_;
  // Every link the plans run on; after the transport, so that it is destroyed first (it
  // cancels what it still has posted).
  std::unique_ptr<LinkTable> links_;
  // WEFT_PROXY_STANDIN: the device path's proxy, made at first use, and each op's runner
  // (after the proxy, so destroyed before it: a runner's stand-in blocks use its FIFOs).
  std::unique_ptr<NetProxy> proxy_;
  bool proxy_for_device_ = false;  // its FIFOs are in memory the device maps
  std::vector<std::unique_ptr<StandInRingRunner>> standins_;
  SystemGraph host_graph_;  // this host's, as discovered or loaded
  JobTopology job_;         // every host's, the same on every rank
  int nhosts_ = 1;
  PlanShapes shapes_;  // the ring, and the double binary trees over its order
  AlgoSpec algos_;
  std::unique_ptr<Router> router_;  // which algorithm and plan each call runs
  Algo last_algo_ = Algo::kRing;
  const char* last_device_path_ = "";
  std::vector<int32_t> local_pids_;  // pid of each rank on this host, 0 for remote ranks
  uint64_t seq_ = 0;

  // One thread at a time in the API's calls (exclusive_caller.h).
  ExclusiveCaller caller_;
  // What the API has logged of this communicator's failures (ShouldWarn).
  std::mutex warn_mutex_;
  std::string last_warning_;
  bool warned_in_error_ = false;
  uint64_t quiet_failures_ = 0;
  // Serializes the transport between callers and the progress thread.
  mutable std::mutex mutex_;
  Status error_;  // sticky; guarded by mutex_
  std::atomic<bool> in_error_{false};

  std::thread progress_thread_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;

  std::vector<std::pair<std::unique_ptr<std::byte[]>, size_t>> scratch_;
  std::vector<std::pair<std::unique_ptr<std::byte[]>, size_t>> premultiplied_;
  std::vector<CollArgs> rewritten_;  // a batch with PreMulSums made sums (Run)
  UserOps user_ops_;
  MemoryRegistry registry_;  // guarded by mutex_ (the progress thread runs plans)
  // One runner per op of a batch, reused from call to call.
  std::vector<std::unique_ptr<PlanExecutor>> executors_;
  std::vector<PlanRunner*> runners_;
  std::unique_ptr<P2PRunner> p2p_runner_;  // abandoned like executors_ (see Drive)
  // Point-to-point messages sent to and received from each rank so far (their sequence).
  std::vector<uint64_t> p2p_sent_, p2p_received_;
  std::vector<P2POp> p2p_ops_;  // the next batch; swapped with the runner's, both reused

  // Every rank's one-shot scratch, mapped here (empty: the job cannot run Algo::kOneShot).
  OneShotScratch one_shot_;
  bool shm_ = false;       // ranks of a host share FIFOs
  bool one_copy_ = false;  // Algo::kDirect: every rank reads every other (CMA)

  bool all_local_ = false;      // every rank on this host
  bool oversubscribed_ = true;  // more ranks on this host than cores: waiting ranks yield
  bool cuda_present_ = false;   // this process sees a GPU: buffers are located per call
  std::atomic<bool> abort_requested_{false};  // weftCommAbort: running collectives stop
  std::atomic<bool> revoked_{false};          // weftCommRevoke: the same, and no new ones
  // Collectives on device buffers; created by the first one. Destroyed first (its thread
  // runs host collectives on this communicator).
  std::unique_ptr<DeviceEngine> device_;  // written under mutex_ (AsyncError reads it there)
  // Device all-reduces across hosts as legs on sub-communicators (device_hierarchy.h);
  // made by the first. Written under mutex_, as device_.
  std::unique_ptr<DeviceHierarchy> hierarchy_;
  std::atomic<uint64_t> host_reduced_bytes_{0};  // the device engine counts into it
};

}  // namespace weft

// The public handle.
struct weftComm {
  static constexpr uint64_t kMagic = 0x5745465443304d4dull;
  uint64_t magic = kMagic;
  std::unique_ptr<weft::Communicator> impl;
};
