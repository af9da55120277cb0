// The cost model the tuner and every algorithm's cost terms share, NCCL-style:
//   time = hops x latency + bytes x traffic / bandwidth,
// with the latency and bandwidth of each transport in one table (kTransportCosts), and, for
// jobs of several hosts, the links inside a host apart from those between hosts. Each
// algorithm's own terms are in its file (collectives/algorithms/); this is what they read.
#pragma once

#include <cstddef>

namespace weft {

enum class TransportKind { kSharedMemory = 0, kTcp = 1, kInfiniBand = 2 };
const char* TransportKindName(TransportKind t);

struct TransportCost {
  double latency_us;  // one message between neighbours, end to end
  double gbps;        // sustained bandwidth of one link, GB/s
};

// The table, per transport: measured here for shared memory (docs/performance.md), typical
// values for TCP and InfiniBand HDR.
TransportCost CostOf(TransportKind t);

struct TunerInput {
  int nranks = 1;
  TransportKind transport = TransportKind::kSharedMemory;
  double link_gbps = 0;   // 0: the table's
  double latency_us = 0;  // 0: the table's
  bool one_copy = false;  // Algo::kDirect can run (every rank on one host, CMA works)
  // Algo::kOneShot can run for calls of up to this many bytes (its scratch mapped into every
  // peer: one host, WEFT_ONE_SHOT_MAX_BYTES); 0: it cannot.
  size_t one_shot_max_bytes = 0;
  double ranks_per_core = 1;  // on the busiest host; above 1, chains of hops stall
  // Hosts of the job. Above 1, `transport` (and link_gbps, latency_us) is what joins the
  // hosts and `inside` what joins the ranks of one host, and the model follows each
  // algorithm's hops onto the links they take.
  int nhosts = 1;
  bool uniform_hosts = true;       // every host has as many ranks (hierarchical algorithms)
  int nics_per_host = 1;           // network ports of a host the rails spread over
  TransportCost inside{0, 0};      // zeros: the shared-memory table's
  size_t chunk_bytes = 256 << 10;  // WEFT_CHUNK_SIZE: what a tree's pipeline moves per hop
  // Jobs of several hosts: the channels a ring runs (their steps share each rank's link,
  // and one channel's transfer fills the time another spends waiting and reducing), and
  // the rate at which a rank reduces or copies what arrives.
  int nchannels = 1;
  double reduce_gbps = 12.0;
  // The trees' longest root-to-leaf path and the most of its hops between hosts
  // (LongestPaths); zeros: estimated as log2 of the ranks and of the hosts.
  int tree_depth = 0;
  int tree_hops_between_hosts = 0;
  int tree_nic_edges = 0;  // the most tree edges through one NIC one way (0: one)
  // Above 0, the hierarchical algorithm is the device hierarchy (device_tuning.h), not the
  // host's plan: its legs are calls of their own, each further one costing
  // `hier_leg_call_us` to start; its all-reduce pipelines pieces of about this many bytes
  // (DeviceHierPieces), its other collectives run their legs in turn.
  size_t hier_device_piece_bytes = 0;
  double hier_leg_call_us = 0;
};

// The device hierarchy's all-reduce of `bytes` on `hosts` hosts of `per_host` ranks runs in
// this many pieces of about `piece_bytes` (WEFT_DEVICE_HIER_PIECE; 0: one), at most
// kMaxDeviceHierPieces, and few enough that each step of a piece's ring along the rail (the
// piece's 1/L over H ranks) moves at least min(kMinDeviceHierRailStep, piece_bytes): smaller
// steps leave that ring bound by its 2(H - 1) latencies, paid once per piece (weft-sim: on
// 512 H100 nodes, 16 pieces of 8 GiB simulate 256 GB/s, 8 pieces 336).
constexpr size_t kMaxDeviceHierPieces = 16;
constexpr size_t kMinDeviceHierRailStep = size_t{256} << 10;
inline size_t DeviceHierPieces(size_t bytes, size_t piece_bytes, int per_host, int hosts) {
  if (piece_bytes == 0) return 1;
  size_t pieces = bytes / piece_bytes;
  const size_t step = piece_bytes < kMinDeviceHierRailStep ? piece_bytes : kMinDeviceHierRailStep;
  const size_t rail_steps =
      static_cast<size_t>(per_host > 0 ? per_host : 1) * static_cast<size_t>(hosts > 0 ? hosts : 1);
  const size_t by_steps = bytes / (rail_steps * step);
  if (pieces > by_steps) pieces = by_steps;
  return pieces < 1 ? 1 : (pieces > kMaxDeviceHierPieces ? kMaxDeviceHierPieces : pieces);
}

// The input with its costs resolved, and the terms several algorithms use.
struct CostModel {
  explicit CostModel(const TunerInput& input);

  TunerInput in;
  TransportCost between;  // between hosts (or, on one host, between its ranks)
  TransportCost inside;   // between the ranks of one host, for jobs of several hosts

  static int Log2Ceil(int n);
  bool across_hosts() const { return in.nhosts > 1; }
  int hosts() const;     // at most the ranks
  int per_host() const;  // ranks on the busiest host
  // Microseconds per byte: of the transport (one host), of the slower link (across hosts).
  double us_per_byte() const;
  double us_per_byte_across() const;
  // Across hosts: a ring hop's latency, averaged over the ring's hops inside and between
  // hosts (a ring crosses `hosts` boundaries per lap of n hops).
  double ring_hop_us() const;
  // Across hosts: the trees' longest path, and its latency.
  int tree_depth() const;
  double tree_path_us() const;
};

}  // namespace weft
