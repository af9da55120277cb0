// The device path's ring across hosts with CPU threads standing in for the kernel
// (WEFT_PROXY_STANDIN): real processes over UCX, hosts made with WEFT_HOSTID, the stand-in
// kernel running proto/net_ring.h on each rank and the proxy moving its FIFOs. Every
// collective, type and op exact, in groups and with PreMulSum; a killed rank ends every
// survivor's call with an error naming it; the device hierarchy's legs on sub-communicators.
// tests/netns/hosts.sh runs the same over separate network namespaces (mode "proxy"), with a
// dropped link.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "tests/integration/fault_verdict.h"
#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

// Where rank r lives, as a shell arithmetic expression of WEFT_RANK giving its host's number.
std::string HostMajor(int per_host) {
  return "WEFT_RANK / " + std::to_string(per_host);
}

// n = hosts x per_host ranks, rank r on host r / per_host (or as `host_of` says), running
// `check` with the stand-in.
CommandResult RunOnHosts(int hosts, int per_host, const std::string& check, bool keep_going = false,
                         const std::string& env = "", std::string host_of = "") {
  const int n = hosts * per_host;
  if (host_of.empty()) host_of = HostMajor(per_host);
  const std::string cmd = "timeout 300 env WEFT_PROXY_STANDIN=1 UCX_TLS=tcp,self " + env + " " +
                          BinDir() + "/weft-run " + (keep_going ? "--keep-going " : "") + "-n " +
                          std::to_string(n) + " --timeout 240 -- sh -c " + "'WEFT_HOSTID=host$((" +
                          host_of + ")) exec " + check + "'";
  return RunCommand(cmd);
}

// "2x3": hosts x ranks per host, as a test's name.
std::string HostsName(const ::testing::TestParamInfo<std::tuple<int, int>>& info) {
  return std::to_string(std::get<0>(info.param)) + "x" + std::to_string(std::get<1>(info.param));
}

void ExpectPasses(const CommandResult& r) {
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find(" 0 failed")) << r.output;
  EXPECT_EQ(std::string::npos, r.output.find("FAIL")) << r.output;
}

class ProxyStandIn : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ProxyStandIn, EveryCollectiveTypeAndOpIsExact) {
  const auto [hosts, per_host] = GetParam();
  // Every type on two hosts; on more, a type of each width and kind.
  const std::string types = hosts == 2 ? "all" : "float,int32,bfloat16,f8e4m3,uint8,double";
  const CommandResult r = RunOnHosts(
      hosts, per_host,
      BinDir() + "/coll_check --types " + types + " --ops all --counts 0,1,7,1000,100003", false,
      "WEFT_TIMEOUT_MS=60000 WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=COLL");
  ExpectPasses(r);
  // Every rank took the path (and made its proxy once).
  size_t made = 0;
  for (size_t at = 0; (at = r.output.find("stand-in kernel (WEFT_PROXY_STANDIN) and network proxy",
                                          at)) != std::string::npos;
       ++at)
    ++made;
  EXPECT_EQ(made, static_cast<size_t>(hosts * per_host)) << r.output;
}

// Several calls in one group run one after another on the same FIFOs; PreMulSum becomes a
// sum of inputs each rank scaled first.
TEST_P(ProxyStandIn, GroupsAndPreMulSum) {
  const auto [hosts, per_host] = GetParam();
  ExpectPasses(RunOnHosts(hosts, per_host,
                          BinDir() +
                              "/coll_check --types float,int32,bfloat16 --ops sum --premulsum "
                              "--group --counts 1,4097,100003",
                          false, "WEFT_TIMEOUT_MS=60000"));
}

INSTANTIATE_TEST_SUITE_P(Hosts, ProxyStandIn,
                         ::testing::Values(std::make_tuple(2, 2), std::make_tuple(3, 2),
                                           std::make_tuple(1, 3)),
                         HostsName);

// The device hierarchy's composition (collectives/device_hierarchy.h) on host buffers
// (WEFT_DEVICE_HIER_ON_HOST): an all-reduce the tuner gives to hier (WEFT_ALGO=hier) runs as
// a reduce-scatter on each host's sub-communicator, an all-reduce along each rail's (with
// the stand-in: the kernel-and-proxy protocol) and an all-gather, plus the tail of count mod
// L, in pieces of 4 KiB (the largest counts take 16 pieces of uneven shards, the others one);
// all-gather and reduce-scatter run along the rail and inside the host, through scratch in
// rail-major order; broadcast and reduce in parts, one along each rail. Every collective,
// type and op exact, in place and not, counts that leave tails and shards of 0.
class DeviceHierarchyOnHost : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(DeviceHierarchyOnHost, EveryTypeAndOpIsExact) {
  const auto [hosts, per_host] = GetParam();
  const CommandResult r =
      RunOnHosts(hosts, per_host,
                 BinDir() + "/coll_check --types all --ops all --counts 0,1,2,7,1000,100003", false,
                 "WEFT_ALGO=hier WEFT_DEVICE_HIER_ON_HOST=1 WEFT_DEVICE_HIER_PIECE=4K "
                 "WEFT_TIMEOUT_MS=60000 WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=INIT");
  ExpectPasses(r);
  // Every rank made its hierarchy once, in its place.
  size_t made = 0;
  for (size_t at = 0; (at = r.output.find("device hierarchy: rank", at)) != std::string::npos; ++at)
    ++made;
  EXPECT_EQ(made, static_cast<size_t>(hosts * per_host)) << r.output;
  EXPECT_NE(std::string::npos,
            r.output.find("is local rank " + std::to_string(per_host - 1) + " of " +
                          std::to_string(per_host) + " on host " + std::to_string(hosts - 1)))
      << r.output;
}

// Rank 1 (host 0, rail 1) kills itself mid all-reduce: every survivor's leg fails within
// 5 s, its error saying which of the communicator's ranks the sub-communicator's are, and
// abort (which frees the sub-communicators) returns.
TEST(DeviceHierarchyOnHostFaults, AKilledRankEndsEverySurvivorsCall) {
  const CommandResult r =
      RunOnHosts(2, 2, BinDir() + "/fault_check 1 5", true,
                 "WEFT_ALGO=hier WEFT_DEVICE_HIER_ON_HOST=1 WEFT_TIMEOUT_MS=30000");
  ExpectSurvivorsNameTheVictim(r, {0, 2, 3});
  EXPECT_NE(std::string::npos, r.output.find("sub-communicator, whose ranks 0, 1 are ranks"))
      << r.output;
}

// The collectives but all-reduce (so the hierarchy is made by them) on three placements of
// the ranks: host-major (rank = host x L + l: all-gather's and reduce-scatter's chunks move
// through scratch in one strided copy per rail), round-robin (rank = l x H + host:
// rail-major already, no copies), and scattered (hosts {0, 3} and {1, 2}: rail 1 runs
// backwards, a copy per chunk); broadcast's and reduce's roots on every host and rail.
struct Placement {
  const char* name;
  int hosts, per_host;
  const char* host_of;  // shell arithmetic of WEFT_RANK
  const char* expect;   // in every rank's INFO line
};

class DeviceHierarchyPlacement : public ::testing::TestWithParam<Placement> {};

TEST_P(DeviceHierarchyPlacement, EveryCollectiveButAllReduceIsExact) {
  const Placement& p = GetParam();
  const CommandResult r =
      RunOnHosts(p.hosts, p.per_host,
                 BinDir() +
                     "/coll_check --colls allgather,reducescatter,broadcast,reduce --types all "
                     "--ops all --counts 0,1,7,1000,30001",
                 false,
                 "WEFT_ALGO=hier WEFT_DEVICE_HIER_ON_HOST=1 WEFT_TIMEOUT_MS=60000 WEFT_DEBUG=INFO "
                 "WEFT_DEBUG_SUBSYS=INIT",
                 p.host_of);
  ExpectPasses(r);
  size_t made = 0;
  for (size_t at = 0; (at = r.output.find(p.expect, at)) != std::string::npos; ++at)
    ++made;
  EXPECT_EQ(made, static_cast<size_t>(p.hosts * p.per_host)) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Placements, DeviceHierarchyPlacement,
    ::testing::Values(Placement{"HostMajor2x3", 2, 3, "WEFT_RANK / 3", "move chunks in 3 copies"},
                      Placement{"RoundRobin3x2", 3, 2, "WEFT_RANK % 3", "copy no chunks"},
                      Placement{"Scattered2x2", 2, 2, "(WEFT_RANK == 0 || WEFT_RANK == 3) ? 0 : 1",
                                "move chunks in 3 copies"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(Hosts, DeviceHierarchyOnHost,
                         ::testing::Values(std::make_tuple(2, 2), std::make_tuple(3, 2),
                                           std::make_tuple(2, 3)),
                         HostsName);

// Rank 1 (host 0) kills itself mid all-reduce: every survivor's call fails with an error
// naming it within 5 s, and abort returns (fault_check says how it judges).
TEST(ProxyStandInFaults, AKilledRankIsNamedByEverySurvivor) {
  const CommandResult r =
      RunOnHosts(2, 2, BinDir() + "/fault_check 1 5", true, "WEFT_TIMEOUT_MS=30000");
  ExpectSurvivorsNameTheVictim(r, {0, 2, 3});
}

}  // namespace
}  // namespace weft::testing
