#include "sim/network_model.h"

#include <algorithm>

#include "common/status.h"

namespace weft::sim {

std::string SimNetwork::Describe() const {
  return Format(
      "%d host%s x %d rank%s; between hosts %.1f us, %.1f GB/s per NIC (%d NIC%s per host); "
      "inside a host %.1f us, %.1f GB/s per rank; reduce %.1f GB/s, copy %.1f GB/s, %.2f us per "
      "step",
      nhosts, nhosts == 1 ? "" : "s", ranks_per_host, ranks_per_host == 1 ? "" : "s",
      inter.latency_us, inter.gbps, nics_per_host, nics_per_host == 1 ? "" : "s", intra.latency_us,
      intra.gbps, reduce_gbps, copy_gbps, step_us);
}

PortClock::PortClock(const SimNetwork& net)
    : net_(net),
      rank_tx_(net.nranks(), 0.0),
      rank_rx_(net.nranks(), 0.0),
      nic_tx_(static_cast<size_t>(net.nhosts * net.nics_per_host), 0.0),
      nic_rx_(nic_tx_.size(), 0.0),
      nic_tx_bytes_(nic_tx_.size(), 0),
      nic_rx_bytes_(nic_tx_.size(), 0) {}

namespace {
double Duration(size_t bytes, const LinkCost& link) {
  return static_cast<double>(bytes) / (link.gbps * 1e3);  // GB/s = 1e3 bytes per us
}
}  // namespace

double PortClock::Leave(int src, int dst, size_t bytes, double ready_us, double* sent_us) {
  const int hs = net_.HostOf(src), hd = net_.HostOf(dst);
  const bool local = hs == hd;
  double& port = local ? rank_tx_[src] : nic_tx_[net_.NicOf(src)];
  const double start = std::max(ready_us, port);
  port = *sent_us = start + Duration(bytes, local ? net_.intra : net_.inter);
  if (!local) {
    nic_tx_bytes_[net_.NicOf(src)] += bytes;
    nic_rx_bytes_[net_.NicOf(dst)] += bytes;
    between_hosts_ += bytes;
  }
  return start;
}

double PortClock::Arrive(int src, int dst, size_t bytes, double start_us) {
  const int hs = net_.HostOf(src), hd = net_.HostOf(dst);
  const bool local = hs == hd;
  const LinkCost& link = local ? net_.intra : net_.inter;
  double& port = local ? rank_rx_[dst] : nic_rx_[net_.NicOf(dst)];
  // No sooner than it left the sender at the link's rate, and no sooner than the port
  // has taken it after what it was taking.
  port = std::max(start_us, port) + Duration(bytes, link);
  return port + link.latency_us;
}

size_t PortClock::BusiestNicBytes() const {
  size_t most = 0;
  for (size_t h = 0; h < nic_tx_bytes_.size(); ++h)
    most = std::max({most, nic_tx_bytes_[h], nic_rx_bytes_[h]});
  return most;
}

}  // namespace weft::sim
