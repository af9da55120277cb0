// Hierarchical device all-reduce across hosts, composed of two sub-communicators (the shape
// of UCC's hierarchical teams): each host's ranks (`local`: their device calls run on CUDA
// IPC kernels, GPU-driven where the one-kernel paths serve), and each rail, the ranks of
// one local index, one per host (`rail`: its device calls run the ring kernel with the
// network proxy; ranks bind to their GPU's nearest NIC, so rail k crosses the hosts on
// NIC k). An all-reduce of `count` on H hosts of L ranks, local rank l:
//   1. reduce-scatter inside the host: l keeps the host's sum of shard l (count / L each)
//   2. all-reduce of shard l along rail l: 1/L of the buffer per rank on the network
//   3. all-gather inside the host, in place
//   and the tail (count mod L elements): all-reduce inside the host, then along the rail.
// Each leg is a call of a sub-communicator on the caller's stream, so the legs run in
// stream order and the host waits on nothing; the kernels do every reduction. The
// sub-communicators are made at the first call that uses them (collective: every rank
// decides alike, from the call, the settings and the job).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "collectives/algorithms/algorithm.h"
#include "collectives/coll_args.h"
#include "collectives/comm_split.h"
#include "common/config.h"
#include "common/status.h"

namespace weft {

class DeviceHierarchy {
 public:
  // Collective over the parent (its all-gather, `shapes`, this `rank`): splits it by host
  // and by local index; the sub-communicators take `config`.
  static Status Create(const AllGatherBytes& all_gather, const PlanShapes& shapes, int rank,
                       const Config& config, std::unique_ptr<DeviceHierarchy>* out);
  // Destroys the sub-communicators (collective, as the parent's destroy is).
  ~DeviceHierarchy();
  DeviceHierarchy(const DeviceHierarchy&) = delete;
  DeviceHierarchy& operator=(const DeviceHierarchy&) = delete;

  // Whether the composition can run `a` on a job of `shapes`: an all-reduce with a
  // built-in op but average (whose division, once per leg, would truncate integers
  // twice), on several hosts of as many ranks, at least two each.
  static bool Serves(const PlanShapes& shapes, const CollArgs& a);
  // Queues `a`'s legs (its stream's order; host buffers run now).
  Status AllReduce(const CollArgs& a);

  // The sub-communicators' failures (the first found), bytes the host reduced, and the
  // parent's abort (which frees them: nothing waits for peers) and revoke passed on.
  Status AsyncError() const;
  uint64_t HostReducedBytes() const;
  void Abort();
  void Revoke();

 private:
  DeviceHierarchy() = default;
  // One leg on a sub-communicator; its errors say which ranks of this one it has.
  Status Local(const CollArgs& leg);
  Status Rail(const CollArgs& leg);

  weftComm_t local_ = nullptr;
  weftComm_t rail_ = nullptr;
  int L_ = 1;      // ranks on each host
  int index_ = 0;  // this rank's place among its host's (its rail)
  std::string local_name_, rail_name_;
};

}  // namespace weft
