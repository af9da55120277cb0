// weft-sim: what a collective would take on a job too big to run here, by running every
// rank's real plan on a modelled network (sim/), beside what the tuner predicts and picks.
//   weft-sim --hosts 16 --ranks-per-host 8 -c allreduce -b 8 -e 256M -f 4
//   weft-sim --topo-file node.xml --gpu h100 --hosts 4 -c allreduce -b 8G -e 8G -J out.json
// For each size: the simulated time of every algorithm, the best one, the tuner's pick and
// how much slower than the best its pick is (1.00: it picked the best). With a topology file
// or a GPU model, the hosts are GPU nodes (sim/gpu_node.h): a rank per GPU on NVLink, a rail
// per NIC.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/build_info.h"
#include "common/config.h"
#include "sim/device_hier_sim.h"
#include "sim/gpu_node.h"
#include "sim/job_sim.h"

using namespace weft;
using namespace weft::sim;

namespace {

constexpr int kGpuChannels = 8;  // GPU nodes' default channels

struct Options {
  SimJob job;
  std::string net = "ib";
  std::string coll = "allreduce";
  std::string min_bytes = "8", max_bytes = "256M", chunk = "0";
  int step_factor = 4;
  size_t elem_size = 4;
  std::string algo;  // WEFT_ALGO syntax; empty: every algorithm the collective has
  bool verbose = false;
  std::string json_file;
  std::vector<std::string> node_notes;  // GPU nodes: where each figure came from
  bool device_hier_only = false;        // GPU nodes: no plan, only the device hierarchy's legs
};

bool ParseColl(const std::string& s, CollType* out) {
  const char* names[] = {"allreduce", "allgather", "reducescatter", "broadcast", "reduce"};
  for (int c = 0; c < 5; ++c)
    if (s == names[c]) return *out = static_cast<CollType>(c), true;
  return false;
}

std::string Bytes(size_t b) {
  if (b >= (size_t{1} << 30) && b % (size_t{1} << 30) == 0) return std::to_string(b >> 30) + "G";
  if (b >= (size_t{1} << 20) && b % (size_t{1} << 20) == 0) return std::to_string(b >> 20) + "M";
  if (b >= (size_t{1} << 10) && b % (size_t{1} << 10) == 0) return std::to_string(b >> 10) + "K";
  return std::to_string(b);
}

int Run(const Options& o) {
  CollType coll;
  if (!ParseColl(o.coll, &coll)) {
    std::fprintf(stderr, "weft-sim: unknown collective '%s'\n", o.coll.c_str());
    return 2;
  }
  size_t lo, hi, chunk;
  if (!ParseSize(o.min_bytes, &lo) || !ParseSize(o.max_bytes, &hi) || !ParseSize(o.chunk, &chunk) ||
      lo == 0 || hi < lo || o.step_factor < 2) {
    std::fprintf(stderr, "weft-sim: bad sizes (-b %s -e %s -f %d --chunk-size %s)\n",
                 o.min_bytes.c_str(), o.max_bytes.c_str(), o.step_factor, o.chunk.c_str());
    return 2;
  }
  SimJob job = o.job;
  job.chunk_size = chunk != 0 ? chunk : AutoChunkBytes(job.net.nhosts);
  const int n = job.net.nranks();
  AlgoSpec allowed;
  if (Status s = ParseAlgoSpec(o.algo, &allowed); !s.ok()) {
    std::fprintf(stderr, "weft-sim: --algo: %s\n", s.message().c_str());
    return 2;
  }
  // Every algorithm of the registry the job can run (direct reads and the one-shot run on
  // one host's shared memory only, which the model does not have: the shape leaves them out).
  std::vector<Algo> algos;
  JobShape shape;
  shape.nranks = n;
  shape.nhosts = job.net.nhosts;
  for (const AlgorithmInfo* a : Algorithms())
    if (a->id != Algo::kDirect && allowed.Allows(coll, a->id) &&
        (a->refuses == nullptr || a->refuses(shape) == nullptr))
      algos.push_back(a->id);
  // GPU nodes: the device hierarchy as Weft runs it on device buffers (its legs in turn:
  // sim/device_hier_sim.h), beside the plans.
  const bool dev_hier = job.gpu && job.net.nhosts > 1 && job.net.ranks_per_host > 1 &&
                        (coll == CollType::kAllReduce || coll == CollType::kAllGather ||
                         coll == CollType::kReduceScatter);
  if (o.device_hier_only) {
    if (!dev_hier) {
      std::fprintf(stderr,
                   "weft-sim: --device-hier-only needs GPU nodes (--topo-file or --gpu), several "
                   "of them, of several GPUs, and all-reduce, all-gather or reduce-scatter\n");
      return 2;
    }
    algos.clear();
  }
  if (algos.empty() && !dev_hier) {
    std::fprintf(stderr, "weft-sim: --algo %s leaves %s no algorithm\n", o.algo.c_str(),
                 CollName(coll));
    return 2;
  }
  TunerInput tin = JobTunerInput(job);
  Tuner tuner(tin, JobTunerAlgos(job, allowed));
  std::printf("# weft-sim: %s of %s-byte elements, %d ranks\n# %s\n", CollName(coll),
              Bytes(o.elem_size).c_str(), n, job.net.Describe().c_str());
  for (const std::string& note : o.node_notes)
    std::printf("# node: %s\n", note.c_str());
  nlohmann::json rows = nlohmann::json::array();
  std::printf("# tuner: %s, %.1f us, %.1f GB/s (the model a communicator of this job uses)\n",
              TransportKindName(tin.transport), CostOf(tin.transport).latency_us,
              CostOf(tin.transport).gbps);
  if (job.gpu && job.net.nhosts > 1)
    std::printf(
        "# device tuner (ring kernel or device hierarchy): inside a node %.1f GB/s, %.1f us; "
        "kernels reduce at %.0f GB/s; the hierarchy's legs %.0f us per further call, its "
        "all-reduce in pieces of %zu bytes\n",
        job.gpu->port_gbps, job.gpu->latency_us, job.gpu->reduce_gbps, job.gpu->leg_call_us,
        job.gpu->piece_bytes);
  std::printf("#%11s", "size");
  for (Algo a : algos)
    std::printf(" %10s %8s", (std::string(AlgoName(a)) + "(us)").c_str(), "pred");
  if (dev_hier) std::printf(" %12s %8s", "dev-hier(us)", "pred");
  std::printf(" %6s %6s %7s %9s\n", "best", "tuner", "regret", "busbw");
  int failures = 0;
  for (size_t bytes = lo; bytes <= hi; bytes *= static_cast<size_t>(o.step_factor)) {
    SimCall call;
    call.coll = coll;
    call.elem_size = o.elem_size;
    call.count = CountForBytes(coll, bytes, o.elem_size, n);
    if (call.count == 0) continue;
    const size_t real_bytes = CallBytes(call, n);
    std::printf("%12zu", real_bytes);
    double best_time = -1, picked_time = -1;
    Algo best = algos[0];
    const Algo picked = tuner.Choose(coll, real_bytes);
    nlohmann::json row = {{"size", real_bytes}, {"count", call.count}};
    for (Algo a : algos) {
      SimResult r;
      Status s = SimulateCall(job, a, call, &r);
      if (!s.ok()) {
        std::printf(" %10s %8s", "error", "");
        std::fprintf(stderr, "weft-sim: %s %s of %zu bytes: %s\n", AlgoName(a), CollName(coll),
                     real_bytes, s.message().c_str());
        ++failures;
        continue;
      }
      std::printf(" %10.1f %8.1f", r.time_us, tuner.Predict(a, coll, real_bytes));
      row["algos"][AlgoName(a)] = {{"time_us", r.time_us},
                                   {"busbw", real_bytes / (r.time_us * 1e3) * BusFactor(coll, n)},
                                   {"tuner_predicted_us", tuner.Predict(a, coll, real_bytes)},
                                   {"bytes_between_hosts", r.bytes_between_hosts},
                                   {"busiest_nic_bytes", r.busiest_nic_bytes}};
      if (best_time < 0 || r.time_us < best_time) best_time = r.time_us, best = a;
      if (a == picked) picked_time = r.time_us;
      if (o.verbose)
        std::fprintf(stderr, "  %s: %zu messages, %zu bytes between hosts, busiest NIC %zu\n",
                     AlgoName(a), r.messages, r.bytes_between_hosts, r.busiest_nic_bytes);
    }
    double busbw = best_time > 0 ? real_bytes / (best_time * 1e3) * BusFactor(coll, n) : 0;
    if (dev_hier) {
      DeviceHierTiming t;
      const Status st =
          SimulateDeviceHierarchy(job, call, job.gpu->leg_call_us, job.gpu->piece_bytes, &t);
      if (!st.ok()) {
        std::printf(" %12s %8s", "error", "");
        std::fprintf(stderr, "weft-sim: device hierarchy %s of %zu bytes: %s\n", CollName(coll),
                     real_bytes, st.message().c_str());
        ++failures;
      } else {
        const double predicted = tuner.Predict(Algo::kHier, coll, real_bytes);
        const double dev_busbw = real_bytes / (t.time_us * 1e3) * BusFactor(coll, n);
        std::printf(" %12.1f %8.1f", t.time_us, predicted);
        row["device_hierarchy"] = {{"time_us", t.time_us},       {"busbw", dev_busbw},
                                   {"local_us", t.local_us},     {"rail_us", t.rail_us},
                                   {"overlap_us", t.overlap_us}, {"copy_us", t.copy_us},
                                   {"calls_us", t.calls_us},     {"tuner_predicted_us", predicted}};
        if (algos.empty()) busbw = dev_busbw;
      }
    }
    std::printf(" %6s %6s %7.2f %9.2f\n", algos.empty() ? "-" : AlgoName(best), AlgoName(picked),
                picked_time > 0 && best_time > 0 ? picked_time / best_time : 0.0, busbw);
    row["best"] = AlgoName(best);
    row["tuner"] = AlgoName(picked);
    row["best_busbw"] = busbw;
    rows.push_back(row);
    if (bytes > hi / static_cast<size_t>(o.step_factor)) break;
  }
  if (!o.json_file.empty()) {
    const nlohmann::json doc = {{"collective", CollName(coll)},
                                {"elem_size", o.elem_size},
                                {"hosts", job.net.nhosts},
                                {"ranks_per_host", job.net.ranks_per_host},
                                {"nranks", n},
                                {"network", job.net.Describe()},
                                {"node", o.node_notes},
                                {"results", rows}};
    std::ofstream f(o.json_file);
    f << doc.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "weft-sim: cannot write %s\n", o.json_file.c_str());
      return 1;
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-sim: collectives of a big job on a modelled network, beside the tuner"};
  app.set_version_flag("--version", weft::ToolVersion("weft-sim"));
  Options o;
  SimNetwork& net = o.job.net;
  net.nhosts = 16;
  net.ranks_per_host = 8;
  app.add_option("--hosts", net.nhosts, "hosts")->check(CLI::Range(1, 1 << 16));
  app.add_option("--ranks-per-host", net.ranks_per_host, "ranks per host")
      ->check(CLI::Range(1, 1024));
  app.add_option("--net", o.net,
                 "between hosts: ib (InfiniBand HDR) or tcp (25 GbE); sets the "
                 "link's latency and rate and what the tuner is told")
      ->check(CLI::IsMember({"ib", "tcp"}));
  double inter_us = 0, inter_gbps = 0;
  app.add_option("--inter-us", inter_us, "latency between hosts (default: --net's)");
  app.add_option("--inter-gbps", inter_gbps, "GB/s of each NIC each way (default: --net's)");
  app.add_option("--intra-us", net.intra.latency_us, "latency inside a host");
  app.add_option("--intra-gbps", net.intra.gbps, "GB/s of each rank's port inside a host");
  app.add_option("--reduce-gbps", net.reduce_gbps, "a rank's reduction rate");
  app.add_option("--copy-gbps", net.copy_gbps, "a rank's copy rate");
  app.add_option("--step-us", net.step_us, "a step's cost besides its data");
  app.add_option("-c,--coll", o.coll, "allreduce, allgather, reducescatter, broadcast, reduce");
  app.add_option("-b,--minbytes", o.min_bytes, "smallest size");
  app.add_option("-e,--maxbytes", o.max_bytes, "largest size");
  app.add_option("-f,--stepfactor", o.step_factor, "size multiplier");
  app.add_option("--elem-size", o.elem_size, "bytes per element")
      ->check(CLI::IsMember({1, 2, 4, 8}));
  app.add_option("--chunk-size", o.chunk, "WEFT_CHUNK_SIZE");
  app.add_option("--channels", o.job.nchannels,
                 "WEFT_NCHANNELS (0: the default; 8 on GPU nodes, 1 MiB chunks there)")
      ->check(CLI::Range(0, 64));
  app.add_option("--algo", o.algo, "algorithms to simulate, as WEFT_ALGO (default: all)");
  app.add_flag("-v,--verbose", o.verbose, "messages and NIC bytes per algorithm, on stderr");
  std::string topo_file, gpu;
  int nics = 0;
  GpuNetOptions gpu_net;
  app.add_option("--topo-file", topo_file,
                 "GPU nodes as this topology file (NCCL or hwloc XML of one node) describes: a "
                 "rank per GPU, NVLink inside, a rail per NIC between nodes; what it lacks from "
                 "--gpu");
  app.add_option(
      "--gpu", gpu,
      "GPU model for what the file lacks, or nodes of it without a file (" + GpuModelNames() + ")");
  app.add_option("--nics", nics, "NICs per node without a file (default: one per GPU)")
      ->check(CLI::Range(1, 64));
  app.add_option("--kernel-step-us", gpu_net.step_us, "GPU nodes: a kernel step's cost");
  app.add_option("--nic-efficiency", gpu_net.nic_efficiency,
                 "GPU nodes: the share of a NIC's line rate RDMA moves")
      ->check(CLI::Range(0.1, 1.0));
  double device_call_us = kDefaultDeviceCallUs;
  app.add_option("--device-call-us", device_call_us,
                 "GPU nodes: the start of each of the device hierarchy's further calls");
  size_t device_piece = kDefaultDeviceHierPieceBytes;
  app.add_option("--device-hier-piece", device_piece,
                 "GPU nodes: WEFT_DEVICE_HIER_PIECE in bytes (0: one piece)");
  app.add_flag("--device-hier-only", o.device_hier_only,
               "GPU nodes: simulate only the device hierarchy (its legs are small: 1024 nodes "
               "run in seconds), not the plans");
  app.add_option("-J,--output-file", o.json_file,
                 "write every algorithm's time and busbw per size, and the tuner's choice, as "
                 "JSON");
  CLI11_PARSE(app, argc, argv);
  o.job.between_hosts = o.net == "tcp" ? TransportKind::kTcp : TransportKind::kInfiniBand;
  const TransportCost cost = CostOf(o.job.between_hosts);
  net.inter.latency_us = inter_us > 0 ? inter_us : cost.latency_us;
  net.inter.gbps = inter_gbps > 0 ? inter_gbps : cost.gbps;
  if (!topo_file.empty() || !gpu.empty()) {
    GpuNode node;
    const Status s = !topo_file.empty()
                         ? GpuNodeFromFile(topo_file, gpu, &node)
                         : GpuNodeFromModel(gpu, net.ranks_per_host,
                                            nics > 0 ? nics : net.ranks_per_host, &node);
    if (!s.ok()) {
      std::fprintf(stderr, "weft-sim: %s\n", s.message().c_str());
      return 2;
    }
    if (inter_us > 0) gpu_net.inter_us = inter_us;
    const int hosts = net.nhosts;
    net = GpuNetwork(node, hosts, gpu_net);
    if (inter_gbps > 0) net.inter.gbps = inter_gbps;
    o.node_notes = node.notes;
    // The device path's shape: a block per channel, FIFO slots of a chunk (NCCL's Simple
    // protocol moves 512 KiB-1 MiB per step on as many channels).
    if (o.job.nchannels == 0) o.job.nchannels = kGpuChannels;
    if (o.chunk == "0") o.chunk = "1M";
    // The tuner a communicator of such nodes gives device buffers (device_tuning.h).
    GpuLinkFacts facts;
    facts.port_gbps = net.intra.gbps;
    facts.latency_us = net.intra.latency_us;
    facts.reduce_gbps = net.reduce_gbps;
    facts.leg_call_us = device_call_us;
    facts.piece_bytes = device_piece;
    o.job.gpu = facts;
  }
  return Run(o);
}
