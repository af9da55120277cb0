// Communicator set-up: who runs where (peer info), the host's topology, the transport,
// the ring and trees, the shared FIFOs between ring neighbours, and the tuner.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "collectives/communicator.h"
#include "collectives/device/device_tuning.h"
#include "collectives/job_layout.h"
#include "collectives/memory_budget.h"
#include "collectives/rail_filter.h"
#include "common/log.h"
#include "topology/hwloc_loader.h"
#include "topology/job_topology.h"
#include "topology/merge.h"
#include "topology/nccl_xml_loader.h"
#include "topology/nccl_xml_writer.h"
#include "topology/placement.h"
#include "topology/rings.h"
#include "transport/shm/shm_link.h"
#include "transport/ucx/ucx_transport.h"

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
// (containers on one machine that cannot share memory or signal each other differ), unless
// WEFT_HOSTID names it.
uint64_t HostHash(const std::string& hostid) {
  if (!hostid.empty()) return Fnv1a("WEFT_HOSTID=" + hostid);
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

}  // namespace

constexpr size_t kPciIdBytes = 16;  // "dddd:bb:dd.f", NUL-padded
constexpr size_t kPeerInfoBytes = 16 + kPciIdBytes + 8;

std::vector<uint8_t> EncodePeerInfo(const PeerInfo& info) {
  std::vector<uint8_t> out(kPeerInfoBytes, 0);
  std::memcpy(out.data(), &info.host_hash, 8);
  std::memcpy(out.data() + 8, &info.pid, 4);
  std::memcpy(out.data() + 12, &info.numa, 4);
  std::memcpy(out.data() + 16, info.gpu_pci.data(), std::min(info.gpu_pci.size(), kPciIdBytes - 1));
  // Address and port as on the wire (network byte order).
  std::memcpy(out.data() + 16 + kPciIdBytes, &info.shrink_listener.sin_addr.s_addr, 4);
  std::memcpy(out.data() + 20 + kPciIdBytes, &info.shrink_listener.sin_port, 2);
  return out;
}

Status DecodePeerInfo(const std::vector<uint8_t>& bytes, PeerInfo* out) {
  WEFT_REQUIRE(bytes.size() == kPeerInfoBytes, weftRemoteError,
               "peer info of %zu bytes (expected %zu)", bytes.size(), kPeerInfoBytes);
  std::memcpy(&out->host_hash, bytes.data(), 8);
  std::memcpy(&out->pid, bytes.data() + 8, 4);
  std::memcpy(&out->numa, bytes.data() + 12, 4);
  const char* pci = reinterpret_cast<const char*>(bytes.data() + 16);
  out->gpu_pci.assign(pci, strnlen(pci, kPciIdBytes - 1));
  out->shrink_listener = sockaddr_in{};
  out->shrink_listener.sin_family = AF_INET;
  std::memcpy(&out->shrink_listener.sin_addr.s_addr, bytes.data() + 16 + kPciIdBytes, 4);
  std::memcpy(&out->shrink_listener.sin_port, bytes.data() + 20 + kPciIdBytes, 2);
  return Status::Ok();
}

namespace {

// Whether this host has an RDMA device (InfiniBand, RoCE, EFA: /sys/class/infiniband), over
// which UCX moves large messages without copies.
bool RdmaDevicesPresent() {
  DIR* dir = opendir("/sys/class/infiniband");
  if (dir == nullptr) return false;
  bool any = false;
  while (dirent* e = readdir(dir))
    any = any || e->d_name[0] != '.';
  closedir(dir);
  return any;
}

// Whether a UCX network device name is one of this rank's: "mlx5_0:1" an RDMA device's port
// (/sys/class/infiniband/mlx5_0/ports/1), "eth0" an interface of its network namespace.
bool NetDevicePresent(const std::string& device) {
  struct stat st {};
  const size_t colon = device.find(':');
  if (colon != std::string::npos)
    return stat(("/sys/class/infiniband/" + device.substr(0, colon) + "/ports/" +
                 device.substr(colon + 1))
                    .c_str(),
                &st) == 0;
  return stat(("/sys/class/net/" + device).c_str(), &st) == 0;
}

}  // namespace

Status Communicator::Init(const UniqueIdData& id) {
  WEFT_CHECK(Bootstrap::Connect(id, rank_, nranks_, config_.timeout_ms, &bootstrap_));
  // Round 1: where everyone runs (the transport is configured from it).
  PeerInfo mine;
  mine.host_hash = HostHash(config_.hostid);
  mine.pid = static_cast<int32_t>(getpid());
  mine.numa = CurrentNumaNode();
  cuda_present_ = CudaDevicePresent();
  if (cuda_present_) mine.gpu_pci = NormalizePciId(CurrentGpuPciId());
  mine.shrink_listener = bootstrap_->listen_address();
  std::vector<std::vector<uint8_t>> all;
  WEFT_CHECK(bootstrap_->AllGather(EncodePeerInfo(mine), &all));
  std::vector<uint64_t> hosts(nranks_);
  std::vector<int32_t> pids(nranks_);
  std::vector<int> numas(nranks_);
  std::vector<std::string> gpus(nranks_);
  std::vector<sockaddr_in> listeners(nranks_);
  for (int r = 0; r < nranks_; ++r) {
    PeerInfo info;
    WEFT_CHECK(DecodePeerInfo(all[r], &info).WithContext(Format("rank %d", r)));
    hosts[r] = info.host_hash;
    pids[r] = info.pid;
    numas[r] = info.numa;
    gpus[r] = info.gpu_pci;
    listeners[r] = info.shrink_listener;
  }
  bootstrap_->SetPeerListeners(std::move(listeners));
  int first_on_host = rank_;
  for (int r = nranks_ - 1; r >= 0; --r)
    if (hosts[r] == hosts[rank_]) first_on_host = r;
  // Each host is discovered once, by its first rank, whose view every rank receives (a
  // failure too, so that no rank waits for a view that will not come).
  const Status discovered = first_on_host == rank_ ? DiscoverTopology() : Status::Ok();
  WEFT_CHECK(ExchangeHostViews(hosts, discovered));
  std::vector<bool> same_host(nranks_);
  local_pids_.assign(nranks_, 0);
  bool all_local = true;
  for (int r = 0; r < nranks_; ++r) {
    same_host[r] = hosts[r] == hosts[rank_];
    all_local = all_local && same_host[r];
    if (r != rank_ && same_host[r]) local_pids_[r] = pids[r];
  }
  // Round 2: transport addresses.
  all_local_ = all_local;
  if (config_.chunk_size == 0) config_.chunk_size = AutoChunkBytes(all_local ? 1 : 2);
  // The layout every plan is cut from (collectives/job_layout.h); it needs only where the
  // ranks run, so it is known before the transport, which binds to this rank's rail.
  std::vector<RankPlace> places(nranks_);
  for (int r = 0; r < nranks_; ++r)
    places[r] = RankPlace{numas[r], gpus[r]};
  const JobLayout layout = LayOutJob(job_, places);
  UcxOptions ucx_options;
  if (config_.rail_bind && !all_local) {
    std::string why;
    ucx_options.net_devices = RailNetDevice(job_, layout, rank_, NetDevicePresent, &why);
    WEFT_INFO(kLogNet, "rank %d: %s%s%s", rank_, why.c_str(),
              ucx_options.net_devices.empty() ? "" : ": UCX_NET_DEVICES=",
              ucx_options.net_devices.c_str());
  }
  // Between hosts over TCP, chunks go eagerly: UCX's rendezvous (from 8 KiB on TCP) costs a
  // handshake per chunk, which on a loaded link waits behind the queued data
  // (docs/design-notes.md). With an RDMA device, rendezvous is zero-copy: UCX decides.
  if (!all_local && !RdmaDevicesPresent()) ucx_options.eager_max_bytes = config_.chunk_size;
  std::unique_ptr<UcxTransport> ucx;
  WEFT_CHECK(UcxTransport::Create(rank_, nranks_, ucx_options, &ucx));
  transport_ = std::move(ucx);
  WEFT_CHECK(bootstrap_->AllGather(transport_->address(), &all));
  WEFT_CHECK(transport_->Connect(std::move(all), std::move(same_host)));
  // Ranks by host; within a host, ranks with a GPU in the order of that host's best GPU
  // ring (from its own view), the others by NUMA node.
  shapes_ = layout.shapes;
  nhosts_ = job_.nhosts();
  WEFT_CHECK(SetUpLinks());
  TunerInput tune;
  tune.nranks = nranks_;
  tune.transport = TransportKind::kTcp;
  if (all_local) tune.transport = TransportKind::kSharedMemory;
  if (!all_local && EveryHostHasInfiniBand(job_)) tune.transport = TransportKind::kInfiniBand;
  // Measured here (docs/performance.md): a step over the shared FIFOs hands off in about
  // 0.3 us, a UCX tag message in about 1 us. With more ranks on the host than cores, every
  // dependent hop waits for the scheduler whatever the path, and longer the more ranks
  // share a core (r): about 2 us at r = 2 and 9 us at r = 4 on the 2-core CI machine,
  // hence 0.5 r^2 (at least 2 us).
  // Jobs of several hosts: the transport joins the hosts; inside each, the ranks are
  // joined as on one host.
  double& local_hop = all_local ? tune.latency_us : tune.inside.latency_us;
  if (shm_) local_hop = 0.3;
  tune.one_copy = one_copy_;
  tune.one_shot_max_bytes = one_shot_.ranks.empty() ? 0 : one_shot_.max_bytes();
  int local_ranks = 0;
  for (int r = 0; r < nranks_; ++r)
    local_ranks += hosts[r] == hosts[rank_];
  tune.chunk_bytes = config_.chunk_size;
  tune.nhosts = nhosts_;
  tune.uniform_hosts = shapes_.uniform_hosts();
  // The rails spread over the hosts' network ports (the smallest count of any host's).
  tune.nics_per_host = RailNics(job_);
  tune.nchannels =
      config_.nchannels > 0 ? static_cast<int>(config_.nchannels) : AutoChannels(nhosts_);
  const TreePaths tree_paths = LongestPaths(shapes_.trees, hosts);
  tune.tree_depth = tree_paths.depth;
  tune.tree_hops_between_hosts = tree_paths.between_hosts;
  tune.tree_nic_edges = tree_paths.nic_edges;
  const double cores = std::max(1u, std::thread::hardware_concurrency());
  const double per_core = tune.ranks_per_core = local_ranks / cores;
  oversubscribed_ = per_core > 1;
  if (per_core > 1) {
    const double scheduler_wait = std::max(2.0, 0.5 * per_core * per_core);
    local_hop = scheduler_wait;
    if (!all_local) tune.latency_us = std::max(CostOf(tune.transport).latency_us, scheduler_wait);
  }
  TuneTable measured;
  if (!config_.tune_file.empty()) WEFT_CHECK(LoadTuneFile(config_.tune_file, &measured));
  RouterOptions routing;
  routing.rank = rank_;
  routing.nranks = nranks_;
  routing.nhosts = nhosts_;
  routing.chunk_size = config_.chunk_size;
  routing.nchannels_setting = static_cast<int>(config_.nchannels);
  routing.shared_fifos = shm_;
  router_ = std::make_unique<Router>(routing, shapes_,
                                     std::make_unique<Tuner>(tune, algos_, std::move(measured)));
  if (!all_local) {
    // Device buffers across hosts weigh the ring kernel against the device hierarchy over
    // the GPUs' links, the same facts on every rank (device_tuning.h).
    GpuLinkFacts gpu = JobGpuFacts(job_);
    gpu.piece_bytes = static_cast<size_t>(config_.device_hier_piece);
    router_->SetDeviceTuner(std::make_unique<Tuner>(GpuTunerInput(tune, gpu), DeviceAlgos(algos_)));
    WEFT_INFO(kLogTune,
              "device cost model: inside each host %.1f GB/s per GPU, %.1f us per step; kernels "
              "reduce at %.0f GB/s; the hierarchy's legs %.0f us per call, its all-reduce in "
              "pieces of %zu bytes",
              gpu.port_gbps, gpu.latency_us, gpu.reduce_gbps, gpu.leg_call_us, gpu.piece_bytes);
  }
  const TransportCost cost = CostOf(tune.transport);
  const TransportCost shm = CostOf(TransportKind::kSharedMemory);
  WEFT_INFO(kLogTune, "cost model: %s between %s, %.1f us per hand-off, %.1f GB/s%s%s",
            TransportKindName(tune.transport), all_local ? "local ranks" : "hosts",
            tune.latency_us > 0 ? tune.latency_us : cost.latency_us, cost.gbps,
            all_local ? ""
                      : Format("; %d hosts, inside each %.1f us, %.1f GB/s", tune.nhosts,
                               tune.inside.latency_us > 0 ? tune.inside.latency_us : shm.latency_us,
                               shm.gbps)
                            .c_str(),
            config_.tune_file.empty() ? "" : "; WEFT_TUNE_FILE overrides it where it has entries");
  if (LogEnabled(LogLevel::kInfo, kLogTopo)) {
    std::string order;
    for (int r : shapes_.ring)
      order += gpus[r].empty() ? Format(" %d(numa %d)", r, numas[r])
                               : Format(" %d(gpu %s)", r, gpus[r].c_str());
    WEFT_INFO(kLogTopo, "rank %d of %d: ring%s", rank_, nranks_, order.c_str());
    if (rank_ == 0) WEFT_INFO(kLogTopo, "layout:\n%s", DescribeLayout(job_, layout).c_str());
  }
  StartProgressThread();
  return Status::Ok();
}

Status Communicator::DiscoverTopology() {
  WEFT_CHECK(LoadHostTopology(config_.topo_file, config_.topo_merge, &host_graph_));
  WEFT_INFO(kLogTopo, "host topology from %s: %zu GPUs, %zu NICs", host_graph_.source.c_str(),
            host_graph_.gpus.size(), host_graph_.nics.size());
  if (!config_.topo_dump_file.empty()) {
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

Status Communicator::ExchangeHostViews(const std::vector<uint64_t>& hosts,
                                       const Status& discovered) {
  job_ = JobTopology::Group(hosts);
  const int my_host = job_.host_of[rank_];
  // Each host's first rank sends "V" + where its view came from + a newline + NCCL XML, or
  // "E" + why it has none.
  std::string mine;
  if (job_.first_rank[my_host] == rank_)
    mine = discovered.ok() ? "V" + host_graph_.source + "\n" + NcclTopologyXml(host_graph_)
                           : "E" + discovered.message();
  std::vector<std::vector<uint8_t>> views;
  WEFT_CHECK(bootstrap_->AllGather(std::vector<uint8_t>(mine.begin(), mine.end()), &views));
  WEFT_CHECK(discovered);
  // Every rank parses every view, its own host's too, so that all hold the very same graphs.
  for (int h = 0; h < job_.nhosts(); ++h) {
    const int from = job_.first_rank[h];
    const std::string text(views[from].begin(), views[from].end());
    if (!text.empty() && text[0] == 'E')
      return RemoteError(Format("rank %d could not discover its host: %s", from, text.c_str() + 1));
    const size_t newline = text.find('\n');
    WEFT_REQUIRE(!text.empty() && text[0] == 'V' && newline != std::string::npos, weftRemoteError,
                 "rank %d sent no view of host %d (%zu bytes)", from, h, text.size());
    const std::string source = text.substr(1, newline - 1);
    WEFT_CHECK(ParseNcclTopology(text.substr(newline + 1), Format("rank %d's host view", from),
                                 &job_.hosts[h]));
    job_.hosts[h].source =
        from == rank_ ? source : Format("%s (via rank %d)", source.c_str(), from);
    // Every rank narrows every host's rails alike (the variables are the same on every rank).
    WEFT_CHECK(
        FilterRails(config_.ib_hca, config_.socket_ifname, Format("host %d", h), &job_.hosts[h]));
  }
  if (job_.first_rank[my_host] != rank_) host_graph_ = job_.hosts[my_host];
  WEFT_INFO(kLogTopo, "%d hosts:\n%s", job_.nhosts(), DescribeHosts(job_).c_str());
  return Status::Ok();
}

// Every part this communicator maps, against WEFT_MEMORY_LIMIT. Each rank counts the
// largest region of any rank of the job, so that all of them decide alike and fail together.
Status Communicator::CheckMemoryBudget(const std::function<size_t(int)>& region_bytes,
                                       size_t one_shot_bytes, const NetLinkShape& net,
                                       const DirectLinkConfig& links) const {
  MemoryBudget budget(config_.memory_limit);
  size_t largest_region = 0;
  for (int r = 0; region_bytes && r < nranks_; ++r)
    largest_region = std::max(largest_region, region_bytes(r));
  budget.Add("shared-memory FIFOs (WEFT_NCHANNELS, WEFT_CHUNK_SIZE, WEFT_BUFFSIZE)",
             largest_region);
  budget.Add("one-shot scratch (WEFT_ONE_SHOT_MAX_BYTES)", one_shot_bytes);
  if (nhosts_ > 1 || !config_.shm_direct) {
    // Link ends over the network, at most: two per ring channel, six per tree (a parent and
    // two children, both ways), two per recursive-doubling round.
    int rounds = 0;
    while ((1 << rounds) < nranks_)
      ++rounds;
    const size_t ends =
        static_cast<size_t>(2 * links.ring_channels + 6 * links.other_channels + 2 * rounds);
    budget.Add("network FIFOs, at most (WEFT_NCHANNELS, WEFT_CHUNK_SIZE, WEFT_BUFFSIZE)",
               ends * static_cast<size_t>(net.nslots) * net.slot_bytes);
  }
  if (cuda_present_)
    budget.Add("pinned staging (WEFT_CUDA_STAGING_PIECE)", 2 * config_.cuda_staging_piece);
  WEFT_CHECK(budget.Check());
  WEFT_INFO(kLogInit, "host memory: %s", budget.Describe().c_str());
  return Status::Ok();
}

Status Communicator::SetUpLinks() {
  NetLinkShape net;
  net.slot_bytes = config_.chunk_size;
  net.nslots = static_cast<int>(std::clamp<size_t>(config_.buffsize / config_.chunk_size, 2, 64));
  links_ = std::make_unique<LinkTable>(transport_.get(), net);
  // Every rank takes part in both exchanges, so that they all agree on the outcome.
  DirectLinkConfig config;
  config.ring_channels =
      config_.nchannels > 0 ? static_cast<int>(config_.nchannels) : AutoChannels(nhosts_);
  config.other_channels = static_cast<int>(shapes_.trees.size());
  config.ring.slot_bytes = config_.chunk_size;
  config.ring.nslots = net.nslots;
  config.other.slot_bytes = std::min<size_t>(config_.chunk_size, kDirectOtherSlotBytes);
  config.other.nslots = std::min(config.ring.nslots, 4);
  std::vector<int> host_of(static_cast<size_t>(nranks_));
  for (int r = 0; r < nranks_; ++r)
    host_of[static_cast<size_t>(r)] = job_.host_of[static_cast<size_t>(r)];
  const DirectLinkMap map = DirectLinkMap::Build(shapes_.ring, shapes_.trees, config, host_of);
  const std::vector<DirectLink> into = map.Into(rank_), from = map.From(rank_);
  bool want = config_.shm_direct && !(into.empty() && from.empty());
  // The one-shot scratch follows the FIFOs in each rank's region, and every rank stores into
  // every peer's: every pair of ranks must share memory (a job of one host whose pairs are
  // all linked).
  const bool all_local = nhosts_ == 1;
  const bool one_shot_wanted = want && all_local && nranks_ >= 2 &&
                               nranks_ <= config.all_pairs_max && config_.one_shot_max_bytes > 0;
  auto fifo_bytes = [&](int r) { return (map.RegionBytes(r) + 4095) / 4096 * 4096; };
  const size_t one_shot_bytes =
      one_shot_wanted
          ? sizeof(OneShotBell) + OneShotScratch::Bytes(nranks_, config_.one_shot_max_bytes)
          : 0;
  WEFT_CHECK(CheckMemoryBudget(want ? fifo_bytes : std::function<size_t(int)>{}, one_shot_bytes,
                               net, config));
  const RegisteredMemory* region = nullptr;
  if (want) {
    Status s = transport_->RegisterShared(fifo_bytes(rank_) + one_shot_bytes, &region);
    if (!s.ok()) {
      WEFT_INFO(kLogInit, "no shared FIFOs: %s", s.message().c_str());
      want = false;
    }
  }
  std::vector<std::vector<uint8_t>> descriptors;
  WEFT_CHECK(
      bootstrap_->AllGather(want ? region->descriptor : std::vector<uint8_t>{}, &descriptors));
  // Map the region of every rank this one writes to.
  std::vector<void*> peer_region(nranks_, nullptr);
  bool mapped = want;
  for (const DirectLink& l : from) {
    if (!mapped || peer_region[l.to] != nullptr) continue;
    Status s = descriptors[l.to].empty()
                   ? SystemError(Format("rank %d has no shared FIFOs", l.to))
                   : transport_->MapPeerMemory(l.to, descriptors[l.to], &peer_region[l.to]);
    if (!s.ok()) {
      WEFT_INFO(kLogInit, "no shared FIFOs: %s", s.message().c_str());
      mapped = false;
    }
  }
  bool one_shot_mapped = mapped && one_shot_wanted;
  for (int r = 0; one_shot_mapped && r < nranks_; ++r) {
    if (r == rank_ || peer_region[r] != nullptr) continue;
    Status s = descriptors[r].empty()
                   ? SystemError(Format("rank %d has no shared memory", r))
                   : transport_->MapPeerMemory(r, descriptors[r], &peer_region[r]);
    if (!s.ok()) {
      WEFT_INFO(kLogInit, "no one-shot scratch: %s", s.message().c_str());
      one_shot_mapped = false;
    }
  }
  // One-copy reads (ranks of one job on one host): can this rank read every peer it writes
  // to? Each region's descriptor starts with its address in the owner's process: read a word
  // from there.
  bool readable = mapped && config_.one_copy && all_local;
  for (const DirectLink& l : from) {
    if (!readable) break;
    uint64_t address, word;
    std::memcpy(&address, descriptors[l.to].data(), sizeof(address));
    Status s = ReadFromProcess(local_pids_[l.to], address, &word, sizeof(word));
    if (!s.ok()) {
      WEFT_INFO(kLogInit, "no one-copy reads: %s", s.message().c_str());
      readable = false;
    }
  }
  // A rank with no links on its host has nothing to map: it agrees with anything.
  const bool alone = into.empty() && from.empty();
  std::vector<std::vector<uint8_t>> oks;
  WEFT_CHECK(bootstrap_->AllGather(
      {mapped || alone ? uint8_t{1} : uint8_t{0}, readable ? uint8_t{1} : uint8_t{0},
       one_shot_mapped ? uint8_t{1} : uint8_t{0}},
      &oks));
  shm_ = true;
  one_copy_ = true;
  bool one_shot = one_shot_wanted;
  for (const auto& o : oks) {
    shm_ = shm_ && o.size() == 3 && o[0] == 1;
    one_copy_ = one_copy_ && o.size() == 3 && o[1] == 1;
    one_shot = one_shot && o.size() == 3 && o[2] == 1;
  }
  shm_ = shm_ && !map.links().empty();
  // An all-gather by reads reads every peer: every pair must be linked.
  one_copy_ = shm_ && one_copy_ && all_local && nranks_ <= config.all_pairs_max;
  if (!shm_) return Status::Ok();
  if (one_shot) {
    one_shot_.lines = proto::OneShotLines(config_.one_shot_max_bytes);
    one_shot_.ranks.assign(static_cast<size_t>(nranks_), nullptr);
    one_shot_.bells.assign(static_cast<size_t>(nranks_), nullptr);
    for (int r = 0; r < nranks_; ++r) {
      auto* base = static_cast<std::byte*>(r == rank_ ? region->local : peer_region[r]);
      one_shot_.bells[static_cast<size_t>(r)] =
          reinterpret_cast<OneShotBell*>(base + fifo_bytes(r));
      one_shot_.ranks[static_cast<size_t>(r)] =
          reinterpret_cast<proto::LlLine*>(base + fifo_bytes(r) + sizeof(OneShotBell));
    }
    WEFT_INFO(kLogInit, "one-shot scratch: calls up to %zu bytes, %.1f KiB here",
              one_shot_.max_bytes(), static_cast<double>(one_shot_bytes) / 1024);
  }
  AddShmLinks(map, rank_, region != nullptr ? region->local : nullptr, peer_region, local_pids_,
              links_.get());
  WEFT_INFO(kLogInit,
            "shared FIFOs: %zu in, %zu out over %d channels (%.1f MiB here); ring %d x %zu bytes, "
            "others %d x %zu bytes",
            into.size(), from.size(), map.channels(),
            static_cast<double>(map.RegionBytes(rank_)) / (1 << 20), config.ring.nslots,
            config.ring.slot_bytes, config.other.nslots, config.other.slot_bytes);
  return Status::Ok();
}

}  // namespace weft
