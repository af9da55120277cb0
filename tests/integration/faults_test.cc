// A rank killed mid-collective: every survivor gets weftRemoteError promptly, naming the
// killed rank (or, on TCP, a survivor that already aborted and exited; see fault_check.cc).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Starts the ranks without weft-run (which would end the job when one dies).
CommandResult RunRanks(int n, const std::string& tls, const std::string& args) {
  std::string cmd = "timeout 120 sh -c 'for r in $(seq 0 " + std::to_string(n - 1) +
                    "); do WEFT_RANK=$r WEFT_NRANKS=" + std::to_string(n) +
                    " WEFT_ROOT=127.0.0.1:" + std::to_string(FreePort()) +
                    " WEFT_TIMEOUT_MS=30000 UCX_TLS=" + tls + " " + BinDir() + "/fault_check " +
                    args + " & done; wait'";
  return RunCommand(cmd);
}

// (transport, victim): rank 0 hosts the bootstrap root, so its death is a case of its own.
class PeerDeath : public ::testing::TestWithParam<std::tuple<const char*, int>> {};

TEST_P(PeerDeath, SurvivorsGetRemoteErrorNamingTheDeadRank) {
  const int victim = std::get<1>(GetParam());
  CommandResult r = RunRanks(3, std::get<0>(GetParam()), std::to_string(victim) + " 5");
  for (int survivor = 0; survivor < 3; ++survivor) {
    if (survivor == victim) continue;
    EXPECT_NE(std::string::npos, r.output.find("survivor " + std::to_string(survivor) + ": OK"))
        << r.output;
  }
  EXPECT_EQ(std::string::npos, r.output.find("WRONG")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("OK names-victim")) << r.output;
}

INSTANTIATE_TEST_SUITE_P(TransportsAndVictims, PeerDeath,
                         ::testing::Combine(::testing::Values("shm", "tcp"),
                                            ::testing::Values(0, 1)));

}  // namespace
}  // namespace weft::testing
