// NCCL's variables under the shim (shim/nccl_env.h), the fallback that carries them into
// Weft's settings (common/config.h), WEFT_SOCKET_IFNAME's interface filter and WEFT_COMM_ID's
// fixed rendezvous.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "collectives/algo_spec.h"
#include "common/config.h"
#include "common/environment.h"
#include "shim/nccl_env.h"
#include "transport/bootstrap/socket.h"
#include "weft/weft.h"

namespace weft {
namespace {

// The WEFT_ value that `nccl_value` of its NCCL counterpart becomes; "(none)" when none.
std::string Translated(const std::string& weft, const std::string& nccl,
                       const std::string& nccl_value, std::string* note = nullptr) {
  std::string value, ignored;
  if (!weft_shim::TranslateNcclVariable(weft, TableLookup({{nccl, nccl_value}}), &value,
                                        note ? note : &ignored))
    return "(none)";
  return value;
}

TEST(NcclEnv, DebugLevelsInAnyCase) {
  EXPECT_EQ("INFO", Translated("WEFT_DEBUG", "NCCL_DEBUG", "info"));
  EXPECT_EQ("WARN", Translated("WEFT_DEBUG", "NCCL_DEBUG", "WARN"));
  EXPECT_EQ("TRACE", Translated("WEFT_DEBUG", "NCCL_DEBUG", "Trace"));
  EXPECT_EQ("WARN", Translated("WEFT_DEBUG", "NCCL_DEBUG", "VERSION"));
  std::string note;
  EXPECT_EQ("(none)", Translated("WEFT_DEBUG", "NCCL_DEBUG", "loud", &note));
  EXPECT_NE(std::string::npos, note.find("NCCL_DEBUG='loud'")) << note;
}

TEST(NcclEnv, DebugSubsystemsOntoWeftsCoarserOnes) {
  EXPECT_EQ("INIT,TOPO", Translated("WEFT_DEBUG_SUBSYS", "NCCL_DEBUG_SUBSYS", "INIT,GRAPH"));
  EXPECT_EQ("INIT,NET,COLL",
            Translated("WEFT_DEBUG_SUBSYS", "NCCL_DEBUG_SUBSYS", "bootstrap,proxy,p2p"));
  EXPECT_EQ("INIT,TOPO,TUNE", Translated("WEFT_DEBUG_SUBSYS", "NCCL_DEBUG_SUBSYS", "^COLL,NET"));
  EXPECT_EQ("ALL", Translated("WEFT_DEBUG_SUBSYS", "NCCL_DEBUG_SUBSYS", "ALL"));
  std::string note;
  EXPECT_EQ("(none)", Translated("WEFT_DEBUG_SUBSYS", "NCCL_DEBUG_SUBSYS", "ALLOC", &note));
  EXPECT_NE(std::string::npos, note.find("none of Weft's subsystems")) << note;
}

TEST(NcclEnv, AlgorithmsWeftHasAreKeptAndTheRestNamed) {
  EXPECT_EQ("ring", Translated("WEFT_ALGO", "NCCL_ALGO", "Ring"));
  std::string note;
  EXPECT_EQ("tree,ring", Translated("WEFT_ALGO", "NCCL_ALGO", "Tree,Ring,CollnetDirect", &note));
  EXPECT_NE(std::string::npos, note.find("Weft has no collnetdirect")) << note;
  EXPECT_EQ("^tree", Translated("WEFT_ALGO", "NCCL_ALGO", "^NVLS,Tree"));
  EXPECT_EQ("allreduce:tree",
            Translated("WEFT_ALGO", "NCCL_ALGO", "allreduce:Tree;allgather:NVLS", &note));
  EXPECT_NE(std::string::npos, note.find("nvls")) << note;
  // Excluding only what Weft lacks asks nothing of Weft.
  EXPECT_EQ("(none)", Translated("WEFT_ALGO", "NCCL_ALGO", "^NVLS", &note));
  EXPECT_NE(std::string::npos, note.find("Weft has no nvls")) << note;
  // What comes out is WEFT_ALGO that Weft's parser takes, meaning what NCCL's meant.
  for (const char* nccl : {"Ring", "Tree,Ring", "^Tree", "allreduce:Tree;allgather:Ring"}) {
    AlgoSpec spec;
    const std::string weft = Translated("WEFT_ALGO", "NCCL_ALGO", nccl);
    EXPECT_TRUE(ParseAlgoSpec(weft, &spec).ok()) << nccl << " -> " << weft;
  }
  AlgoSpec spec;
  ASSERT_TRUE(ParseAlgoSpec(Translated("WEFT_ALGO", "NCCL_ALGO", "allreduce:Tree"), &spec).ok());
  EXPECT_TRUE(spec.Allows(CollType::kAllReduce, Algo::kTree));
  EXPECT_FALSE(spec.Allows(CollType::kAllReduce, Algo::kRing));
  EXPECT_TRUE(spec.Allows(CollType::kAllGather, Algo::kRing));
}

TEST(NcclEnv, PlainValuesPassAsTheyAre) {
  EXPECT_EQ("/tmp/n.%h.%p", Translated("WEFT_DEBUG_FILE", "NCCL_DEBUG_FILE", "/tmp/n.%h.%p"));
  EXPECT_EQ("^docker,lo", Translated("WEFT_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME", "^docker,lo"));
  EXPECT_EQ("topo.xml", Translated("WEFT_TOPO_FILE", "NCCL_TOPO_FILE", "topo.xml"));
  EXPECT_EQ("out.xml", Translated("WEFT_TOPO_DUMP_FILE", "NCCL_TOPO_DUMP_FILE", "out.xml"));
  EXPECT_EQ("node7", Translated("WEFT_HOSTID", "NCCL_HOSTID", "node7"));
  EXPECT_EQ("10.0.0.1:9999", Translated("WEFT_COMM_ID", "NCCL_COMM_ID", "10.0.0.1:9999"));
  EXPECT_EQ("4194304", Translated("WEFT_BUFFSIZE", "NCCL_BUFFSIZE", "4194304"));
  // Nothing set, or a Weft variable without an NCCL counterpart: nothing.
  std::string value;
  EXPECT_FALSE(weft_shim::TranslateNcclVariable("WEFT_DEBUG", TableLookup({}), &value, nullptr));
  EXPECT_FALSE(weft_shim::TranslateNcclVariable(
      "WEFT_SPIN_US", TableLookup({{"NCCL_SPIN_US", "1"}}), &value, nullptr));
}

TEST(NcclEnv, VariablesTheShimDoesNotHonourAreListed) {
  EXPECT_EQ(std::vector<std::string>({"NCCL_IB_GID_INDEX", "NCCL_P2P_DISABLE"}),
            weft_shim::IgnoredNcclVariables({"NCCL_DEBUG", "NCCL_IB_HCA", "NCCL_IB_GID_INDEX",
                                             "NCCL_ALGO", "NCCL_P2P_DISABLE", "NCCL_COMM_ID"}));
}

// The fallback is what carries the translation into Config::FromProcess; Weft's own
// variable wins over it.
TEST(EnvFallback, AnswersForWhatTheEnvironmentLeavesUnsetOnly) {
  ASSERT_EQ(nullptr, std::getenv("WEFT_HOSTID"));
  SetEnvFallback([](const std::string& name, std::string* value) {
    if (name != "WEFT_HOSTID") return false;
    *value = "from-fallback";
    return true;
  });
  Config config;
  ASSERT_TRUE(Config::FromProcess(&config).ok());
  EXPECT_EQ("from-fallback", config.hostid);
  setenv("WEFT_HOSTID", "from-environment", 1);
  ASSERT_TRUE(Config::FromProcess(&config).ok());
  EXPECT_EQ("from-environment", config.hostid);
  unsetenv("WEFT_HOSTID");
  SetEnvFallback(nullptr);
  ASSERT_TRUE(Config::FromProcess(&config).ok());
  EXPECT_EQ("", config.hostid);
}

TEST(SocketIfname, NcclsSyntax) {
  const std::string byDefault = "^lo,docker,virbr";  // the table's default
  EXPECT_FALSE(InterfaceAllowed(byDefault, "lo"));
  EXPECT_FALSE(InterfaceAllowed(byDefault, "docker0"));
  EXPECT_FALSE(InterfaceAllowed(byDefault, "virbr1"));
  EXPECT_TRUE(InterfaceAllowed(byDefault, "eth0"));
  EXPECT_TRUE(InterfaceAllowed(byDefault, "ib0"));
  EXPECT_TRUE(InterfaceAllowed("eth,ib", "eth1"));
  EXPECT_TRUE(InterfaceAllowed("eth,ib", "ib0"));
  EXPECT_FALSE(InterfaceAllowed("eth,ib", "enp1s0"));
  EXPECT_TRUE(InterfaceAllowed("=eth0", "eth0"));
  EXPECT_FALSE(InterfaceAllowed("=eth0", "eth01"));
  EXPECT_FALSE(InterfaceAllowed("^=eth0", "eth0"));
  EXPECT_TRUE(InterfaceAllowed("^=eth0", "eth01"));
}

TEST(SocketIfname, NamesThatMatchNothingAreAnErrorListingWhatIsUp) {
  in_addr addr{};
  Status s = LocalAdvertisedAddress("", "=no-such-interface0", &addr);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("WEFT_SOCKET_IFNAME='=no-such-interface0'"))
      << s.message();
  EXPECT_NE(std::string::npos, s.message().find("lo")) << s.message();  // loopback is up
  // Only loopback allowed: its address.
  ASSERT_TRUE(LocalAdvertisedAddress("", "=lo", &addr).ok());
  EXPECT_EQ(htonl(INADDR_LOOPBACK), addr.s_addr);
  // WEFT_SOCKET_ADDR wins.
  ASSERT_TRUE(LocalAdvertisedAddress("10.1.2.3", "=no-such-interface0", &addr).ok());
  EXPECT_EQ(htonl(0x0a010203), addr.s_addr);
}

// A port nobody listens on now (bound, read, closed).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    a.sin_port = 0;
  close(fd);
  return ntohs(a.sin_port);
}

// WEFT_COMM_ID (NCCL_COMM_ID under the shim): every rank makes the id itself, the same one,
// and rank 0's init serves the root at that address; the job then runs exact.
TEST(CommId, EveryRankMakesTheSameIdAndRankZeroServesIt) {
  const int port = FreePort();
  ASSERT_NE(0, port);
  const std::string where = "127.0.0.1:" + std::to_string(port);
  setenv("WEFT_COMM_ID", where.c_str(), 1);
  setenv("WEFT_TIMEOUT_MS", "30000", 1);
  constexpr int kRanks = 3;
  weftUniqueId ids[kRanks];
  for (weftUniqueId& id : ids)
    ASSERT_EQ(weftSuccess, weftGetUniqueId(&id)) << weftGetLastError(nullptr);
  for (int r = 1; r < kRanks; ++r)
    EXPECT_EQ(0, std::memcmp(&ids[0], &ids[r], sizeof(weftUniqueId)));
  std::vector<weftResult_t> results(kRanks, weftInternalError);
  std::vector<std::vector<int32_t>> data(kRanks);
  std::vector<std::thread> ranks;
  for (int r = 0; r < kRanks; ++r) {
    ranks.emplace_back([&, r] {
      weftComm_t comm = nullptr;
      results[r] = weftCommInitRank(&comm, kRanks, ids[r], r);
      if (results[r] != weftSuccess) return;
      data[r].assign(1000, r + 1);
      results[r] = weftAllReduce(data[r].data(), data[r].data(), data[r].size(), weftInt32, weftSum,
                                 comm, nullptr);
      if (weftCommDestroy(comm) != weftSuccess) results[r] = weftInternalError;
    });
  }
  for (std::thread& t : ranks)
    t.join();
  unsetenv("WEFT_COMM_ID");
  for (int r = 0; r < kRanks; ++r) {
    ASSERT_EQ(weftSuccess, results[r]) << "rank " << r;
    EXPECT_EQ(std::vector<int32_t>(1000, 1 + 2 + 3), data[r]) << "rank " << r;
  }
}

}  // namespace
}  // namespace weft
