// The bootstrap in real sockets: foreign ids are rejected, missing ranks end in a bounded
// error, garbage on the root's port does not disturb the job.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/integration/process_runner.h"
#include "weft/weft.h"

namespace weft::testing {
namespace {

class Bootstrap : public ::testing::Test {
 protected:
  void SetUp() override { setenv("WEFT_TIMEOUT_MS", "3000", 1); }
  void TearDown() override { unsetenv("WEFT_TIMEOUT_MS"); }
};

TEST_F(Bootstrap, UniqueIdOfAnotherJobIsRejectedCleanly) {
  weftUniqueId mine, foreign;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&mine));
  foreign = mine;
  foreign.internal[25] ^= 0x55;  // same root address, different secret
  weftComm_t comm = nullptr;
  const auto start = std::chrono::steady_clock::now();
  weftResult_t r = weftCommInitRank(&comm, 2, foreign, 1);
  EXPECT_EQ(weftRemoteError, r) << weftGetLastError(nullptr);
  EXPECT_EQ(nullptr, comm);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(nullptr)).find("unique id"));
  // The real job is not disturbed.
  ASSERT_EQ(weftSuccess, weftCommInitRank(&comm, 1, mine, 0)) << weftGetLastError(nullptr);
  int32_t x = 3, y = 0;
  ASSERT_EQ(weftSuccess, weftAllReduce(&x, &y, 1, weftInt32, weftSum, comm, nullptr));
  EXPECT_EQ(3, y);
  EXPECT_EQ(weftSuccess, weftCommDestroy(comm));
}

TEST_F(Bootstrap, MissingRankEndsInABoundedError) {
  weftUniqueId id;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  weftComm_t comm = nullptr;
  const auto start = std::chrono::steady_clock::now();
  weftResult_t r = weftCommInitRank(&comm, 2, id, 0);  // rank 1 never comes
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r == weftTimeout || r == weftRemoteError) << weftGetErrorString(r);
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(nullptr)).find("1 of 2"))
      << weftGetLastError(nullptr);
  EXPECT_LT(took, std::chrono::seconds(3 + 2));
}

TEST_F(Bootstrap, GarbageClientsDoNotDisturbTheRoot) {
  weftUniqueId id;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  uint16_t port_be;
  uint32_t addr_be;  // the root listens on the address its id advertises, only there
  std::memcpy(&port_be, id.internal + 16, 2);
  std::memcpy(&addr_be, id.internal + 12, 4);
  auto connect_raw = [&]() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = port_be;
    a.sin_addr.s_addr = addr_be;
    EXPECT_EQ(0, connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)));
    return fd;
  };
  int silent = connect_raw();   // never speaks
  int garbage = connect_raw();  // random bytes
  const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_GT(write(garbage, junk, sizeof(junk)), 0);
  int huge = connect_raw();  // a valid magic with an absurd length
  uint32_t header[3] = {0x57465442, 2, 0xfffffff0u};
  ASSERT_GT(write(huge, header, sizeof(header)), 0);
  weftComm_t comm = nullptr;
  ASSERT_EQ(weftSuccess, weftCommInitRank(&comm, 1, id, 0)) << weftGetLastError(nullptr);
  double a = 1.5, b = 0;
  ASSERT_EQ(weftSuccess, weftAllReduce(&a, &b, 1, weftFloat64, weftSum, comm, nullptr));
  EXPECT_EQ(1.5, b);
  EXPECT_EQ(weftSuccess, weftCommDestroy(comm));
  close(silent);
  close(garbage);
  close(huge);
}

TEST(InitFromEnv, WithoutRendezvousIsAClearError) {
  std::string cmd = "env -u WEFT_ROOT -u MASTER_ADDR WEFT_RANK=0 WEFT_NRANKS=2 timeout 30 " +
                    BinDir() + "/coll_check --counts 1";
  CommandResult r = RunCommand(cmd);
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("WEFT_ROOT")) << r.output;
}

TEST(InitFromEnv, BadConfigValueIsAnErrorAtInit) {
  std::string cmd = "env WEFT_CHUNK_SIZE=huge timeout 60 " + BinDir() +
                    "/weft-run -n 2 --timeout 30 -- " + BinDir() + "/coll_check --counts 1";
  CommandResult r = RunCommand(cmd);
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("WEFT_CHUNK_SIZE='huge'")) << r.output;
}

// A listening socket on a free loopback port, inherited by the commands RunCommand starts
// (no close-on-exec), as weft-run hands one to rank 0.
struct InheritedListener {
  InheritedListener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(0, bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)));
    EXPECT_EQ(0, listen(fd, 64));
    EXPECT_EQ(0, getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len));
    port = ntohs(a.sin_port);
  }
  ~InheritedListener() { close(fd); }
  int fd = -1;
  int port = 0;
};

// This process keeps the port bound and listening, so rank 0 could not bind it itself: the
// job only works if rank 0 serves on the socket it was handed.
TEST(InitFromEnv, RankZeroServesOnTheSocketItsLauncherBound) {
  InheritedListener l;
  const std::string prog = BinDir() + "/coll_check --types int32 --ops sum --counts 5";
  CommandResult r =
      RunCommand("timeout 60 env WEFT_NRANKS=2 WEFT_ROOT=127.0.0.1:" + std::to_string(l.port) +
                 " sh -c 'WEFT_RANK=0 WEFT_ROOT_FD=" + std::to_string(l.fd) + " " + prog +
                 " & a=$!; WEFT_RANK=1 " + prog + " & b=$!; wait $a; ra=$?; wait $b; rb=$?; " +
                 "echo status $ra $rb; exit $((ra | rb))'");
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("status 0 0")) << r.output;
}

TEST(InitFromEnv, AHandedDownSocketOnAnotherPortIsAClearError) {
  InheritedListener root, other;
  CommandResult r = RunCommand(
      "timeout 60 env WEFT_NRANKS=1 WEFT_RANK=0 WEFT_ROOT=127.0.0.1:" + std::to_string(root.port) +
      " WEFT_ROOT_FD=" + std::to_string(other.fd) + " " + BinDir() + "/coll_check --counts 1");
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("WEFT_ROOT_FD=" + std::to_string(other.fd) + ": fd " +
                                             std::to_string(other.fd) + " listens on port " +
                                             std::to_string(other.port)))
      << r.output;
  CommandResult not_socket = RunCommand(
      "timeout 60 env WEFT_NRANKS=1 WEFT_RANK=0 WEFT_ROOT=127.0.0.1:" + std::to_string(root.port) +
      " WEFT_ROOT_FD=999 " + BinDir() + "/coll_check --counts 1");
  EXPECT_NE(0, not_socket.exit_code);
  EXPECT_NE(std::string::npos, not_socket.output.find("fd 999 is not a socket of this process"))
      << not_socket.output;
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

TEST(InitFromEnv, TopologyFromWeftTopoFile) {
  const std::string file = std::string(WEFT_TEST_TOPOLOGY_FIXTURES) + "/mpibind-cts1-pascal.xml";
  CommandResult ok =
      RunCommand("env WEFT_TOPO_FILE=" + file + " WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=TOPO " +
                 BinDir() + "/weft-run -n 2 --timeout 60 -- " + BinDir() +
                 "/coll_check --types float --ops sum --counts 7");
  if (ok.output.find("no such file") != std::string::npos) GTEST_SKIP() << "no fixtures";
  EXPECT_EQ(0, ok.exit_code) << ok.output;
  EXPECT_NE(std::string::npos, ok.output.find("2 GPUs, 3 NICs")) << ok.output;
  CommandResult bad =
      RunCommand("env WEFT_TOPO_FILE=/nonexistent.xml " + BinDir() +
                 "/weft-run -n 2 --timeout 60 -- " + BinDir() + "/coll_check --counts 7");
  EXPECT_NE(0, bad.exit_code);
  EXPECT_NE(std::string::npos, bad.output.find("WEFT_TOPO_FILE='/nonexistent.xml': no such file"))
      << bad.output;
  // (Only rank 0 reads the file; rank 1 hears why it failed, but weft-run may stop it
  // before it prints that: not asserted.)
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

// Two "hosts" on this machine (WEFT_HOSTID), each described by its own topology file: every
// rank learns both views from the hosts' first ranks (not just its own host's), the cost
// model sees that one host has no InfiniBand, and the job's results are exact.
TEST(InitFromEnv, EveryRankSeesEveryHostsView) {
  const std::string dir = WEFT_TEST_TOPOLOGY_FIXTURES;
  const std::string per_rank =
      "if [ $WEFT_RANK -lt 2 ]; then export WEFT_HOSTID=a WEFT_TOPO_FILE=" + dir +
      "/azure-ndv4-topo.xml; else export WEFT_HOSTID=b WEFT_TOPO_FILE=" + dir +
      "/azure-ncv4-topo.xml; fi; exec " + BinDir() +
      "/coll_check --types float,int32 --ops sum --counts 7,100003";
  CommandResult r = RunCommand("env WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=TOPO,TUNE " + BinDir() +
                               "/weft-run -n 4 --timeout 120 -- sh -c '" + per_rank + "'");
  if (r.output.find("no such file") != std::string::npos) GTEST_SKIP() << "no fixtures";
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find(" 0 failed")) << r.output;
  auto count = [&](const std::string& what) {
    int n = 0;
    for (size_t at = r.output.find(what); at != std::string::npos; at = r.output.find(what, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(4, count("host 0 (ranks 0,1): 8 GPUs, 8 NICs")) << r.output;
  EXPECT_EQ(4, count("host 1 (ranks 2,3): 4 GPUs, 1 NICs: eth0(ethernet)")) << r.output;
  EXPECT_EQ(4, count("cost model: tcp")) << r.output;
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

// What weft-topo shows for a job is what the communicator builds: two "hosts" of two ranks
// each, described by one file, log their layout at init (rank 0, WEFT_DEBUG=INFO), and every
// line of it is the line weft-topo prints for --hosts 2 --ranks-per-host 2.
TEST(InitFromEnv, TheLayoutWeftTopoShowsIsTheOneBuilt) {
  if (std::ifstream("/sys/devices/system/node/node1"))
    GTEST_SKIP() << "several NUMA nodes: ranks' NUMA nodes would depend on where they run";
  const std::string file = ::testing::TempDir() + "/two-rails.xml";
  std::ofstream(file) << R"(<system version="1"><cpu numaid="0">
  <pci busid="0000:01:00.0" class="0x020700" vendor="0x15b3" device="0x1021"><nic>
    <net name="mlx5_0" speed="400000"/></nic></pci>
  <pci busid="0000:02:00.0" class="0x020700" vendor="0x15b3" device="0x1021"><nic>
    <net name="mlx5_1" speed="400000"/></nic></pci>
  <pci busid="0000:03:00.0" class="0x020000" vendor="0x8086" device="0x1521"><nic>
    <net name="eno1" speed="1000"/></nic></pci>
</cpu></system>
)";
  CommandResult shown = RunCommand(BinDir() +
                                   "/weft-topo --file-only --hosts 2 --ranks-per-host "
                                   "2 --topo-file " +
                                   file);
  ASSERT_EQ(0, shown.exit_code) << shown.output;
  const std::string per_rank = "export WEFT_HOSTID=host$((WEFT_RANK / 2)); exec " + BinDir() +
                               "/coll_check --types int32 --ops sum --counts 1000";
  CommandResult built = RunCommand(
      "env WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=TOPO WEFT_TOPO_MERGE=0 WEFT_TOPO_FILE=" + file + " " +
      BinDir() + "/weft-run -n 4 --timeout 120 -- sh -c '" + per_rank + "'");
  ASSERT_EQ(0, built.exit_code) << built.output;
  EXPECT_NE(std::string::npos, built.output.find(" 0 failed")) << built.output;
  std::istringstream lines(shown.output.substr(shown.output.find("lays it out:")));
  std::string line;
  std::getline(lines, line);
  int compared = 0;
  while (std::getline(lines, line)) {
    ASSERT_EQ(0u, line.find("  ")) << line;
    // weft-run marks each line of rank 0 with "[0] ".
    EXPECT_NE(std::string::npos, built.output.find("[0] " + line.substr(2) + "\n"))
        << "weft-topo shows \"" << line << "\"; the communicator logged:\n"
        << built.output;
    ++compared;
  }
  EXPECT_GE(compared, 6);  // the ring, two hops between hosts, two trees, hier's rings
  // Both rails carry the job; the 1 GbE port carries nothing.
  EXPECT_NE(std::string::npos, shown.output.find("on rail 1 (0000:02:00.0)")) << shown.output;
  EXPECT_NE(std::string::npos, shown.output.find("(+1 management)")) << shown.output;
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

// WEFT_IB_HCA (NCCL_IB_HCA's syntax) on two hosts described by a file of 16 InfiniBand rails:
// narrowed to two, the job runs exact and the ranks say which rail each took (the file's
// devices are not on this machine, so UCX chooses); one that names none of the NICs fails
// init on every rank, naming them.
TEST(InitFromEnv, IbHcaNarrowsTheRails) {
  const std::string file = std::string(WEFT_TEST_TOPOLOGY_FIXTURES) + "/oci-hpc-h100-topo.xml";
  auto run = [&](const std::string& hca) {
    const std::string per_rank = "export WEFT_HOSTID=host$((WEFT_RANK / 2)); exec " + BinDir() +
                                 "/coll_check --types int32 --ops sum --counts 1000";
    return RunCommand(
        "env WEFT_DEBUG=INFO WEFT_DEBUG_SUBSYS=TOPO,NET WEFT_TOPO_MERGE=0 "
        "WEFT_TOPO_FILE=" +
        file + " WEFT_IB_HCA=" + hca + " " + BinDir() +
        "/weft-run -n 4 --keep-going --timeout 120 -- sh -c '" + per_rank + "'");
  };
  CommandResult narrowed = run("=mlx5_0,mlx5_7");
  if (narrowed.output.find("no such file") != std::string::npos) GTEST_SKIP() << "no fixtures";
  ASSERT_EQ(0, narrowed.exit_code) << narrowed.output;
  EXPECT_NE(std::string::npos, narrowed.output.find(" 0 failed")) << narrowed.output;
  EXPECT_NE(std::string::npos,
            narrowed.output.find("8 GPUs, 2 NICs (+14 management): mlx5_0(roce) mlx5_7(roce)"))
      << narrowed.output;
  EXPECT_NE(std::string::npos, narrowed.output.find("rail 1 (")) << narrowed.output;
  EXPECT_EQ(std::string::npos, narrowed.output.find("rail 2 (")) << narrowed.output;

  CommandResult none = run("=mlx5_2");
  EXPECT_NE(0, none.exit_code) << none.output;
  size_t named = 0;
  for (size_t at = 0; (at = none.output.find("WEFT_IB_HCA='=mlx5_2' leaves none of host 0's NICs",
                                             at)) != std::string::npos;
       ++at)
    ++named;
  EXPECT_EQ(4u, named) << none.output;
}

}  // namespace
}  // namespace weft::testing
