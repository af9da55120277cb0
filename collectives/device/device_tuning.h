// The tuner for device buffers across hosts. There the choice is between the ring kernel
// across every rank and the device hierarchy (device_hierarchy.h), and the links are not the
// host path's: inside a host the GPUs' own (NVLink through NVSwitch, or PCIe), kernels that
// reduce at HBM's pace, and the hierarchy's legs are calls (its all-reduce in pieces). The host
// path's tuner (shared memory inside a host, the CPU reducing) would weigh them wrongly, so device
// calls ask a tuner of their own, built from these facts over the host path's input.
#pragma once

#include <cstddef>

#include "collectives/algo_spec.h"
#include "collectives/cost_model.h"
#include "topology/job_topology.h"

namespace weft {

// Where the topology says nothing: PCIe 4.0 x16's usable rate, a third of A100's HBM, and
// the start of a call on the device path (a launch and the engine's hand-off), none of them
// measured here (docs/cuda.md).
constexpr double kDefaultGpuPortGbps = 24.0;
constexpr double kDefaultKernelReduceGbps = 500.0;
constexpr double kDefaultDeviceCallUs = 10.0;
constexpr size_t kDefaultDeviceHierPieceBytes = size_t{32} << 20;  // WEFT_DEVICE_HIER_PIECE's

struct GpuLinkFacts {
  double port_gbps = 0;     // each GPU's link inside its host, each way (NVLink or PCIe)
  double latency_us = 1.0;  // a kernel's hand-off to a peer on the host (a step)
  double reduce_gbps = 0;   // a kernel's reduction rate (about a third of HBM's)
  // The device hierarchy's legs are calls, each further one costing `leg_call_us`; its
  // all-reduce runs in pieces of about `piece_bytes` (WEFT_DEVICE_HIER_PIECE).
  double leg_call_us = 0;
  size_t piece_bytes = kDefaultDeviceHierPieceBytes;
};

// The facts every rank of `job` derives alike: the slowest GPU port of any host (NVLink
// where the host's file has it, else the GPU's PCIe link, else the default).
GpuLinkFacts JobGpuFacts(const JobTopology& job);

// `host` (what the host path's tuner gets) with the GPUs' links inside the hosts.
TunerInput GpuTunerInput(TunerInput host, const GpuLinkFacts& gpu);

// Of `allowed`, what device buffers can run across hosts: the ring (the ring kernel) and
// hier (the device hierarchy). Where WEFT_ALGO allows neither, the tuner answers ring.
AlgoSpec DeviceAlgos(const AlgoSpec& allowed);

}  // namespace weft
