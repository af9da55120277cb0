// Every published machine file in tests/topologies, read with the facts NCCL would derive
// from it: GPU and NIC counts (management ports apart), link layers, NVLink (or xGMI)
// bandwidth per GPU, GPU -> NIC pairing by PCI address, NUMA nodes, and how often the
// host's best GPU ring crosses CPU sockets, with the inter-socket bandwidth NCCL's tables
// give. Then one minimal file per way real files used to read wrong.
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collectives/job_layout.h"
#include "collectives/rail_filter.h"
#include "tests/unit/topology_fixture.h"
#include "topology/link_facts.h"
#include "topology/merge.h"
#include "topology/nccl_xml_loader.h"
#include "topology/nccl_xml_writer.h"
#include "topology/paths.h"
#include "topology/rings.h"

namespace weft {
namespace {

SystemGraph Load(const std::string& name) {
  return LoadFixture(name);
}

SystemGraph Parse(const std::string& xml) {
  SystemGraph g;
  const Status s = ParseNcclTopology(xml, "test", &g);
  EXPECT_TRUE(s.ok()) << s.message();
  return g;
}

struct Facts {
  const char* file;
  size_t gpus;
  bool nvidia;
  size_t rails, management;
  std::string link_layer;             // of every rail ("" for none)
  std::optional<double> nvlink_gbps;  // every GPU's; nullopt: the file does not say
  std::vector<std::string> nic_of;    // each GPU's NIC id ("" for none), or empty: all ""
  std::vector<int> numa;              // each GPU's NUMA node
  int ring_socket_crossings;          // SYS links of the best GPU ring
  double ring_bottleneck_gbps;        // 0: not asserted
};

const std::vector<std::string> kNdv = {"0101:00:00.0", "0102:00:00.0", "0103:00:00.0",
                                       "0104:00:00.0", "0105:00:00.0", "0106:00:00.0",
                                       "0107:00:00.0", "0108:00:00.0"};

const Facts kFacts[] = {
    // AMD Rome (family 23): the ring crosses its 4 NUMA nodes at 16 GB/s (NCCL's AMD_BW).
    {"azure-ncv4-topo.xml",
     4,
     true,
     1,
     0,
     "ethernet",
     0.0,
     {"eth0", "eth0", "eth0", "eth0"},
     {0, 1, 2, 3},
     4,
     16},
    {"azure-ndv4-topo.xml",
     8,
     true,
     8,
     0,
     "ib",
     std::nullopt,
     kNdv,
     {1, 1, 0, 0, 3, 3, 2, 2},
     4,
     16},
    // Sapphire Rapids (model 143): 22 GB/s between the sockets.
    {"azure-ndv5-topo.xml",
     8,
     true,
     8,
     0,
     "ib",
     std::nullopt,
     kNdv,
     {0, 0, 0, 0, 1, 1, 1, 1},
     2,
     22},
    // 6 NVSwitches at 25 GB/s each (hwloc's matrix, as written).
    {"hwloc-nvidiaDGX2.xml",
     16,
     true,
     0,
     0,
     "",
     150.0,
     {},
     {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
     0,
     150},
    {"hwloc-power8gpudistances.xml", 4, true, 0, 0, "", 80.0, {}, {0, 0, 1, 1}, 2, 0},
    // hwloc 2.2: no NVLink matrix; the Ethernet ports are not rails beside the HCAs.
    {"mpibind-coral-lassen.xml",
     4,
     true,
     4,
     2,
     "ib",
     std::nullopt,
     {"0003:01:00.0", "0003:01:00.1", "0033:01:00.0", "0033:01:00.1"},
     {0, 0, 8, 8},
     2,
     0},
    {"mpibind-cts1-pascal.xml",
     2,
     true,
     1,
     2,
     "ib",
     std::nullopt,
     {"0000:08:00.0", "0000:08:00.0"},
     {0, 0},
     0,
     0},
    // 8 MI250X GCDs on xGMI (7 peers at 100 GB/s), Slingshot rails, an I210 management port.
    {"mpibind-eas-tioga.xml",
     8,
     false,
     4,
     1,
     "slingshot",
     700.0,
     {"0000:c5:00.0", "0000:c5:00.0", "0000:cd:00.0", "0000:cd:00.0", "0000:d5:00.0",
      "0000:d5:00.0", "0000:dd:00.0", "0000:dd:00.0"},
     {3, 3, 1, 1, 0, 0, 2, 2},
     0,
     100},
    // One EFA for 8 T4; the ENA is the host's IP port.
    {"mpibind-g4dnmetal.xml",
     8,
     true,
     1,
     1,
     "efa",
     std::nullopt,
     std::vector<std::string>(8, "0000:c5:00.0"),
     {0, 0, 0, 0, 1, 1, 1, 1},
     2,
     0},
    // Written by hand: no vendor ids, so Ethernet (not RoCE); AMD Milan NUMA nodes.
    {"oci-hpc-b4-flattened-topo.xml",
     8,
     true,
     8,
     0,
     "ethernet",
     std::nullopt,
     {"0000:0c:00.0", "0000:16:00.0", "0000:47:00.0", "0000:4b:00.0", "0000:89:00.0",
      "0000:93:00.0", "0000:c3:00.0", "0000:d1:00.0"},
     {3, 3, 1, 1, 7, 7, 5, 5},
     4,
     16},
    // 18 NVLinks (5+5+4+4 to 4 switches) x 20.6 GB/s; 16 RoCE ports on 8 dual-port NICs,
    // each GPU paired with port 1 of the NIC beside it.
    {"oci-hpc-h100-topo.xml",
     8,
     true,
     16,
     0,
     "roce",
     18 * 20.6,
     {"0000:0c:00.0", "0000:2a:00.0", "0000:41:00.0", "0000:58:00.0", "0000:86:00.0",
      "0000:a5:00.0", "0000:bd:00.0", "0000:d5:00.0"},
     {0, 0, 0, 0, 1, 1, 1, 1},
     0,
     18 * 20.6},
    // 8 MI300X, 7 xGMI links each at 48 GB/s (RCCL's gfx942 figure).
    {"rccl-8p-940-topo.xml",
     8,
     false,
     8,
     0,
     "ib",
     7 * 48.0,
     {"0000:07:00.0", "0000:10:00.0", "0000:19:00.0", "0000:64:00.0", "0000:9a:00.0",
      "0000:aa:00.0", "0000:ba:00.0", "0000:da:00.0"},
     {0, 0, 0, 0, 1, 1, 1, 1},
     0,
     48},
};

class Fixture : public ::testing::TestWithParam<Facts> {};

TEST_P(Fixture, ReadsAsNcclWould) {
  const Facts& f = GetParam();
  const SystemGraph g = Load(f.file);
  ASSERT_EQ(f.gpus, g.gpus.size());
  for (int gpu : g.gpus)
    EXPECT_EQ(f.nvidia, g.IsNvidiaGpu(gpu));
  EXPECT_EQ(f.rails, g.rails.size());
  EXPECT_EQ(f.management, g.nics.size() - g.rails.size());
  for (int nic : g.rails)
    EXPECT_EQ(f.link_layer, g.nodes[nic].link_layer) << g.NicId(nic);
  EXPECT_EQ(f.nvlink_gbps.has_value(), g.nvlinks_known);
  const std::vector<int> nic_of = AssignNics(g);
  for (size_t i = 0; i < g.gpus.size(); ++i) {
    if (f.nvlink_gbps) {
      EXPECT_NEAR(*f.nvlink_gbps, NvLinkGbps(g, g.gpus[i]), 1e-6) << "GPU " << i;
    }
    EXPECT_EQ(f.numa[i], g.nodes[g.gpus[i]].numa) << "GPU " << i;
    const std::string nic = nic_of[i] >= 0 ? g.NicId(g.rails[nic_of[i]]) : "";
    EXPECT_EQ(f.nic_of.empty() ? "" : f.nic_of[i], nic) << "GPU " << i;
  }
  const GpuRing ring = SearchGpuRing(g);
  const auto paths = GpuPaths(g);
  int crossings = 0;
  for (size_t i = 0; i < ring.order.size(); ++i)
    crossings +=
        paths[ring.order[i]][ring.order[(i + 1) % ring.order.size()]].cls == PathClass::kSys;
  EXPECT_EQ(f.ring_socket_crossings, crossings);
  if (f.ring_bottleneck_gbps > 0) {
    EXPECT_NEAR(f.ring_bottleneck_gbps, ring.bottleneck.gbps, 1e-6);
  }
  // What the communicator sends other ranks keeps these facts.
  SystemGraph back;
  ASSERT_TRUE(ParseNcclTopology(NcclTopologyXml(g), "round trip", &back).ok());
  EXPECT_EQ(g.rails.size(), back.rails.size());
  EXPECT_EQ(g.nvlinks_known, back.nvlinks_known);
  for (size_t i = 0; i < g.gpus.size(); ++i)
    EXPECT_NEAR(NvLinkGbps(g, g.gpus[i]), NvLinkGbps(back, back.gpus[i]), 1e-3);
  for (size_t i = 0; i < g.nics.size(); ++i)
    EXPECT_EQ(g.NicId(g.nics[i]), back.NicId(back.nics[i]));
}

INSTANTIATE_TEST_SUITE_P(EveryPublishedFile, Fixture, ::testing::ValuesIn(kFacts),
                         [](const ::testing::TestParamInfo<Facts>& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find(".xml"));
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// Defect 1: a GPU's <nvlink> elements to several switches add up, and a GPU-GPU link that
// both ends list counts once.
TEST(TopologyFiles, ParallelNvLinksAddUp) {
  const SystemGraph g = Parse(R"(<system version="1"><cpu numaid="0">
    <pci busid="0000:01:00.0" class="0x030200" vendor="0x10de" device="0x2330">
      <gpu dev="0" sm="90"><nvlink target="0000:a0:00.0" count="5" tclass="0x068000"/>
        <nvlink target="0000:a1:00.0" count="4" tclass="0x068000"/>
        <nvlink target="0000:02:00.0" count="2" tclass="0x030200"/></gpu></pci>
    <pci busid="0000:02:00.0" class="0x030200" vendor="0x10de" device="0x2330">
      <gpu dev="1" sm="90"><nvlink target="0000:a1:00.0" count="4" tclass="0x068000"/>
        <nvlink target="0000:a0:00.0" count="5" tclass="0x068000"/>
        <nvlink target="0000:01:00.0" count="2" tclass="0x030200"/></gpu></pci>
    </cpu></system>)");
  ASSERT_EQ(2u, g.gpus.size());
  EXPECT_NEAR(11 * 20.6, NvLinkGbps(g, g.gpus[0]), 1e-9);
  EXPECT_NEAR(11 * 20.6, NvLinkGbps(g, g.gpus[1]), 1e-9);
  const Path p = ComputePath(g, g.gpus[0], g.gpus[1]);
  EXPECT_EQ(PathClass::kNvl, p.cls);
  EXPECT_EQ(11, p.nvlinks);  // 2 direct + 9 through the switches
}

// Defect 2: the link layer of a NIC without a name, from its PCI class and ids.
TEST(TopologyFiles, LinkLayerFromPciIds) {
  const SystemGraph g = Parse(R"(<system version="1"><cpu numaid="0">
    <pci busid="0000:01:00.0" class="0x020700" vendor="0x15b3" device="0x1021"/>
    <pci busid="0000:02:00.0" class="0x020000" vendor="0x15b3" device="0x1021"/>
    <pci busid="0000:03:00.0" class="0x020000" vendor="0x1d0f" device="0xefa1"/>
    <pci busid="0000:04:00.0" class="0x020000" vendor="0x17db" device="0x0501"/>
    <pci busid="0000:05:00.0" class="0x020000" vendor="0x8086" device="0x1537"/>
    </cpu></system>)");
  ASSERT_EQ(5u, g.nics.size());
  std::vector<std::string> layers;
  for (int nic : g.nics)
    layers.push_back(g.nodes[nic].link_layer);
  EXPECT_EQ((std::vector<std::string>{"ib", "roce", "efa", "slingshot", "ethernet"}), layers);
  // Beside four fabric NICs, the plain Ethernet port is not a rail.
  EXPECT_EQ(4u, g.rails.size());
  EXPECT_TRUE(g.nodes[g.nics[4]].management);
  EXPECT_EQ("efa", LinkLayerFromPci(0x020000, 0x1d0f, 0xefa3));
  EXPECT_EQ("ethernet", LinkLayerFromPci(0x020000, 0x1d0f, 0xec20));  // ENA
}

// Defect 6: on an Ethernet-only host, a port far slower than the fastest is management;
// it is never a GPU's NIC.
TEST(TopologyFiles, SlowPortsAreNotRails) {
  const SystemGraph g = Parse(R"(<system version="1"><cpu numaid="0">
    <pci busid="0000:01:00.0" class="0x030200" vendor="0x10de" device="0x20b5"/>
    <pci busid="0000:02:00.0" class="0x020000" vendor="0x8086" device="0x1521">
      <nic><net name="eno1" speed="1000"/></nic></pci>
    </cpu><cpu numaid="1">
    <pci busid="0000:81:00.0" class="0x020000" vendor="0x14e4" device="0x1750">
      <nic><net name="ens5" speed="100000"/></nic></pci>
    </cpu></system>)");
  ASSERT_EQ(2u, g.nics.size());
  ASSERT_EQ(1u, g.rails.size());
  EXPECT_EQ("ens5", g.nodes[g.rails[0]].name);
  EXPECT_EQ(std::vector<int>{0}, AssignNics(g));  // across the socket, not the 1 GbE beside it
}

// Defect 5: a path across sockets is bounded by the link between them, by CPU model.
TEST(TopologyFiles, SocketLinksByCpuModel) {
  auto crossing = [](const std::string& cpu) {
    const SystemGraph g =
        Parse("<system version=\"1\"><cpu numaid=\"0\" " + cpu +
              "><pci busid=\"0000:01:00.0\" class=\"0x030200\" vendor=\"0x10de\" device=\"0x2330\" "
              "link_speed=\"32.0 GT/s PCIe\" link_width=\"16\"/></cpu><cpu numaid=\"1\" " +
              cpu +
              "><pci busid=\"0000:81:00.0\" class=\"0x030200\" vendor=\"0x10de\" device=\"0x2330\" "
              "link_speed=\"32.0 GT/s PCIe\" link_width=\"16\"/></cpu></system>");
    const Path p = ComputePath(g, g.gpus[0], g.gpus[1]);
    EXPECT_EQ(PathClass::kSys, p.cls);
    return p.gbps;
  };
  const std::string x86 = "arch=\"x86_64\" vendor=\"GenuineIntel\" familyid=\"6\" modelid=";
  EXPECT_DOUBLE_EQ(6, crossing(x86 + "\"79\""));    // Broadwell
  EXPECT_DOUBLE_EQ(10, crossing(x86 + "\"85\""));   // Skylake
  EXPECT_DOUBLE_EQ(22, crossing(x86 + "\"143\""));  // Sapphire Rapids
  EXPECT_DOUBLE_EQ(40, crossing(x86 + "\"207\""));  // Emerald Rapids
  EXPECT_DOUBLE_EQ(16, crossing("arch=\"x86_64\" vendor=\"AuthenticAMD\" familyid=\"25\""));
  EXPECT_DOUBLE_EQ(32, crossing("arch=\"ppc64\""));
  // Unknown CPU: the PCIe links bound it (Gen5 x16 after encoding).
  EXPECT_NEAR(63.0, crossing(""), 0.1);
}

// Defect 10: an NCCL file of bare <pci> nodes does not say which NVLinks exist; one that
// describes its GPUs does, none included.
TEST(TopologyFiles, NvLinksNotInFileAreNotNone) {
  const std::string gpu =
      "<pci busid=\"0000:01:00.0\" class=\"0x030200\" vendor=\"0x10de\" device=\"0x2330\"";
  EXPECT_FALSE(
      Parse("<system version=\"1\"><cpu numaid=\"0\">" + gpu + "/></cpu></system>").nvlinks_known);
  EXPECT_TRUE(Parse("<system version=\"1\"><cpu numaid=\"0\">" + gpu +
                    "><gpu dev=\"0\" sm=\"80\"/></pci></cpu></system>")
                  .nvlinks_known);
}

// Defect 9: labels keep two significant digits.
TEST(TopologyFiles, BandwidthTextKeepsTwoDigits) {
  EXPECT_EQ("0.25", GbpsText(0.25));
  EXPECT_EQ("2.5", GbpsText(2.5));
  EXPECT_EQ("16", GbpsText(15.75));
  EXPECT_EQ("371", GbpsText(370.8));
}

// Defect 4: live facts fill what a file lacks, never what it states.
TEST(TopologyMerge, LiveFactsFillWhatTheFileLacks) {
  SystemGraph file = Load("azure-ndv5-topo.xml");
  ASSERT_FALSE(file.nvlinks_known);
  // The host as detected: the same GPUs on an NVSwitch fabric, named NICs, one down.
  SystemGraph live = Load("azure-ndv5-topo.xml");
  const int fabric = live.NvSwitchFabric();
  for (int gpu : live.gpus)
    live.nvlinks.push_back({gpu, fabric, 18, 18 * 20.6});
  for (size_t i = 0; i < live.nics.size(); ++i) {
    live.nodes[live.nics[i]].name = "mlx5_" + std::to_string(i);
    live.nodes[live.nics[i]].speed_gbps = 400;
    live.nodes[live.nics[i]].state = i == 3 ? "down" : "active";
  }
  live.nodes[live.gpus[0]].name = "NVIDIA H100 80GB HBM3";
  MergeLiveFacts(live, &file);
  EXPECT_TRUE(file.nvlinks_known);
  for (int gpu : file.gpus)
    EXPECT_NEAR(18 * 20.6, NvLinkGbps(file, gpu), 1e-9);
  EXPECT_EQ("mlx5_0", file.nodes[file.nics[0]].name);
  EXPECT_EQ("down", file.nodes[file.nics[3]].state);
  EXPECT_EQ(400, file.nodes[file.nics[7]].speed_gbps);
  EXPECT_EQ("NVIDIA H100 80GB HBM3", file.nodes[file.gpus[0]].name);
  EXPECT_NE(std::string::npos, file.source.find("+ this host"));
  ASSERT_FALSE(file.notes.empty());
  EXPECT_NE(std::string::npos, file.notes[0].find("NVLink: 8 connections from this host"));

  // A file that lists NVLinks keeps its own; a host without the file's devices adds nothing.
  SystemGraph h100 = Load("oci-hpc-h100-topo.xml");
  SystemGraph other = Load("oci-hpc-h100-topo.xml");
  for (NvLink& l : other.nvlinks)
    l.gbps = 1;
  MergeLiveFacts(other, &h100);
  EXPECT_NEAR(18 * 20.6, NvLinkGbps(h100, h100.gpus[0]), 1e-9);
  SystemGraph pascal = Load("mpibind-cts1-pascal.xml");
  const size_t links = pascal.nvlinks.size();
  MergeLiveFacts(Load("azure-ndv4-topo.xml"), &pascal);
  EXPECT_EQ(links, pascal.nvlinks.size());
  EXPECT_EQ(std::string::npos, pascal.source.find("+ this host"));
}

TEST(TopologyMerge, FileAloneOnRequest) {
  SystemGraph g;
  ASSERT_TRUE(
      LoadHostTopology(std::string(WEFT_TOPOLOGY_FIXTURES) + "/azure-ndv5-topo.xml", false, &g)
          .ok());
  ASSERT_EQ(1u, g.notes.size());
  EXPECT_NE(std::string::npos, g.notes[0].find("the file alone"));
  const Status s = LoadHostTopology("/nonexistent.xml", true, &g);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("WEFT_TOPO_FILE"));
}

// Defect 8: between hosts the ring goes NIC k to NIC k, leaving each host from the GPU
// nearer that NIC; the hierarchical rings use each local rank's own rail on every host.
TEST(JobLayoutRails, RingSegmentsBetweenHostsStayOnOneRail) {
  for (const char* file : {"azure-ndv4-topo.xml", "oci-hpc-h100-topo.xml",
                           "mpibind-coral-lassen.xml", "azure-ndv5-topo.xml"}) {
    const SystemGraph g = Load(file);
    JobTopology job;
    std::vector<RankPlace> ranks;
    ImagineJob(g, 3, static_cast<int>(g.gpus.size()), &job, &ranks);
    const JobLayout layout = LayOutJob(job, ranks);
    ASSERT_EQ(3u, layout.ring_hops.size()) << file;
    for (const RailHop& hop : layout.ring_hops) {
      EXPECT_EQ(0, hop.rail) << file;
      EXPECT_EQ(hop.from_nic, hop.to_nic) << file;
      EXPECT_EQ(g.NicId(g.rails[0]), hop.to_nic) << file;
      // The GPU that leaves is no farther from the rail than the one the other direction
      // would have left from.
      const std::vector<int>& host = layout.shapes.hosts[job.host_of[hop.from]];
      const int local_last = hop.from % static_cast<int>(g.gpus.size());
      const int local_other = host[1] % static_cast<int>(g.gpus.size());
      EXPECT_LE(static_cast<int>(ComputePath(g, g.gpus[local_last], g.rails[0]).cls),
                static_cast<int>(ComputePath(g, g.gpus[local_other], g.rails[0]).cls))
          << file;
    }
    const std::vector<int> nic_of = AssignNics(g);
    for (size_t r = 0; r < ranks.size(); ++r)
      EXPECT_EQ(nic_of[r % g.gpus.size()], layout.rail_of[r]) << file << " rank " << r;
    // Every rank once in the ring; the trees span every rank.
    std::vector<int> sorted = layout.shapes.ring;
    std::sort(sorted.begin(), sorted.end());
    for (size_t r = 0; r < sorted.size(); ++r)
      ASSERT_EQ(static_cast<int>(r), sorted[r]);
    EXPECT_EQ(ranks.size(), layout.shapes.trees[0].parent.size());
  }
}

// AMD GPUs are read, never driven: an imagined job on them has ranks without GPUs.
TEST(JobLayoutRails, AmdGpusAreNotGivenToRanks) {
  const SystemGraph g = Load("rccl-8p-940-topo.xml");
  JobTopology job;
  std::vector<RankPlace> ranks;
  ImagineJob(g, 1, 4, &job, &ranks);
  for (const RankPlace& r : ranks)
    EXPECT_TRUE(r.gpu_pci.empty());
  EXPECT_EQ((std::vector<int>{0, 0, 1, 1}),
            (std::vector<int>{ranks[0].numa, ranks[1].numa, ranks[2].numa, ranks[3].numa}));
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// Each rank's UCX binds to its own rail's NIC where a host has several, and only to a device
// this rank can see; with one rail UCX chooses.
TEST(JobLayoutRails, EachRankBindsToItsRailsDevice) {
  auto bind = [](const char* file, int rank, bool present, std::string* why) {
    const SystemGraph g = Load(file);
    JobTopology job;
    std::vector<RankPlace> ranks;
    int nvidia = 0;
    for (int gpu : g.gpus)
      nvidia += g.IsNvidiaGpu(gpu);
    ImagineJob(g, 2, std::max(nvidia, 4), &job, &ranks);
    const JobLayout layout = LayOutJob(job, ranks);
    std::vector<std::string> asked;
    const std::string device = RailNetDevice(
        job, layout, rank,
        [&](const std::string& d) {
          asked.push_back(d);
          return present;
        },
        why);
    return device.empty() && !asked.empty() ? "(absent " + asked[0] + ")" : device;
  };
  std::string why;
  EXPECT_EQ("mlx5_0:1", bind("oci-hpc-h100-topo.xml", 0, true, &why));
  EXPECT_NE(std::string::npos, why.find("rail 0 of 16")) << why;
  EXPECT_EQ("mlx5_7:1", bind("oci-hpc-h100-topo.xml", 11, true, &why));  // GPU 3 of host 1
  EXPECT_EQ("(absent mlx5_0:1)", bind("oci-hpc-h100-topo.xml", 8, false, &why));
  EXPECT_NE(std::string::npos, why.find("UCX chooses")) << why;
  EXPECT_EQ("hsi1", bind("mpibind-eas-tioga.xml", 1, true, &why));  // Slingshot: the interface
  EXPECT_EQ("", bind("mpibind-cts1-pascal.xml", 0, true, &why));    // one rail
  EXPECT_NE(std::string::npos, why.find("1 rail on this host")) << why;
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

TEST(RailFilter, HcaSyntaxIsNccls) {
  EXPECT_TRUE(HcaAllowed("", "mlx5_3", 1));
  EXPECT_TRUE(HcaAllowed("mlx5_1", "mlx5_10", 2));  // a prefix, as NCCL_IB_HCA's
  EXPECT_FALSE(HcaAllowed("=mlx5_1", "mlx5_10", 2));
  EXPECT_TRUE(HcaAllowed("=mlx5_1,mlx5_3", "mlx5_3", 1));
  EXPECT_TRUE(HcaAllowed("mlx5_0:1", "mlx5_0", 1));
  EXPECT_FALSE(HcaAllowed("mlx5_0:1", "mlx5_0", 2));
  EXPECT_FALSE(HcaAllowed("^mlx5_0", "mlx5_0", 1));
  EXPECT_TRUE(HcaAllowed("^mlx5_0", "mlx5_1", 1));
  EXPECT_TRUE(HcaAllowed("^=mlx5_1", "mlx5_10", 2));
}

// WEFT_IB_HCA narrows the rails, and ranks bind to the rails left; one that leaves a host no
// fabric NIC fails, naming them.
TEST(RailFilter, IbHcaNarrowsTheRailsRanksBindTo) {
  auto rails = [](const char* spec, Status* s) {
    SystemGraph g = Load("oci-hpc-h100-topo.xml");
    *s = FilterRails(spec, "^lo,docker,virbr", "host 0", &g);
    std::vector<std::string> names;
    for (int nic : g.rails)
      names.push_back(g.nodes[nic].name);
    return names;
  };
  Status s;
  EXPECT_EQ(16u, rails("", &s).size());
  EXPECT_EQ(15u, rails("^mlx5_0", &s).size());
  EXPECT_EQ(std::vector<std::string>({"mlx5_1"}), rails("=mlx5_1", &s));
  EXPECT_EQ(8u, rails("mlx5_1", &s).size());  // mlx5_1, mlx5_10, mlx5_12 .. mlx5_17
  EXPECT_EQ(std::vector<std::string>({"mlx5_12", "mlx5_14", "mlx5_16"}), rails("mlx5_1:1", &s));
  EXPECT_TRUE(s.ok());
  rails("=mlx5_2", &s);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("WEFT_IB_HCA='=mlx5_2' leaves none of host 0's"))
      << s.message();
  EXPECT_NE(std::string::npos, s.message().find("mlx5_0:1, mlx5_1:2")) << s.message();

  // Two hosts narrowed to two rails: GPU k's rank binds to rail k mod 2's NIC.
  SystemGraph g = Load("oci-hpc-h100-topo.xml");
  ASSERT_TRUE(FilterRails("=mlx5_0,mlx5_7", "", "host 0", &g).ok());
  JobTopology job;
  std::vector<RankPlace> ranks;
  ImagineJob(g, 2, 8, &job, &ranks);
  const JobLayout layout = LayOutJob(job, ranks);
  std::set<std::string> bound;
  for (int r = 0; r < 16; ++r) {
    std::string why;
    bound.insert(RailNetDevice(
        job, layout, r, [](const std::string&) { return true; }, &why));
  }
  EXPECT_EQ((std::set<std::string>{"mlx5_0:1", "mlx5_7:1"}), bound);
}

// Ethernet rails go by their interfaces and WEFT_SOCKET_IFNAME; a filter that qualifies none
// keeps them all (it also picks the bootstrap's interface, which need not be a rail).
TEST(RailFilter, SocketIfnameNarrowsEthernetRails) {
  for (const char* spec : {"=eth0", "eth", "^docker"}) {
    SystemGraph g = Load("azure-ncv4-topo.xml");
    ASSERT_TRUE(FilterRails("", spec, "host 0", &g).ok()) << spec;
    EXPECT_EQ(1u, g.rails.size()) << spec;
  }
  SystemGraph g = Load("azure-ncv4-topo.xml");
  ASSERT_TRUE(FilterRails("", "=ib", "host 0", &g).ok());
  EXPECT_EQ(1u, g.rails.size());
  ASSERT_FALSE(g.notes.empty());
  EXPECT_NE(std::string::npos, g.notes.back().find("qualifies none of the Ethernet rails"));
}

}  // namespace
}  // namespace weft
