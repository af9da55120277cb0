// One collective call of a whole simulated job: the communicator's ring and trees for
// hosts x ranks_per_host ranks (the same functions a real communicator calls), every
// rank's plan for the algorithm (collectives/plan_builder.h), run on the modelled network.
// And the tuner a communicator of that job would have, to compare its choices with the
// simulated times.
#pragma once

#include <cstddef>
#include <optional>

#include "collectives/device/device_tuning.h"
#include "collectives/plan_builder.h"
#include "collectives/tuner.h"
#include "sim/network_model.h"
#include "sim/plan_sim.h"

namespace weft::sim {

struct SimCall {
  CollType coll = CollType::kAllReduce;
  size_t count = 0;  // the C API's count
  size_t elem_size = 4;
  int root = 0;
};

struct SimJob {
  SimNetwork net;
  TransportKind between_hosts = TransportKind::kInfiniBand;  // what the tuner is told
  size_t chunk_size = 0;                                     // WEFT_CHUNK_SIZE (0: picks)
  int nchannels = 0;                                         // WEFT_NCHANNELS
  size_t buffsize = size_t{2} << 20;                         // WEFT_BUFFSIZE
  // UCX_RNDV_THRESH; 0: what the communicator sets (UcxTransport: just above a chunk where
  // hosts talk over TCP, so every chunk goes eager; UCX's 8 KiB otherwise).
  size_t rndv_bytes = 0;
  // GPU nodes: the tuner is the device path's (collectives/device/device_tuning.h), over
  // these links.
  std::optional<GpuLinkFacts> gpu;
};

// The ring (hosts in order, a host's ranks side by side) and the trees over it.
PlanShapes JobShapes(const SimNetwork& net);

// Bytes the tuner and the report count for a call: the whole buffer (for all-gather and
// reduce-scatter, nranks x count).
size_t CallBytes(const SimCall& call, int nranks);

// Every rank's plan for `algo`, simulated.
Status SimulateCall(const SimJob& job, Algo algo, const SimCall& call, SimResult* out);

// What a communicator of this job would give its tuner (communicator_init.cc): the
// transport between hosts, the hosts and their NICs, a core per rank, no shared FIFOs (the
// simulator runs every plan over messages); on GPU nodes, the device path's tuner input.
TunerInput JobTunerInput(const SimJob& job);
// The algorithms that tuner chooses among (on GPU nodes, DeviceAlgos').
AlgoSpec JobTunerAlgos(const SimJob& job, const AlgoSpec& allowed);

}  // namespace weft::sim
