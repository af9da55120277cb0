// The tuner for device buffers across hosts (collectives/device/device_tuning.h): the
// GPUs' links from the job's topology (NVLink where the file has it, else the default), the
// choice between the ring kernel and the device hierarchy only, and the hierarchy's legs
// costed as calls, its all-reduce's in pieces.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collectives/device/device_tuning.h"
#include "collectives/tuner.h"
#include "tests/unit/topology_fixture.h"

namespace weft {
namespace {

JobTopology TwoHostsOf(const std::string& file) {
  JobTopology job;
  job.hosts = {LoadFixture(file), LoadFixture(file)};
  return job;
}

// H hosts of 8 GPUs over InfiniBand, the host path's input as the communicator makes it.
TunerInput HostInput(int hosts) {
  TunerInput in;
  in.nranks = 8 * hosts;
  in.nhosts = hosts;
  in.transport = TransportKind::kInfiniBand;
  in.nics_per_host = 8;
  in.nchannels = 2;
  return in;
}

Tuner DeviceTuner(int hosts, const GpuLinkFacts& gpu, const std::string& algo = "") {
  AlgoSpec spec;
  EXPECT_TRUE(ParseAlgoSpec(algo, &spec).ok());
  return Tuner(GpuTunerInput(HostInput(hosts), gpu), DeviceAlgos(spec));
}

GpuLinkFacts H100Facts() {
  GpuLinkFacts f;
  f.port_gbps = 18 * 20.6;  // OCI's H100 node: 18 NVLinks
  f.reduce_gbps = kDefaultKernelReduceGbps;
  f.leg_call_us = kDefaultDeviceCallUs;
  return f;
}

TEST(DeviceTuning, TheJobsSlowestGpuPortFromItsFiles) {
  // 18 NVLinks of 20.6 GB/s per H100 in OCI's file.
  EXPECT_NEAR(18 * 20.6, JobGpuFacts(TwoHostsOf("oci-hpc-h100-topo.xml")).port_gbps, 1e-6);
  // Azure's ND H100 v5 file has no NVLinks: the GPU's PCIe link or the default.
  const GpuLinkFacts azure = JobGpuFacts(TwoHostsOf("azure-ndv5-topo.xml"));
  EXPECT_GT(azure.port_gbps, 0);
  EXPECT_LT(azure.port_gbps, 100);
  // Hosts that differ: the slower one's.
  JobTopology mixed;
  mixed.hosts = {LoadFixture("oci-hpc-h100-topo.xml"), LoadFixture("azure-ndv5-topo.xml")};
  EXPECT_NEAR(azure.port_gbps, JobGpuFacts(mixed).port_gbps, 1e-9);
  // No GPU anywhere: the default.
  JobTopology none;
  none.hosts = {SystemGraph{}, SystemGraph{}};
  EXPECT_EQ(kDefaultGpuPortGbps, JobGpuFacts(none).port_gbps);
}

TEST(DeviceTuning, HierForLargeCallsOnNvLinkHosts) {
  for (int hosts : {2, 4, 16}) {
    const Tuner t = DeviceTuner(hosts, H100Facts());
    for (CollType c : {CollType::kAllReduce, CollType::kAllGather, CollType::kReduceScatter})
      EXPECT_EQ(Algo::kHier, t.Choose(c, size_t{256} << 20)) << hosts << " hosts";
  }
}

TEST(DeviceTuning, TheLegsCallsDecideTheSmallestCalls) {
  // 2 hosts x 8, 8 bytes: the ring's 30 hops (2 of 16 between hosts, 2.5 us; the rest 1 us)
  // take about 36 us; the hierarchy's 14 hops inside and 2 between take 19 us, plus its two
  // further calls. At 10 us each the ring wins; were calls free, the hierarchy would.
  EXPECT_EQ(Algo::kRing, DeviceTuner(2, H100Facts()).Choose(CollType::kAllReduce, 8));
  GpuLinkFacts free_calls = H100Facts();
  free_calls.leg_call_us = 0;
  EXPECT_EQ(Algo::kHier, DeviceTuner(2, free_calls).Choose(CollType::kAllReduce, 8));
  // With many hosts the ring's hops outweigh the calls.
  EXPECT_EQ(Algo::kHier, DeviceTuner(16, H100Facts()).Choose(CollType::kAllReduce, 8));
}

TEST(DeviceTuning, PiecesOverlapTheAllReducesLegs) {
  // In one piece the device hierarchy's all-reduce of 256 MiB takes its legs inside the host
  // plus the rail's; in pieces of 32 MiB the longer of the two and an eighth of the other,
  // plus the further calls' starts.
  GpuLinkFacts one_piece = H100Facts();
  one_piece.piece_bytes = 0;
  const size_t bytes = size_t{256} << 20;
  const double in_turn =
      DeviceTuner(2, one_piece).Predict(Algo::kHier, CollType::kAllReduce, bytes);
  const double pieces =
      DeviceTuner(2, H100Facts()).Predict(Algo::kHier, CollType::kAllReduce, bytes);
  EXPECT_GT(in_turn, 1.3 * pieces);
  // All-gather's legs run in turn whatever the pieces.
  EXPECT_EQ(DeviceTuner(2, one_piece).Predict(Algo::kHier, CollType::kAllGather, bytes),
            DeviceTuner(2, H100Facts()).Predict(Algo::kHier, CollType::kAllGather, bytes));
}

TEST(DeviceTuning, OnlyTheRingKernelAndTheHierarchy) {
  std::vector<Prediction> all;
  DeviceTuner(2, H100Facts()).Choose(CollType::kAllReduce, 1 << 20, &all);
  ASSERT_EQ(2u, all.size());
  EXPECT_EQ(Algo::kRing, all[0].algo);
  EXPECT_EQ(Algo::kHier, all[1].algo);
  // WEFT_ALGO=tree leaves device buffers the ring kernel; =hier, the hierarchy at any size.
  EXPECT_EQ(Algo::kRing,
            DeviceTuner(2, H100Facts(), "tree").Choose(CollType::kAllReduce, size_t{1} << 30));
  EXPECT_EQ(Algo::kHier, DeviceTuner(2, H100Facts(), "hier").Choose(CollType::kAllReduce, 8));
}

}  // namespace
}  // namespace weft
