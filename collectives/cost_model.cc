#include "collectives/cost_model.h"

#include <algorithm>

namespace weft {
namespace {

// latency (us), bandwidth (GB/s) per transport. Shared memory: measured on the CI-class
// machine (a ring step's hand-off through the shared FIFOs, and its sustained rate);
// TCP over 25 GbE and InfiniBand HDR: usual values.
const TransportCost kTransportCosts[] = {
    {1.0, 6.0},   // shared memory
    {25.0, 2.5},  // TCP
    {2.5, 23.0},  // InfiniBand
};

}  // namespace

const char* TransportKindName(TransportKind t) {
  switch (t) {
    case TransportKind::kSharedMemory:
      return "shm";
    case TransportKind::kTcp:
      return "tcp";
    case TransportKind::kInfiniBand:
      return "ib";
  }
  return "?";
}

TransportCost CostOf(TransportKind t) {
  return kTransportCosts[static_cast<int>(t)];
}

CostModel::CostModel(const TunerInput& input)
    : in(input), between(CostOf(input.transport)), inside(CostOf(TransportKind::kSharedMemory)) {
  if (input.link_gbps > 0) between.gbps = input.link_gbps;
  if (input.latency_us > 0) between.latency_us = input.latency_us;
  if (input.inside.gbps > 0) inside.gbps = input.inside.gbps;
  if (input.inside.latency_us > 0) inside.latency_us = input.inside.latency_us;
}

int CostModel::Log2Ceil(int n) {
  int l = 0;
  while ((1 << l) < n)
    ++l;
  return l;
}

int CostModel::hosts() const {
  return std::max(1, std::min(in.nhosts, in.nranks));
}

int CostModel::per_host() const {
  return (in.nranks + hosts() - 1) / hosts();
}

double CostModel::us_per_byte() const {
  return 1.0 / (between.gbps * 1e3);  // GB/s -> bytes per us
}

double CostModel::us_per_byte_across() const {
  // Every algorithm's data crosses both kinds of link at their full rate, one stream per
  // link (the ring enters each host once; the trees' edges between hosts are few), so the
  // slower link sets the rate. With one rank per host too: what arrives is still copied or
  // reduced in host memory, at about the rate of a hop inside a host.
  return 1.0 / (std::min(between.gbps, inside.gbps) * 1e3);
}

double CostModel::ring_hop_us() const {
  const int n = in.nranks, h = hosts();
  return (h * between.latency_us + (n - h) * inside.latency_us) / n;
}

int CostModel::tree_depth() const {
  return in.tree_depth > 0 ? in.tree_depth : Log2Ceil(in.nranks);
}

double CostModel::tree_path_us() const {
  // The trees' longest path, its hops between hosts at the network's latency (as the
  // communicator counts them on its trees; without that, the trees over the ring order keep
  // about log2(per_host) levels inside each host and log2(hosts) above them).
  const int depth = tree_depth();
  const int crossing = in.tree_depth > 0 ? in.tree_hops_between_hosts : Log2Ceil(hosts());
  return crossing * between.latency_us + (depth - crossing) * inside.latency_us;
}

}  // namespace weft
