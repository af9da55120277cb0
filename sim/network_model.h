// The modelled network of the scale simulator: hosts of equal size, ranks inside a host
// joined by a port per rank each way (shared memory, or NVLink), hosts joined by their NICs
// (one, or one per rail: gpu_node.h) each way through a non-blocking switch. A message holds every
// port on its path for bytes / rate, streaming through the sender's port and then the receiver's,
// and lands a latency after its last byte; messages that share a port queue behind each other,
// first come first served: the contention that decides ring-versus-tree across hosts.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace weft::sim {

struct LinkCost {
  double latency_us = 1.0;  // from the message's last byte leaving to its arrival
  double gbps = 10.0;       // each way, GB/s
};

struct SimNetwork {
  int nhosts = 1;
  int ranks_per_host = 1;
  LinkCost intra{1.0, 6.0};   // between ranks of one host: each rank's port, each way
  LinkCost inter{2.5, 23.0};  // between hosts: each host's NIC, each way
  double reduce_gbps = 12.0;  // a rank's reduction rate, in bytes of result per second
  double copy_gbps = 12.0;    // a rank's local copies
  double step_us = 0.2;       // what a step costs its rank besides moving data
  // False: one progress thread runs every channel of a rank, one step at a time (CPUs).
  // True: each channel runs on its own (a GPU block each), sharing the rank's reduce and
  // copy rates.
  bool channels_in_parallel = false;
  // NICs per host, one rail each: a rank's traffic between hosts goes through its host's NIC
  // rail_of_local[its local index] (empty: every rank's through NIC 0).
  int nics_per_host = 1;
  std::vector<int> rail_of_local;

  int nranks() const { return nhosts * ranks_per_host; }
  int HostOf(int rank) const { return rank / ranks_per_host; }
  // The NIC (of every host's, host by host) rank's traffic between hosts goes through.
  int NicOf(int rank) const {
    const int local = rank % ranks_per_host;
    const int rail = rail_of_local.empty() ? 0 : rail_of_local[static_cast<size_t>(local)];
    return HostOf(rank) * nics_per_host + rail;
  }
  std::string Describe() const;
};

// Port occupancy: when each port is next free, and what crossed each NIC.
class PortClock {
 public:
  explicit PortClock(const SimNetwork& net);

  // A message of `bytes` from `src` to `dst` ready to leave at `ready_us` queues on the
  // sender's port: returns when its first byte leaves; `*sent_us`: when its last byte has
  // left (the sender may reuse its buffer).
  double Leave(int src, int dst, size_t bytes, double ready_us, double* sent_us);
  // Its first byte reaches the receiver's port at `start_us` (callers go in time order, so
  // the port takes messages first come, first served): returns when it has all arrived.
  double Arrive(int src, int dst, size_t bytes, double start_us);

  // Bytes through the busiest NIC in one direction.
  size_t BusiestNicBytes() const;
  size_t BytesBetweenHosts() const { return between_hosts_; }

 private:
  const SimNetwork& net_;
  std::vector<double> rank_tx_, rank_rx_, nic_tx_, nic_rx_;  // free from (us)
  std::vector<size_t> nic_tx_bytes_, nic_rx_bytes_;
  size_t between_hosts_ = 0;
};

}  // namespace weft::sim
