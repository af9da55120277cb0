#include "sim/device_hier_sim.h"

#include <algorithm>

namespace weft::sim {

Status SimulateDeviceHierarchy(const SimJob& job, const SimCall& call, double leg_call_us,
                               size_t piece_bytes, DeviceHierTiming* out) {
  const int H = job.net.nhosts, L = job.net.ranks_per_host;
  WEFT_REQUIRE(H > 1 && L > 1, weftInvalidArgument,
               "the device hierarchy needs several nodes of several GPUs (%d x %d)", H, L);
  WEFT_REQUIRE(call.coll == CollType::kAllReduce || call.coll == CollType::kAllGather ||
                   call.coll == CollType::kReduceScatter,
               weftInvalidArgument, "the device hierarchy's %s is not simulated",
               CollName(call.coll));
  SimJob local = job;
  local.net.nhosts = 1;
  SimJob rail = job;
  rail.net.ranks_per_host = 1;
  rail.net.nics_per_host = 1;
  rail.net.rail_of_local = {0};
  // L rails through the node's NICs: a NIC carries L / nics of them.
  rail.net.inter.gbps *= std::min(1.0, static_cast<double>(job.net.nics_per_host) / L);
  DeviceHierTiming t;
  auto leg = [&](const SimJob& on, CollType coll, size_t count, double* acc) {
    if (count == 0) return Status::Ok();
    SimResult r;
    WEFT_CHECK(SimulateCall(on, Algo::kRing, SimCall{coll, count, call.elem_size, 0}, &r)
                   .WithContext(Format("the device hierarchy's %s leg of %s",
                                       &on == &local ? "node" : "rail", CollName(coll))));
    *acc += r.time_us;
    return Status::Ok();
  };
  const size_t n = static_cast<size_t>(H) * static_cast<size_t>(L);
  // The simulated job's ranks are host-major, so the chunks move (one pass through HBM).
  const double copy_us =
      static_cast<double>(n * call.count * call.elem_size) / (job.net.copy_gbps * 1e3);
  switch (call.coll) {
    case CollType::kAllReduce: {
      // In pieces (device_hierarchy.h): the caller's stream runs each piece's legs inside the
      // node, the side stream its rail leg; the slower stream sets the pace, and the faster
      // one's first (or last) piece is not hidden.
      const size_t shard = call.count / static_cast<size_t>(L);
      const size_t pieces = std::max<size_t>(
          1, std::min(shard, DeviceHierPieces(shard * L * call.elem_size, piece_bytes, L, H)));
      double local_piece = 0, rail_piece = 0;
      WEFT_CHECK(leg(local, CollType::kReduceScatter, shard / pieces, &local_piece));
      WEFT_CHECK(leg(rail, CollType::kAllReduce, shard / pieces, &rail_piece));
      WEFT_CHECK(leg(local, CollType::kAllGather, shard / pieces, &local_piece));
      t.local_us = local_piece * pieces;
      t.rail_us = rail_piece * pieces;
      t.overlap_us = -(std::min(t.local_us, t.rail_us) - std::min(local_piece, rail_piece));
      t.calls_us = (3.0 * pieces - 1) * leg_call_us;
      break;
    }
    case CollType::kAllGather:
      WEFT_CHECK(leg(rail, CollType::kAllGather, call.count, &t.rail_us));
      WEFT_CHECK(
          leg(local, CollType::kAllGather, call.count * static_cast<size_t>(H), &t.local_us));
      t.copy_us = copy_us;
      t.calls_us = leg_call_us;
      break;
    default:
      WEFT_CHECK(
          leg(local, CollType::kReduceScatter, call.count * static_cast<size_t>(H), &t.local_us));
      WEFT_CHECK(leg(rail, CollType::kReduceScatter, call.count, &t.rail_us));
      t.copy_us = copy_us;
      t.calls_us = leg_call_us;
      break;
  }
  t.time_us = t.local_us + t.rail_us + t.overlap_us + t.copy_us + t.calls_us;
  *out = t;
  return Status::Ok();
}

}  // namespace weft::sim
