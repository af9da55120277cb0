// Runs the Plans of every rank of a job on the modelled network (network_model.h), as a
// discrete-event simulation: no data moves, only time. As the Executor does, each channel
// of a rank runs its steps in order and posts the receives of the next few steps ahead (a
// window); a step waits for its message, for the sends a fence orders it after, and for
// its rank (one progress thread runs every channel), then costs step_us plus its reduction
// or copy. Its message queues on the ports of its path: at once if it is small (eager),
// once its receive is posted if it is not (rendezvous, as UCX moves big messages), so
// that a rank cannot run arbitrarily far ahead of its receivers.
//
// Beyond timing, this checks plans at scales the loopback tests cannot reach: every
// receive must meet exactly one send of the same size, every send must be received, and
// a plan that waits for a message no rank sends is reported as a deadlock naming the step.
#pragma once

#include <cstddef>
#include <vector>

#include "collectives/plan.h"
#include "common/status.h"
#include "sim/network_model.h"

namespace weft::sim {

struct SimResult {
  double time_us = 0;                // when the last rank finished
  std::vector<double> rank_done_us;  // per rank
  size_t messages = 0;               // data and control messages
  size_t bytes_between_hosts = 0;    // over every NIC, one way
  size_t busiest_nic_bytes = 0;      // through the busiest NIC in one direction
};

// What the executor and transport do that the timing depends on.
struct ExecutorModel {
  size_t recv_window = 16;   // steps ahead whose receives are posted (Executor::PostReceives)
  size_t rndv_bytes = 8192;  // messages this big wait for their receive (UCX_RNDV_THRESH)
};

// `plans[r]` is rank r's plan for one call in elements of `elem_size` bytes; every plan
// must have as many ranks as the network.
Status SimulatePlans(const std::vector<Plan>& plans, size_t elem_size, const SimNetwork& net,
                     const ExecutorModel& executor, SimResult* out);

}  // namespace weft::sim
