// Topology from the real machine files in tests/topologies (see its SOURCES.md): GPU
// and NIC counts, NUMA placement, NVLink presence and bandwidth, path classes and the
// GPU -> NIC assignment; bad files give clear errors; live discovery works without GPUs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <pugixml.hpp>
#include <sstream>

#include "topology/hwloc_loader.h"
#include "topology/job_topology.h"
#include "topology/nccl_xml_loader.h"
#include "topology/nccl_xml_writer.h"
#include "topology/paths.h"
#include "topology/placement.h"
#include "topology/rings.h"

namespace weft {
namespace {

std::string Fixture(const std::string& name) {
  return std::string(WEFT_TOPOLOGY_FIXTURES) + "/" + name;
}

bool HaveFixtures() {
  return static_cast<bool>(std::ifstream(Fixture("SOURCES.md")));
}

class Topology : public ::testing::Test {
 protected:
  // The fixtures are in the tree (tests/topologies); a build pointed elsewhere may lack them.
  void SetUp() override {
    if (!HaveFixtures())
      GTEST_SKIP() << "topology fixtures not found in " << WEFT_TOPOLOGY_FIXTURES;
  }
  void Load(const std::string& name) {
    const std::string path = Fixture(name);
    Status s = LoadTopologyFile(path, &g_);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  const TopoNode& Gpu(int i) const { return g_.nodes[g_.gpus[i]]; }
  const TopoNode& Nic(int i) const { return g_.nodes[g_.rails[i]]; }  // AssignNics' index
  PathClass Cls(int a, int b) const { return ComputePath(g_, a, b).cls; }
  SystemGraph g_;
};

TEST_F(Topology, PascalPcieSwitchHoldsBothGpusAndTheHca) {
  Load("mpibind-cts1-pascal.xml");
  ASSERT_EQ(2u, g_.gpus.size());
  EXPECT_EQ("0000:04:00.0", Gpu(0).pci);
  EXPECT_EQ("Tesla P100-PCIE-16GB", Gpu(0).name);
  EXPECT_EQ(0, Gpu(0).numa);
  EXPECT_TRUE(g_.nvlinks.empty());
  ASSERT_EQ(3u, g_.nics.size());  // mlx5_0 and two Ethernet ports
  EXPECT_EQ("mlx5_0", Nic(0).name);
  EXPECT_EQ("ib", Nic(0).link_layer);
  EXPECT_EQ("active", Nic(0).state);
  EXPECT_EQ(PathClass::kPix, Cls(g_.gpus[0], g_.gpus[1]));
  EXPECT_EQ(PathClass::kPix, Cls(g_.gpus[0], g_.nics[0]));
  EXPECT_EQ(PathClass::kPhb, Cls(g_.gpus[0], g_.nics[1]));
  EXPECT_EQ((std::vector<int>{0, 0}), AssignNics(g_));
}

TEST_F(Topology, LassenTwoGpusAndOneHcaPerSocket) {
  Load("mpibind-coral-lassen.xml");
  ASSERT_EQ(4u, g_.gpus.size());
  EXPECT_EQ(Gpu(0).numa, Gpu(1).numa);
  EXPECT_EQ(Gpu(2).numa, Gpu(3).numa);
  EXPECT_NE(Gpu(0).numa, Gpu(2).numa);
  EXPECT_TRUE(g_.nvlinks.empty());  // written by hwloc 2.2, before the NVLink matrix
  int ib = 0;
  for (int id : g_.nics)
    ib += g_.nodes[id].link_layer == "ib" && g_.nodes[id].state == "active";
  EXPECT_EQ(4, ib);
  EXPECT_EQ(PathClass::kSys, Cls(g_.gpus[0], g_.gpus[2]));
  // Each GPU gets an HCA of its own socket, none shared (rail-aligned).
  std::vector<int> nic = AssignNics(g_);
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) {
    ASSERT_GE(nic[i], 0);
    EXPECT_EQ(Gpu(i).numa, Nic(nic[i]).numa);
    EXPECT_EQ("ib", Nic(nic[i]).link_layer);
    names.push_back(Nic(nic[i]).name);
  }
  EXPECT_EQ((std::vector<std::string>{"mlx5_0", "mlx5_1", "mlx5_2", "mlx5_3"}), names);
}

TEST_F(Topology, Dgx2SixteenGpusOnTheNvSwitchFabric) {
  Load("hwloc-nvidiaDGX2.xml");
  ASSERT_EQ(16u, g_.gpus.size());
  int switches = 0;
  for (const TopoNode& n : g_.nodes)
    switches += n.kind == NodeKind::kNvSwitch;
  EXPECT_EQ(12, switches);
  for (int i = 0; i < 16; ++i)
    EXPECT_DOUBLE_EQ(150.0, NvLinkGbps(g_, g_.gpus[i])) << i;
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      if (i == j) continue;
      Path p = ComputePath(g_, g_.gpus[i], g_.gpus[j]);
      ASSERT_EQ(PathClass::kNvl, p.cls) << i << "," << j;
      EXPECT_EQ(6, p.nvlinks);
    }
  }
  Path bottleneck;
  GreedyGpuRing(g_, &bottleneck);
  EXPECT_EQ(PathClass::kNvl, bottleneck.cls);
  EXPECT_TRUE(g_.nics.empty());
}

TEST_F(Topology, Power8GpuPairsAndCpuOverNvLink) {
  Load("hwloc-power8gpudistances.xml");
  ASSERT_EQ(4u, g_.gpus.size());
  Path p = ComputePath(g_, g_.gpus[0], g_.gpus[1]);
  EXPECT_EQ(PathClass::kNvl, p.cls);
  EXPECT_DOUBLE_EQ(40.0, p.gbps);
  EXPECT_EQ(2, p.nvlinks);  // P100: 20 GB/s per NVLink1
  EXPECT_EQ(PathClass::kSys, Cls(g_.gpus[0], g_.gpus[2]));
  bool gpu_cpu = false;
  for (const NvLink& l : g_.nvlinks)
    gpu_cpu =
        gpu_cpu || g_.nodes[l.a].kind == NodeKind::kNuma || g_.nodes[l.b].kind == NodeKind::kNuma;
  EXPECT_TRUE(gpu_cpu);
  Path bottleneck;
  std::vector<int> ring = GreedyGpuRing(g_, &bottleneck);
  EXPECT_EQ(1, ring[1]);  // the NVLink partner first
}

TEST_F(Topology, AzureNdv4TwoGpusAndTwoHcasPerBridge) {
  Load("azure-ndv4-topo.xml");
  ASSERT_EQ(8u, g_.gpus.size());
  ASSERT_EQ(8u, g_.nics.size());
  for (int id : g_.nics)
    EXPECT_EQ("ib", g_.nodes[id].link_layer);
  EXPECT_EQ(PathClass::kPix, Cls(g_.gpus[0], g_.gpus[1]));
  EXPECT_EQ(PathClass::kSys, Cls(g_.gpus[0], g_.gpus[2]));
  std::vector<int> nic = AssignNics(g_);
  std::vector<bool> used(8, false);
  for (int i = 0; i < 8; ++i) {
    ASSERT_GE(nic[i], 0);
    EXPECT_EQ(PathClass::kPix, Cls(g_.gpus[i], g_.nics[nic[i]]));
    EXPECT_FALSE(used[nic[i]]) << "NIC shared";
    used[nic[i]] = true;
  }
}

TEST_F(Topology, AzureNdv5OneHcaPerGpu) {
  Load("azure-ndv5-topo.xml");
  ASSERT_EQ(8u, g_.gpus.size());
  ASSERT_EQ(8u, g_.nics.size());
  std::vector<int> nic = AssignNics(g_);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(i, nic[i]);
  EXPECT_EQ(PathClass::kPhb, Cls(g_.gpus[0], g_.gpus[1]));
  EXPECT_EQ(PathClass::kSys, Cls(g_.gpus[0], g_.gpus[4]));
  EXPECT_GT(ComputePath(g_, g_.gpus[0], g_.nics[0]).gbps, 60.0);  // 32 GT/s x16
}

TEST_F(Topology, AzureNcv4SelfNvLinksIgnoredEthernetNic) {
  Load("azure-ncv4-topo.xml");
  ASSERT_EQ(4u, g_.gpus.size());
  EXPECT_TRUE(g_.nvlinks.empty());  // each GPU's <nvlink> targets itself
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(i, Gpu(i).numa);
  ASSERT_EQ(1u, g_.nics.size());
  EXPECT_EQ("eth0", Nic(0).name);
  EXPECT_EQ("ethernet", Nic(0).link_layer);
  EXPECT_DOUBLE_EQ(100.0, Nic(0).speed_gbps);
  EXPECT_EQ(0, Nic(0).numa);
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(TopologyErrors, BadFilesNameTheFileAndTheProblem) {
  SystemGraph g;
  Status s = LoadTopologyFile("/nonexistent/topo.xml", &g);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("/nonexistent/topo.xml: cannot open"));

  s = LoadTopologyFile(WriteTemp("garbage.xml", "\x01\x02 not xml at all <<<"), &g);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("garbage.xml: XML error"));

  s = LoadTopologyFile(WriteTemp("v3.xml",
                                 "<?xml version=\"1.0\"?>\n<topology version=\"3.0\">"
                                 "<object type=\"Machine\"/></topology>\n"),
                       &g);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("version 3.0"));

  s = LoadTopologyFile(WriteTemp("other.xml", "<html><body/></html>"), &g);
  EXPECT_NE(std::string::npos, s.message().find("neither an hwloc topology"));

  s = LoadTopologyFile(WriteTemp("badbus.xml",
                                 "<system version=\"1\"><cpu numaid=\"0\">"
                                 "<pci busid=\"zz\" class=\"0x030200\"/></cpu></system>"),
                       &g);
  EXPECT_NE(std::string::npos, s.message().find("not a PCI address"));

  const std::string pascal = Fixture("mpibind-cts1-pascal.xml");
  std::ifstream in(pascal);
  if (!in) GTEST_SKIP() << "fixture not found";
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  s = LoadTopologyFile(WriteTemp("truncated.xml", text.substr(0, text.size() / 2)), &g);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("truncated.xml"));
}

TEST(TopologyErrors, NicWithoutPciParent) {
  // An OpenFabrics device hanging off a package, not a PCI device.
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
      "<topology version=\"2.0\">\n"
      " <object type=\"Machine\" os_index=\"0\" cpuset=\"0x1\" complete_cpuset=\"0x1\" "
      "allowed_cpuset=\"0x1\" nodeset=\"0x1\" complete_nodeset=\"0x1\" allowed_nodeset=\"0x1\">\n"
      "  <object type=\"NUMANode\" os_index=\"0\" cpuset=\"0x1\" complete_cpuset=\"0x1\" "
      "nodeset=\"0x1\" complete_nodeset=\"0x1\" local_memory=\"1000000\"/>\n"
      "  <object type=\"PU\" os_index=\"0\" cpuset=\"0x1\" complete_cpuset=\"0x1\" "
      "nodeset=\"0x1\" complete_nodeset=\"0x1\"/>\n"
      "  <object type=\"OSDev\" name=\"mlx5_9\" osdev_type=\"3\"/>\n"
      " </object>\n</topology>\n";
  SystemGraph g;
  Status s = LoadTopologyFile(WriteTemp("orphan_nic.xml", xml), &g);
  EXPECT_EQ(weftInvalidArgument, s.code()) << s.message();
  EXPECT_NE(std::string::npos, s.message().find("mlx5_9 has no PCI device")) << s.message();
}

TEST(TopologyLive, ThisHostWithoutGpusIsACpuOnlyView) {
  SystemGraph g;
  Status s = LoadHwlocTopology("", &g);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(NodeKind::kMachine, g.nodes[0].kind);
  int numa = 0;
  for (const TopoNode& n : g.nodes)
    numa += n.kind == NodeKind::kNuma;
  EXPECT_GE(numa, 1);
  Path bottleneck;
  EXPECT_EQ(g.gpus.size(), GreedyGpuRing(g, &bottleneck).size());
}

TEST(PciIds, Normalize) {
  EXPECT_EQ("0000:04:00.0", NormalizePciId("04:00.0"));
  EXPECT_EQ("ffff:ff:01.0", NormalizePciId("FFFF:FF:01.0"));
  EXPECT_EQ("0001:00:00.0", NormalizePciId("0001:00:00.0"));
  EXPECT_EQ("", NormalizePciId("fffffff:ffff:ff"));
  EXPECT_EQ("", NormalizePciId(""));
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// What a person or the ring search reads from a graph; equal before and after a round trip.
std::string Summary(const SystemGraph& g) {
  std::string s;
  for (int id : g.gpus) {
    const TopoNode& n = g.nodes[id];
    s += Format("gpu %s %s numa %d nvl %.1f\n", n.pci.c_str(), n.name.c_str(), n.numa,
                NvLinkGbps(g, id));
  }
  for (int id : g.nics) {
    const TopoNode& n = g.nodes[id];
    s += Format("nic %s %s numa %d %s %.0f %s\n", n.pci.c_str(), n.name.c_str(), n.numa,
                n.link_layer.c_str(), n.speed_gbps, n.state.c_str());
  }
  for (const auto& row : GpuPaths(g)) {
    for (const Path& p : row)
      s += Format("%s/%d/%.1f ", PathClassName(p.cls), p.nvlinks, p.gbps);
    s += "\n";
  }
  for (const auto& row : GpuNicPaths(g)) {
    for (const Path& p : row)
      s += Format("%s/%.1f ", PathClassName(p.cls), p.gbps);
    s += "\n";
  }
  for (int n : AssignNics(g))
    s += Format("%d ", n);
  return s;
}

TEST(TopologyDump, EveryFixtureRoundTripsThroughNcclXml) {
  for (const char* name : {"mpibind-cts1-pascal.xml", "mpibind-coral-lassen.xml",
                           "hwloc-nvidiaDGX2.xml", "hwloc-power8gpudistances.xml",
                           "azure-ndv4-topo.xml", "azure-ndv5-topo.xml", "azure-ncv4-topo.xml"}) {
    if (!HaveFixtures()) GTEST_SKIP() << "topology fixtures not found";
    const std::string path = Fixture(name);
    SystemGraph first, second;
    ASSERT_TRUE(LoadTopologyFile(path, &first).ok()) << name;
    const std::string dump = ::testing::TempDir() + "/dump_" + name;
    ASSERT_TRUE(WriteNcclTopology(first, dump).ok());
    Status s = LoadTopologyFile(dump, &second);
    ASSERT_TRUE(s.ok()) << name << ": " << s.message();
    EXPECT_EQ(Summary(first), Summary(second)) << name << "\n" << NcclTopologyXml(first);
  }
}

TEST(TopologyDump, LiveHostRoundTrips) {
  SystemGraph first, second;
  ASSERT_TRUE(LoadHwlocTopology("", &first).ok());
  const std::string dump = ::testing::TempDir() + "/dump_live.xml";
  ASSERT_TRUE(WriteNcclTopology(first, dump).ok());
  ASSERT_TRUE(LoadTopologyFile(dump, &second).ok());
  EXPECT_EQ(Summary(first), Summary(second));
}

TEST(Placement, LocalityRingGroupsHostsThenNumaNodes) {
  // Ranks 0..5: hosts A B A B A B, NUMA 1 0 0 1 0 0.
  const std::vector<uint64_t> host = {7, 9, 7, 9, 7, 9};
  const std::vector<int> numa = {1, 0, 0, 1, 0, 0};
  EXPECT_EQ((std::vector<int>{2, 4, 0, 1, 5, 3}), LocalityRing(host, numa));
  EXPECT_EQ((std::vector<int>{0}), LocalityRing({1}, {-1}));
  EXPECT_GE(CurrentNumaNode(), -1);
}

TEST(Placement, RanksWithGpusFollowTheHostsGpuRing) {
  // Host A: ranks 0..3 on GPU ring positions 2, 0, 3, 1; host B: ranks 4..7, two sharing
  // position 1, one without a GPU (NUMA 0), one at position 0.
  const std::vector<uint64_t> host = {7, 7, 7, 7, 9, 9, 9, 9};
  const std::vector<int> numa = {0, 0, 1, 1, 0, 1, 0, 0};
  const std::vector<int> gpu = {2, 0, 3, 1, 1, -1, 1, 0};
  EXPECT_EQ((std::vector<int>{1, 3, 0, 2, 7, 4, 6, 5}), LocalityRing(host, numa, gpu));
  // No GPU anywhere: the NUMA order, as without positions.
  EXPECT_EQ(LocalityRing(host, numa), LocalityRing(host, numa, std::vector<int>(8, -1)));
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

int CountLinks(const SystemGraph& g, const std::vector<int>& order, PathClass cls) {
  const auto paths = GpuPaths(g);
  int n = 0;
  for (size_t i = 0; i < order.size() && order.size() > 1; ++i)
    n += paths[order[i]][order[(i + 1) % order.size()]].cls == cls;
  return n;
}

TEST_F(Topology, RingsOnNvSwitchAreNvLinkOnly) {
  Load("hwloc-nvidiaDGX2.xml");
  const GpuRing r = SearchGpuRing(g_);
  ASSERT_EQ(16u, r.order.size());
  EXPECT_EQ(PathClass::kNvl, r.bottleneck.cls);
  EXPECT_EQ(16, CountLinks(g_, r.order, PathClass::kNvl));
}

TEST_F(Topology, PcieRingsStayInsideASwitchBeforeCrossing) {
  Load("azure-ndv4-topo.xml");
  GpuRing r = SearchGpuRing(g_);
  ASSERT_EQ(8u, r.order.size());
  // Four PCIe switches of two GPUs: each visited in one go (4 PIX hops), crossing 4 times.
  EXPECT_EQ(4, CountLinks(g_, r.order, PathClass::kPix));
  EXPECT_EQ(4, CountLinks(g_, r.order, PathClass::kSys));
  Load("azure-ndv5-topo.xml");
  r = SearchGpuRing(g_);
  // Two sockets of four GPUs: cross between them only twice.
  EXPECT_EQ(2, CountLinks(g_, r.order, PathClass::kSys));
  EXPECT_EQ(6, CountLinks(g_, r.order, PathClass::kPhb));
}

TEST_F(Topology, NvLinkPairsStayAdjacent) {
  Load("hwloc-power8gpudistances.xml");
  GpuRing r = SearchGpuRing(g_);
  EXPECT_EQ(2, CountLinks(g_, r.order, PathClass::kNvl));
  EXPECT_EQ(2, CountLinks(g_, r.order, PathClass::kSys));
}

TEST_F(Topology, OneGpuRingIsTrivial) {
  Load("azure-ncv4-topo.xml");
  SystemGraph one = g_;
  one.gpus.resize(1);
  GpuRing r = SearchGpuRing(one);
  EXPECT_EQ((std::vector<int>{0}), r.order);
  EXPECT_EQ(PathClass::kLoc, r.bottleneck.cls);
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// DGX-1 (V100) hybrid cube-mesh: two quads, each fully connected, plus 0-4, 1-5, 2-6, 3-7.
// Each V100 link pair is 50 GB/s (2 NVLinks), single links 25 GB/s.
SystemGraph HybridCubeMesh() {
  SystemGraph g;
  TopoNode machine;
  machine.kind = NodeKind::kMachine;
  g.Add(machine);
  std::vector<int> gpu;
  for (int i = 0; i < 8; ++i) {
    TopoNode n;
    n.kind = NodeKind::kGpu;
    n.parent = 0;
    n.pci = PciId(0, 0x10 + i, 0, 0);
    gpu.push_back(g.Add(n));
  }
  auto link = [&](int a, int b, int count) {
    g.nvlinks.push_back({gpu[a], gpu[b], count, 25.0 * count});
  };
  for (int q = 0; q < 8; q += 4) {
    link(q + 0, q + 1, 1);
    link(q + 0, q + 2, 1);
    link(q + 0, q + 3, 2);
    link(q + 1, q + 2, 2);
    link(q + 1, q + 3, 1);
    link(q + 2, q + 3, 1);
  }
  for (int i = 0; i < 4; ++i)
    link(i, i + 4, i % 2 == 0 ? 2 : 1);
  g.Finish();
  return g;
}

TEST(Paths, HybridCubeMeshHasNvbBetweenGpusWithoutADirectLink) {
  const SystemGraph g = HybridCubeMesh();
  // 0-4 direct; 0-5 not: through GPU 1 (0-1 25, 1-5 25) or GPU 4 (0-4 50, 4-5 25).
  EXPECT_EQ(PathClass::kNvl, ComputePath(g, g.gpus[0], g.gpus[4]).cls);
  const Path p = ComputePath(g, g.gpus[0], g.gpus[5]);
  EXPECT_EQ(PathClass::kNvb, p.cls);
  EXPECT_DOUBLE_EQ(25.0, p.gbps);
  EXPECT_STREQ("NVB", PathClassName(p.cls));
  // 0-6 through GPU 2 (0-2 25, 2-6 50) or 4 (0-4 50, 4-6 25): 25 either way; 3-4 through 0.
  EXPECT_EQ(PathClass::kNvb, ComputePath(g, g.gpus[0], g.gpus[6]).cls);
  const Path p34 = ComputePath(g, g.gpus[3], g.gpus[4]);
  EXPECT_EQ(PathClass::kNvb, p34.cls);
  EXPECT_DOUBLE_EQ(50.0, p34.gbps);  // 3-0 (2 links) and 0-4 (2 links)
  EXPECT_EQ(g.gpus[0], p34.via);
  // The ring search finds a ring of direct NVLinks only (0-1-5-6-2-3-7-4 exists), where
  // the greedy walk from GPU 0 closes over an NVB hop.
  EXPECT_EQ(PathClass::kNvl, SearchGpuRing(g).bottleneck.cls);
  Path greedy;
  GreedyGpuRing(g, &greedy);
  EXPECT_EQ(PathClass::kNvb, greedy.cls);
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

SystemGraph LoadFixture(const char* name) {
  SystemGraph g;
  Status s = LoadTopologyFile(Fixture(name), &g);
  EXPECT_TRUE(s.ok()) << s.message();
  return g;
}

TEST(JobTopology, GroupsRanksByHostInOrderOfTheirFirstRank) {
  const JobTopology job = JobTopology::Group({7, 9, 7, 5, 9});
  EXPECT_EQ(3, job.nhosts());
  EXPECT_EQ((std::vector<int>{0, 1, 0, 2, 1}), job.host_of);
  EXPECT_EQ((std::vector<int>{0, 1, 3}), job.first_rank);
}

TEST(JobTopology, EachRanksGpuIsPlacedInItsOwnHostsRing) {
  if (!HaveFixtures()) GTEST_SKIP() << "topology fixtures not found";
  // Ranks 0..7 on an NDv4 (8 A100, one per GPU in PCI order), ranks 8..10 on a Pascal node
  // (2 P100 over PCIe); rank 10 claims an NDv4 GPU its host does not have.
  std::vector<uint64_t> hosts(11, 1);
  hosts[8] = hosts[9] = hosts[10] = 2;
  JobTopology job = JobTopology::Group(hosts);
  job.hosts[0] = LoadFixture("azure-ndv4-topo.xml");
  job.hosts[1] = LoadFixture("mpibind-cts1-pascal.xml");
  const SystemGraph& nd = job.hosts[0];
  const SystemGraph& pascal = job.hosts[1];
  std::vector<std::string> gpus;
  for (int gpu : nd.gpus)
    gpus.push_back(nd.nodes[gpu].pci);
  gpus.push_back(pascal.nodes[pascal.gpus[1]].pci);
  gpus.push_back(pascal.nodes[pascal.gpus[0]].pci);
  gpus.push_back(nd.nodes[nd.gpus[3]].pci);
  const std::vector<int> pos = GpuRingPositions(job, gpus);
  // The NDv4's positions: its best ring, entered at the GPU that owns the first NIC.
  const std::vector<int> ring = SearchGpuRing(nd).order;
  const std::vector<int> nic_of = AssignNics(nd);
  std::vector<int> gpu_at(8, -1);
  for (int r = 0; r < 8; ++r) {
    ASSERT_GE(pos[r], 0);
    ASSERT_LT(pos[r], 8);
    gpu_at[pos[r]] = r;  // rank r is on GPU index r
  }
  EXPECT_EQ(0, nic_of[gpu_at[0]]);
  // The best ring, in one direction or the other (the one whose last GPU is nearer NIC 0).
  const auto first = std::find(ring.begin(), ring.end(), gpu_at[0]) - ring.begin();
  const int step = ring[(first + 1) % 8] == gpu_at[1] ? 1 : 7;
  for (int p = 0; p < 8; ++p) {
    const auto at = std::find(ring.begin(), ring.end(), gpu_at[p]) - ring.begin();
    EXPECT_EQ(ring[(at + step) % 8], gpu_at[(p + 1) % 8]) << "position " << p;
  }
  const Path last = ComputePath(nd, nd.gpus[gpu_at[7]], nd.rails[0]);
  const Path other_way = ComputePath(nd, nd.gpus[gpu_at[1]], nd.rails[0]);
  EXPECT_LE(static_cast<int>(last.cls), static_cast<int>(other_way.cls));
  // The Pascal ranks by their own host's ring; the stranger placed nowhere.
  EXPECT_EQ(1, pos[8] + pos[9]);
  EXPECT_EQ(-1, pos[10]);
  EXPECT_EQ((std::vector<int>{-1, -1}), GpuRingPositions(JobTopology::Group({1, 1}), {"", ""}));
}

TEST(JobTopology, InfiniBandOnlyWhenEveryHostHasIt) {
  if (!HaveFixtures()) GTEST_SKIP() << "topology fixtures not found";
  JobTopology job = JobTopology::Group({1, 2});
  job.hosts[0] = LoadFixture("azure-ndv4-topo.xml");
  job.hosts[1] = LoadFixture("azure-ndv5-topo.xml");
  EXPECT_TRUE(EveryHostHasInfiniBand(job));
  job.hosts[1] = LoadFixture("azure-ncv4-topo.xml");  // Ethernet only
  EXPECT_FALSE(EveryHostHasInfiniBand(job));
  const std::string text = DescribeHosts(job);
  EXPECT_NE(std::string::npos, text.find("host 0 (ranks 0): 8 GPUs, 8 NICs")) << text;
  EXPECT_NE(std::string::npos, text.find("host 1 (ranks 1): 4 GPUs, 1 NICs: eth0(ethernet)"))
      << text;
}

TEST(JobTopology, AHostViewSurvivesTheTripAsText) {
  if (!HaveFixtures()) GTEST_SKIP() << "topology fixtures not found";
  // What ExchangeHostViews sends (NCCL XML) and parses back.
  const SystemGraph g = LoadFixture("hwloc-nvidiaDGX2.xml");
  SystemGraph back;
  ASSERT_TRUE(ParseNcclTopology(NcclTopologyXml(g), "rank 3's host view", &back).ok());
  EXPECT_EQ(Summary(g), Summary(back));
  Status bad = ParseNcclTopology("<system version=\"1\"><cpu", "rank 3's host view", &back);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(std::string::npos, bad.message().find("rank 3's host view: XML error"))
      << bad.message();
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// Where an element of an NCCL topology file sits, to find its counterpart in another file.
std::string ElementKey(const pugi::xml_node& x) {
  const std::string name = x.name();
  if (name == "cpu") return "cpu " + std::string(x.attribute("numaid").value());
  if (name == "pci") return "pci " + NormalizePciId(x.attribute("busid").value());
  if (name == "gpu") return "gpu " + NormalizePciId(x.parent().attribute("busid").value());
  if (name == "net") return "net " + std::string(x.attribute("name").value());
  if (name == "nvlink")
    return "nvlink " + NormalizePciId(x.parent().parent().attribute("busid").value()) + " " +
           x.attribute("target").value();
  return "";  // <system>, <nic>: containers
}

void IndexElements(const pugi::xml_node& x, std::map<std::string, pugi::xml_node>* out) {
  for (pugi::xml_node c : x.children()) {
    const std::string key = ElementKey(c);
    if (!key.empty()) (*out)[key] = c;
    IndexElements(c, out);
  }
}

// NCCL's own dump (Azure's NC A100 v4 file is one) and the cloud files in NCCL's format,
// against Weft's dump of them: every element NCCL wrote is there with every attribute and
// value it had, except NVLinks that target the GPU itself (they name no peer: the graph has
// no place for them).
TEST(TopologyDump, KeepsWhatNcclsOwnDumpHolds) {
  if (!HaveFixtures()) GTEST_SKIP() << "topology fixtures not found";
  for (const char* name : {"azure-ncv4-topo.xml", "azure-ndv4-topo.xml", "azure-ndv5-topo.xml"}) {
    pugi::xml_document theirs, ours;
    ASSERT_TRUE(theirs.load_file(Fixture(name).c_str())) << name;
    SystemGraph g;
    ASSERT_TRUE(LoadTopologyFile(Fixture(name), &g).ok()) << name;
    const std::string dump = NcclTopologyXml(g);
    ASSERT_TRUE(ours.load_string(dump.c_str())) << name;
    std::map<std::string, pugi::xml_node> nccl, weft;
    IndexElements(theirs, &nccl);
    IndexElements(ours, &weft);
    int compared = 0;
    for (const auto& [key, x] : nccl) {
      if (std::string(x.name()) == "nvlink" &&
          NormalizePciId(x.attribute("target").value()) ==
              NormalizePciId(x.parent().parent().attribute("busid").value()))
        continue;
      auto it = weft.find(key);
      ASSERT_NE(weft.end(), it) << name << ": no " << key << " in\n" << dump;
      for (pugi::xml_attribute a : x.attributes()) {
        const pugi::xml_attribute mine = it->second.attribute(a.name());
        const bool pci = std::strcmp(a.name(), "busid") == 0;
        EXPECT_EQ(pci ? NormalizePciId(a.value()) : a.value(),
                  pci ? NormalizePciId(mine.value()) : mine.value())
            << name << ": " << key << " attribute " << a.name();
        ++compared;
      }
    }
    EXPECT_GT(compared, 40) << name;
  }
}

// A live dump carries what NCCL's has about the CPUs: their mask, architecture and identity.
TEST(TopologyDump, LiveDumpDescribesTheCpusAsNcclDoes) {
  SystemGraph g;
  ASSERT_TRUE(LoadHwlocTopology("", &g).ok());
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(NcclTopologyXml(g).c_str()));
  pugi::xml_node cpu = doc.child("system").child("cpu");
  ASSERT_TRUE(cpu);
  const std::string affinity = cpu.attribute("affinity").value();
  EXPECT_FALSE(affinity.empty());
  for (size_t word = 0; word < affinity.size(); word += 9) {  // "xxxxxxxx,xxxxxxxx"
    EXPECT_EQ(std::string::npos, affinity.substr(word, 8).find_first_not_of("0123456789abcdef"))
        << affinity;
    if (word + 8 < affinity.size()) {
      EXPECT_EQ(',', affinity[word + 8]) << affinity;
    }
  }
  EXPECT_FALSE(std::string(cpu.attribute("arch").value()).empty());
  EXPECT_FALSE(std::string(cpu.attribute("vendor").value()).empty());
}

TEST(TopologyDump, HwlocFilesGiveCpuIdentityAndNicGuids) {
  if (!HaveFixtures()) GTEST_SKIP() << "topology fixtures not found";
  SystemGraph g;
  ASSERT_TRUE(LoadTopologyFile(Fixture("mpibind-cts1-pascal.xml"), &g).ok());
  const std::string xml = NcclTopologyXml(g);
  EXPECT_NE(std::string::npos,
            xml.find("arch=\"x86_64\" vendor=\"GenuineIntel\" familyid=\"6\" modelid=\"79\""))
      << xml;
  EXPECT_NE(std::string::npos, xml.find("guid=\"0xec0d9a030067fdd4\"")) << xml;
}

}  // namespace
}  // namespace weft
