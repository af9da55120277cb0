// The device hierarchy (collectives/device_hierarchy.h) as Weft runs it on GPU nodes, which is
// not the hierarchical plan (collectives/algorithms/hier.cc, whose phases interleave step by
// step): its legs are calls of sub-communicators, on the caller's stream but for the
// all-reduce's rail legs, which run on a stream of their own, a piece behind
// (WEFT_DEVICE_HIER_PIECE). Each leg is the
// ring plan of its sub-communicator simulated on its own network: one node's GPUs on NVLink
// (every node runs its legs at once, on NVLink of its own), and one rail, a rank per node
// (the L rails side by side on their NICs, sharing one where a node has fewer NICs than GPUs).
// Beside them, the chunk copies between rank order and rail-major order (all-gather and
// reduce-scatter, at the GPU's copy rate) and each further call's start. Small: a node of L
// ranks and a rail of H, so even 1024 nodes simulate in seconds.
#pragma once

#include "sim/job_sim.h"

namespace weft::sim {

struct DeviceHierTiming {
  double time_us = 0;     // the sum of the rest
  double local_us = 0;    // the legs inside a node
  double rail_us = 0;     // the legs along a rail
  double overlap_us = 0;  // less what the all-reduce's pieces overlap (<= 0)
  double copy_us = 0;     // the chunks' copies
  double calls_us = 0;    // the further calls' starts
};

// All-reduce, all-gather or reduce-scatter on several GPU nodes of two GPUs or more; the
// all-reduce's tail (count mod L elements, under L) is left out, and its pieces are taken
// as equal.
Status SimulateDeviceHierarchy(const SimJob& job, const SimCall& call, double leg_call_us,
                               size_t piece_bytes, DeviceHierTiming* out);

}  // namespace weft::sim
