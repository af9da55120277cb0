// One node of a GPU cluster as the simulator models it: its GPUs joined by NVLink (through
// NVSwitch: every GPU has its port, each way) or PCIe, each GPU's kernels reducing at a rate
// its memory (HBM) sets, and its NICs, one rail each: a GPU's traffic to other nodes leaves
// through its rail's NIC (the nearest to it, as ranks bind: collectives/job_layout.h), and
// NIC k talks to NIC k of the other nodes. Read from a topology file of one node (NCCL or
// hwloc XML, as weft-topo reads it), with what a file lacks (NVLinks, NIC rates, HBM) from a
// named GPU model.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "sim/network_model.h"

namespace weft::sim {

// What a GPU model brings where a file is silent. The figures are NCCL's where NCCL has one
// (NvLinkGbpsPerLink: the achievable rate per link), the vendor's otherwise.
struct GpuModel {
  const char* name;  // "h100"
  int sm;            // compute capability, as NCCL's tables key it
  int nvlinks;       // links per GPU to the NVSwitches (0: PCIe only)
  double hbm_gbps;   // memory bandwidth
  double nic_gbps;   // the NIC it ships beside, each way, line rate (NDR 400G: 50)
  double pcie_gbps;  // its PCIe link, each way (Gen5 x16: 64)
};
// h100, h200, a100, b200; null if unknown.
const GpuModel* FindGpuModel(const std::string& name);
std::string GpuModelNames();  // "a100, h100, h200, b200"

struct GpuNode {
  std::string model;  // the GPU model used for what the file lacks
  int gpus = 8;
  double gpu_port_gbps = 0;  // each GPU's NVLink (or PCIe) each way
  bool nvlink = true;        // false: GPUs talk over PCIe
  double hbm_gbps = 0;
  int nics = 8;
  double nic_gbps = 0;             // each NIC each way, line rate
  std::vector<int> rail_of_gpu;    // NIC of each GPU (AssignNics)
  std::vector<std::string> notes;  // where each figure came from
};

// From a topology file of one node; `model` ("" to infer from the file's GPUs, which must
// then name an NVIDIA model NCCL's tables know) fills what the file lacks.
Status GpuNodeFromFile(const std::string& path, const std::string& model, GpuNode* out);
// A node of `gpus` GPUs of `model`, with `nics` NICs (GPU g on NIC g mod nics).
Status GpuNodeFromModel(const std::string& model, int gpus, int nics, GpuNode* out);

// What the simulator's network needs of a node, for `nhosts` of them: one rank per GPU,
// NVLink ports inside a node (latency `intra_us`), one port per NIC between nodes (latency
// `inter_us`, the line rate times `nic_efficiency`: what RDMA moves of it), kernels that
// reduce at a third of HBM's rate (two reads and a write per byte of result) and copy at
// half of it, `step_us` per step of a kernel.
struct GpuNetOptions {
  double intra_us = 0.6;  // NCCL's NVLink hop
  double inter_us = 2.5;  // an InfiniBand hop through a switch
  double nic_efficiency = 0.94;
  double step_us = 1.0;
};
SimNetwork GpuNetwork(const GpuNode& node, int nhosts, const GpuNetOptions& o = {});

}  // namespace weft::sim
