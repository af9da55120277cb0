#include "collectives/device/device_tuning.h"

#include <algorithm>
#include <cstdint>

#include "topology/paths.h"

namespace weft {

GpuLinkFacts JobGpuFacts(const JobTopology& job) {
  GpuLinkFacts f;
  double slowest = 0;
  for (const SystemGraph& g : job.hosts) {
    for (int gpu : g.gpus) {
      if (!g.IsNvidiaGpu(gpu)) continue;
      double port = NvLinkGbps(g, gpu);
      if (port <= 0) port = g.nodes[static_cast<size_t>(gpu)].link_gbps;
      if (port <= 0) port = kDefaultGpuPortGbps;
      slowest = slowest > 0 ? std::min(slowest, port) : port;
    }
  }
  f.port_gbps = slowest > 0 ? slowest : kDefaultGpuPortGbps;
  f.reduce_gbps = kDefaultKernelReduceGbps;
  f.leg_call_us = kDefaultDeviceCallUs;
  return f;
}

TunerInput GpuTunerInput(TunerInput in, const GpuLinkFacts& gpu) {
  in.inside = TransportCost{gpu.latency_us, gpu.port_gbps};
  in.reduce_gbps = gpu.reduce_gbps;
  // Kernels hand off through flags, not through the scheduler: no core is shared.
  in.ranks_per_core = 1;
  in.one_copy = false;
  in.one_shot_max_bytes = 0;
  // One piece (WEFT_DEVICE_HIER_PIECE=0) is a piece as large as any call.
  in.hier_device_piece_bytes = gpu.piece_bytes > 0 ? gpu.piece_bytes : SIZE_MAX;
  in.hier_leg_call_us = gpu.leg_call_us;
  return in;
}

AlgoSpec DeviceAlgos(const AlgoSpec& allowed) {
  AlgoSpec device = allowed;
  const uint32_t served =
      (1u << static_cast<int>(Algo::kRing)) | (1u << static_cast<int>(Algo::kHier));
  for (uint32_t& bits : device.allowed)
    bits &= served;
  return device;
}

}  // namespace weft
