// What a topology file leaves out and NCCL fills in from tables: the bandwidth of one NVLink
// or xGMI link by GPU generation, of the link between CPU sockets by CPU model, and a NIC's
// link layer from its PCI class and ids. One place, so that every loader (hwloc, NCCL XML,
// NVML) reads a machine alike.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft {

// GB/s of one NVLink of a GPU of compute capability sm (NCCL's constants: 18 for Pascal,
// 20 for Volta and Ampere, 12 for sm86, 20.6 for Hopper, 40.1 for Blackwell).
double NvLinkGbpsPerLink(int sm);

// GB/s of one xGMI link of an AMD GPU by its gfx name (RCCL's: 36 for gfx90a, 48 for
// gfx94x/gfx95x); 0 when unknown.
double XgmiGbpsPerLink(const std::string& gcn);

// GB/s of the link between two CPU sockets, from a NUMA node's CPU attributes as NCCL's
// <cpu> writes them (arch, vendor, familyid, modelid, decimal): Intel by model (Broadwell 6,
// Skylake to Ice Lake 10, Sapphire Rapids 22, Emerald Rapids and later 40), AMD 16, POWER
// 32, Arm 6. 0 when the CPU is not known (no bound, as NCCL).
double InterCpuGbps(const std::vector<std::pair<std::string, std::string>>& cpu_attrs);

// A NIC's link layer from its PCI class (24 bits, 0x020700), vendor and device: InfiniBand
// for class 0x0207; Amazon EFA (1d0f:efa0-efa3) "efa"; HPE Slingshot (Cassini, vendor 17db)
// "slingshot"; Ethernet on a Mellanox/NVIDIA ConnectX "roce"; other Ethernet "ethernet";
// "unknown" for anything else.
std::string LinkLayerFromPci(uint32_t pci_class, uint16_t vendor, uint16_t device);

// Link layers of networks built for collectives (RDMA or an HPC fabric), as opposed to a
// plain Ethernet port.
bool IsFabricLinkLayer(const std::string& link_layer);

// "0.25", "3.2", "16", "370": at least two significant digits, no exponent (labels, text).
std::string GbpsText(double gbps);

}  // namespace weft
