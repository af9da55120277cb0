// The simulator's GPU nodes (sim/gpu_node.h): what a topology file and a GPU model give a
// node, and the simulated busbw of the real plans on them against NCCL's published figures
// for H100 clusters (docs/simulator.md): one node's ring all-reduce at NVLink's rate, a
// flat ring across nodes at one 400G NIC's. Sizes are 256 MiB: past it the figures no
// longer move.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sim/device_hier_sim.h"
#include "sim/gpu_node.h"
#include "sim/job_sim.h"

namespace weft::sim {
namespace {

std::string Fixture(const char* name) {
  return std::string(WEFT_TOPOLOGY_FIXTURES) + "/" + name;
}

TEST(GpuNode, AFileWithoutNvLinksTakesTheModels) {
  GpuNode node;
  ASSERT_TRUE(GpuNodeFromFile(Fixture("azure-ndv5-topo.xml"), "h100", &node).ok());
  EXPECT_EQ(8, node.gpus);
  EXPECT_EQ(8, node.nics);
  EXPECT_NEAR(18 * 20.6, node.gpu_port_gbps, 0.1);  // NCCL's Hopper figure per link
  EXPECT_EQ(50, node.nic_gbps);                     // NDR 400G: the file has no rate
  EXPECT_EQ((std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}), node.rail_of_gpu);  // 1:1, as wired
}

TEST(GpuNode, AFileWithNvLinksAndRatesKeepsThem) {
  GpuNode node;
  ASSERT_TRUE(GpuNodeFromFile(Fixture("oci-hpc-h100-topo.xml"), "", &node).ok());
  EXPECT_EQ("h100", node.model);  // from the file's sm 90
  EXPECT_EQ(8, node.gpus);
  EXPECT_EQ(16, node.nics);
  EXPECT_NEAR(371, node.gpu_port_gbps, 1);
  EXPECT_NEAR(180.0 / 8, node.nic_gbps, 0.01);  // 180000 Mb/s in the file
  ASSERT_EQ(8u, node.rail_of_gpu.size());
  for (int r : node.rail_of_gpu)
    EXPECT_TRUE(r >= 0 && r < 16);
}

TEST(GpuNode, UnknownModelsAndGpulessFilesAreRefused) {
  GpuNode node;
  Status s = GpuNodeFromModel("z9000", 8, 8, &node);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("h100")) << s.message();
  s = GpuNodeFromFile(Fixture("mpibind-g4dnmetal.xml"), "", &node);
  EXPECT_FALSE(s.ok());
}

double BusBw(const SimJob& job, Algo algo, size_t bytes) {
  SimCall call;
  call.coll = CollType::kAllReduce;
  call.count = bytes / 4;
  SimResult r;
  const Status s = SimulateCall(job, algo, call, &r);
  EXPECT_TRUE(s.ok()) << s.message();
  return static_cast<double>(bytes) / (r.time_us * 1e3) * BusFactor(call.coll, job.net.nranks());
}

SimJob H100Job(int nodes) {
  GpuNode node;
  EXPECT_TRUE(GpuNodeFromFile(Fixture("azure-ndv5-topo.xml"), "h100", &node).ok());
  SimJob job;
  job.net = GpuNetwork(node, nodes);
  job.nchannels = 8;
  job.chunk_size = 1 << 20;
  return job;
}

// NCCL's published figures (docs/simulator.md): one node of 8 H100, ring all-reduce 361-370
// GB/s busbw; 46-48 GB/s through one 400G NIC (the flat ring crosses between nodes on one).
TEST(GpuSim, H100FiguresAreWithinFifteenPercentOfNccls) {
  const double one_node = BusBw(H100Job(1), Algo::kRing, size_t{256} << 20);
  EXPECT_NEAR(365, one_node, 0.15 * 365);
  const double per_nic = BusBw(H100Job(2), Algo::kRing, size_t{256} << 20);
  EXPECT_NEAR(47, per_nic, 0.15 * 47);
  // The hierarchical all-reduce uses every node's 8 rails: many times the flat ring.
  EXPECT_GT(BusBw(H100Job(2), Algo::kHier, size_t{256} << 20), 5 * per_nic);
}

// The device hierarchy as device buffers run it (sim/device_hier_sim.h): its all-reduce's
// pieces hide the shorter of the node's legs and the rail's (in one piece they add up); the
// node's legs alone bound it at NVLink's one-node figure; a rail of 256 nodes simulates.
TEST(GpuSim, TheDeviceHierarchysPiecesOverlapItsLegs) {
  SimCall call;
  call.coll = CollType::kAllReduce;
  call.count = (size_t{1} << 30) / 4;
  DeviceHierTiming pieces, one_piece;
  ASSERT_TRUE(SimulateDeviceHierarchy(H100Job(2), call, 10, size_t{32} << 20, &pieces).ok());
  ASSERT_TRUE(SimulateDeviceHierarchy(H100Job(2), call, 10, 0, &one_piece).ok());
  EXPECT_NEAR(one_piece.time_us, one_piece.local_us + one_piece.rail_us + 10 * 2, 1e-6);
  EXPECT_GT(one_piece.time_us, 1.3 * pieces.time_us);
  EXPECT_GE(pieces.time_us, std::max(pieces.local_us, pieces.rail_us));
  // The node's legs move what one node's ring all-reduce moves (2 x 7/8 of the buffer per
  // GPU), so busbw (2 x 15/16 of it per GPU over the time) stays under 15/14 of that ring's.
  const double busbw = (size_t{1} << 30) / (pieces.time_us * 1e3) * BusFactor(call.coll, 16);
  const double one_node = BusBw(H100Job(1), Algo::kRing, size_t{1} << 30);
  EXPECT_LT(busbw, 1.01 * one_node * (15.0 / 16) / (7.0 / 8));
  EXPECT_GT(busbw, 300);
  DeviceHierTiming big;
  ASSERT_TRUE(SimulateDeviceHierarchy(H100Job(256), call, 10, size_t{32} << 20, &big).ok());
  EXPECT_GT(big.rail_us, pieces.rail_us);
  // All-gather and reduce-scatter move their chunks to rank order and back.
  for (CollType c : {CollType::kAllGather, CollType::kReduceScatter}) {
    SimCall per_rank = call;
    per_rank.coll = c;
    per_rank.count = call.count / 16;
    DeviceHierTiming t;
    ASSERT_TRUE(SimulateDeviceHierarchy(H100Job(2), per_rank, 10, 0, &t).ok());
    EXPECT_GT(t.copy_us, 0);
  }
  // One node has no hierarchy.
  DeviceHierTiming none;
  EXPECT_FALSE(SimulateDeviceHierarchy(H100Job(1), call, 10, 0, &none).ok());
}

}  // namespace
}  // namespace weft::sim
