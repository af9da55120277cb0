// Hierarchical device collectives across hosts, composed of two sub-communicators (the
// shape of UCC's hierarchical teams): each host's ranks (`local`: their device calls run on
// CUDA IPC kernels, GPU-driven where the one-kernel paths serve), and each rail, the ranks of
// one local index, one per host in host order (`rail`: its device calls run the ring kernel
// with the network proxy; ranks bind to their GPU's nearest NIC, so rail k crosses the hosts
// on NIC k). On H hosts of L ranks, local rank l:
//   all-reduce of `count`, in pieces (WEFT_DEVICE_HIER_PIECE, at most 16), each:
//     1. reduce-scatter inside the host: l keeps the host's sum of shard l (1/L each)
//     2. all-reduce of shard l along rail l: 1/L of the piece per rank on the network
//     3. all-gather inside the host, in place
//     where on a GPU piece p's step 2 runs on a stream of the hierarchy's own, beside piece
//     p + 1's step 1 and piece p - 1's step 3 on the caller's; and the tail (count mod L
//     elements): all-reduce inside the host, then along the rail.
//   all-gather of `count` per rank (N = H x L chunks out):
//     1. all-gather along rail l: its H chunks, side by side in scratch (rail-major order)
//     2. all-gather inside the host, in place: every rail's chunks on every rank
//     3. the chunks to their places in rank order (strided copies on the stream)
//   reduce-scatter of `count` per rank, the all-gather backwards:
//     1. the input's chunks into scratch, rail-major (strided copies)
//     2. reduce-scatter inside the host, in place: l keeps the host's sums of rail l's chunks
//     3. reduce-scatter along rail l into the output
//   broadcast from the root (host R, local rank r), in parts of count / L:
//     1. on host R: broadcast from r inside the host (NVLink)
//     2. part l along rail l from host R (and the tail, count mod L, along rail r)
//     3. on the other hosts: all-gather of the parts inside the host (the tail: broadcast from r)
//   reduce to the root, the broadcast backwards:
//     1. reduce-scatter of the parts inside every host (the tail: reduce to r)
//     2. reduce of part l along rail l to host R (the tail along rail r)
//     3. on host R: all-gather of the parts inside the host, into the root's output (the
//        other ranks' scratch)
// Each rank sends (H - 1) chunks on the network, as in a flat ring of H, and the rest moves
// over NVLink. Where the communicator's ranks are already rail-major (rank = l x H + host,
// as round-robin placement gives), steps 3 and 1 need no copy and the all-gather no scratch;
// otherwise the copies pass each rank's whole buffer through HBM once more (LegScratch holds
// the scratch: about the output's size for the all-gather, the input's for the reduce-scatter).
// Each leg is a call of a sub-communicator on the caller's stream, so the legs run in
// stream order and the host waits on nothing; the kernels do every reduction. The
// sub-communicators are made at the first call that uses them (collective: every rank
// decides alike, from the call, the settings and the job).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "collectives/algorithms/algorithm.h"
#include "collectives/coll_args.h"
#include "collectives/comm_split.h"
#include "collectives/device/leg_scratch.h"
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

  // Whether the composition can run `a` on a job of `shapes`: an all-gather or broadcast, or
  // an all-reduce, reduce-scatter or reduce with a built-in op but average (whose division,
  // once per leg, would truncate integers twice), on several hosts of as many ranks, at
  // least two each.
  static bool Serves(const PlanShapes& shapes, const CollArgs& a);
  // Queues `a`'s legs in its stream's order, its buffers on GPU `device` (-1: host buffers,
  // the legs run now).
  Status Run(const CollArgs& a, int device);

  // The sub-communicators' failures (the first found), bytes the host reduced, and the
  // parent's abort (which frees them: nothing waits for peers) and revoke passed on.
  Status AsyncError() const;
  uint64_t HostReducedBytes() const;
  void Abort();
  void Revoke();

 private:
  // A run of `rows` chunks, consecutive in scratch from chunk `scratch` (rail-major: rail l's
  // H chunks in host order), at chunks user, user + stride, ... of the caller's buffer (rank
  // order): one per rail where its ranks are evenly spaced, else one per chunk.
  struct ChunkRun {
    size_t scratch = 0;
    size_t user = 0;
    size_t stride = 1;
    size_t rows = 1;
  };
  enum class Toward { kUser, kScratch };
  // A broadcast's or reduce's layout: the root's host and place among its ranks, and the
  // buffer as L parts of `part` elements (`main` in all) and a tail.
  struct RootedParts {
    int host = 0;
    int index = 0;
    size_t part = 0, main = 0, tail = 0;
  };

  DeviceHierarchy() = default;
  static std::vector<ChunkRun> RailMajorRuns(const PlanShapes& shapes);
  Status AllReduce(const CollArgs& a, int device);
  Status AllReducePieces(const CollArgs& a, int device, size_t shard);
  Status AllGather(const CollArgs& a, LegScratch* scratch);
  Status ReduceScatter(const CollArgs& a, LegScratch* scratch);
  RootedParts PartsOf(const CollArgs& a) const;
  Status Broadcast(const CollArgs& a);
  Status Reduce(const CollArgs& a, LegScratch* scratch);
  // Copies every chunk of `chunk_bytes` from one order to the other: rail-major (scratch) to
  // rank order (the caller's buffer) toward kUser, back toward kScratch.
  Status MoveChunks(LegScratch* scratch, void* stream, const void* from, void* to,
                    size_t chunk_bytes, Toward toward) const;
  // One leg on a sub-communicator; its errors say which ranks of this one it has.
  Status Local(const CollArgs& leg);
  Status Rail(const CollArgs& leg);

  weftComm_t local_ = nullptr;
  weftComm_t rail_ = nullptr;
  int L_ = 1;      // ranks on each host
  int H_ = 1;      // hosts
  int index_ = 0;  // this rank's place among its host's (its rail)
  int rank_ = 0;
  int host_ = 0;               // this rank's place on its rail
  std::vector<int> host_of_;   // of every rank of the communicator
  std::vector<int> index_of_;  // every rank's place among its host's
  std::vector<ChunkRun> runs_;
  bool rail_major_ = false;  // every run in place: the communicator's ranks are rail-major
  int64_t piece_bytes_ = 0;  // WEFT_DEVICE_HIER_PIECE
  // On a GPU, the all-reduce's rail legs run here, ordered against the caller's stream by
  // events (made at the first device all-reduce of several pieces).
  struct PieceStreams {
    SideStream stream;
    StreamEvent forked;        // the caller's stream reached a piece's rail leg
    StreamEvent rail_done[2];  // a piece's rail leg is done (pieces alternate)
  };
  std::unique_ptr<PieceStreams> side_;
  LegScratch host_scratch_{-1};
  std::unique_ptr<LegScratch> device_scratch_;  // on the GPU of the first device call
  std::string local_name_, rail_name_;
};

}  // namespace weft
