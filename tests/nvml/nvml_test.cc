// Weft's NVML sequence (topology/nvml.cc) against a fake libnvidia-ml.so.1 (fake_nvml.cc),
// which ctest puts on LD_LIBRARY_PATH for this binary only. The GPUs are a Lassen node's
// (hwloc 2.2 wrote its file without an NVLink matrix).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "topology/merge.h"
#include "topology/nccl_xml_loader.h"
#include "topology/nccl_xml_writer.h"
#include "topology/nvml.h"
#include "topology/paths.h"

namespace weft {
namespace {

class FakeNvml : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s =
        LoadTopologyFile(std::string(WEFT_TOPOLOGY_FIXTURES) + "/mpibind-coral-lassen.xml", &g_);
    if (!s.ok()) GTEST_SKIP() << s.message();
    ASSERT_EQ(4u, g_.gpus.size());
    ASSERT_TRUE(g_.nvlinks.empty());
    std::string gpus;
    for (int gpu : g_.gpus)
      gpus += (gpus.empty() ? "" : ",") + g_.nodes[gpu].pci;
    setenv("FAKE_NVML_GPUS", gpus.c_str(), 1);
    setenv("FAKE_NVML_CC", "70", 1);
    unsetenv("FAKE_NVML_FAIL");
  }
  const NvLink* Link(int a, int b) const {
    for (const NvLink& l : g_.nvlinks)
      if ((l.a == a && l.b == b) || (l.a == b && l.b == a)) return &l;
    return nullptr;
  }
  int Gpu(int i) const { return g_.gpus[i]; }
  SystemGraph g_;
};

TEST_F(FakeNvml, ActiveP2pLinksBecomeEdgesCountedOncePerPair) {
  // 0-1 and 2-3 by three links each way (as on Lassen), plus links NVML must not count: an
  // inactive one, one without P2P, and one to the GPU itself.
  setenv("FAKE_NVML_LINKS", "0:1:3,1:0:3,2:3:3,3:2:3,0:2:1:down,1:3:1:nop2p,2:self:1", 1);
  ASSERT_TRUE(AddNvmlNvLinks(&g_).ok());
  ASSERT_EQ(2u, g_.nvlinks.size());
  const NvLink* l01 = Link(Gpu(0), Gpu(1));
  const NvLink* l23 = Link(Gpu(2), Gpu(3));
  ASSERT_NE(nullptr, l01);
  ASSERT_NE(nullptr, l23);
  EXPECT_EQ(3, l01->count);
  EXPECT_DOUBLE_EQ(60.0, l01->gbps);  // sm 7.x: 20 GB/s per link, NCCL's figure
  EXPECT_EQ(nullptr, Link(Gpu(0), Gpu(2)));
  EXPECT_EQ(nullptr, Link(Gpu(1), Gpu(3)));
  EXPECT_EQ(PathClass::kNvl, GpuPaths(g_)[0][1].cls);
  EXPECT_NE(PathClass::kNvl, GpuPaths(g_)[0][2].cls);
  // NVML's names replace none that hwloc gave; the compute capability reaches the dump.
  EXPECT_EQ("Tesla V100-SXM2-16GB", g_.nodes[Gpu(0)].name);
  EXPECT_NE(std::string::npos, NcclTopologyXml(g_).find("<gpu dev=\"0\" sm=\"70\""));
}

TEST_F(FakeNvml, UnknownRemotesAreTheNvSwitchFabric) {
  setenv("FAKE_NVML_CC", "90", 1);
  setenv("FAKE_NVML_LINKS", "0:sw:18,1:sw:18,2:sw:18,3:sw:18", 1);
  ASSERT_TRUE(AddNvmlNvLinks(&g_).ok());
  ASSERT_EQ(4u, g_.nvlinks.size());
  const int fabric = g_.NvSwitchFabric();
  for (int i = 0; i < 4; ++i) {
    const NvLink* l = Link(Gpu(i), fabric);
    ASSERT_NE(nullptr, l) << i;
    EXPECT_EQ(18, l->count);
    EXPECT_NEAR(18 * 20.6, l->gbps, 1e-9);  // sm 9.0
  }
  // Every pair of GPUs talks over NVLink through the switches.
  for (const auto& row : GpuPaths(g_))
    for (const Path& p : row)
      EXPECT_TRUE(p.cls == PathClass::kNvl || p.cls == PathClass::kLoc);
}

// A file without NVLink facts, completed by this host's detection (hwloc + NVML) as at
// init with WEFT_TOPO_FILE: the NVLinks come from NVML, and the notes say so.
TEST_F(FakeNvml, AFileWithoutNvLinksGetsThemFromThisHost) {
  setenv("FAKE_NVML_LINKS", "0:1:3,1:0:3,2:3:3,3:2:3", 1);
  SystemGraph live = g_;
  ASSERT_TRUE(AddNvmlNvLinks(&live).ok());
  ASSERT_FALSE(g_.nvlinks_known);
  MergeLiveFacts(live, &g_);
  EXPECT_TRUE(g_.nvlinks_known);
  ASSERT_NE(nullptr, Link(Gpu(0), Gpu(1)));
  EXPECT_EQ(3, Link(Gpu(0), Gpu(1))->count);
  EXPECT_EQ(PathClass::kNvl, GpuPaths(g_)[2][3].cls);
  ASSERT_FALSE(g_.notes.empty());
  EXPECT_NE(std::string::npos, g_.notes[0].find("NVLink: 2 connections from this host (NVML)"));
}

TEST_F(FakeNvml, ANvmlThatDoesNotStartChangesNothing) {
  setenv("FAKE_NVML_FAIL", "init", 1);
  setenv("FAKE_NVML_LINKS", "0:1:3", 1);
  ASSERT_TRUE(AddNvmlNvLinks(&g_).ok());
  EXPECT_TRUE(g_.nvlinks.empty());
}

}  // namespace
}  // namespace weft
