// A rank killed mid-collective: every survivor gets weftRemoteError promptly, naming the
// killed rank (or, on TCP, a survivor that already aborted and exited; see fault_check.cc).
#include <gtest/gtest.h>

#include <vector>

#include "tests/integration/fault_verdict.h"
#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

// Rank 0 gets its bootstrap port already bound by weft-run.
CommandResult RunRanks(int n, const std::string& tls, const std::string& args) {
  return RunSurvivingRanks("fault_check", n, tls, 30000, args);
}

// (transport, victim): rank 0 hosts the bootstrap root, so its death is a case of its own.
class PeerDeath : public ::testing::TestWithParam<std::tuple<const char*, int>> {};

TEST_P(PeerDeath, SurvivorsGetRemoteErrorNamingTheDeadRank) {
  const int victim = std::get<1>(GetParam());
  CommandResult r = RunRanks(3, std::get<0>(GetParam()), std::to_string(victim) + " 5");
  std::vector<int> survivors;
  for (int rank = 0; rank < 3; ++rank)
    if (rank != victim) survivors.push_back(rank);
  ExpectSurvivorsNameTheVictim(r, survivors);
}

INSTANTIATE_TEST_SUITE_P(TransportsAndVictims, PeerDeath,
                         ::testing::Combine(::testing::Values("shm", "tcp"),
                                            ::testing::Values(0, 1)));

// A rank killed while its peers wait in the one-shot all-reduce (8 bytes, forced): they
// poll its LL lines, and the drive loop's look at the local processes ends the wait.
TEST(PeerDeathOneShot, SurvivorsGetRemoteErrorNamingTheDeadRank) {
  CommandResult r =
      RunCommand("timeout 120 env WEFT_ALGO=oneshot WEFT_TIMEOUT_MS=30000 UCX_TLS=shm " + BinDir() +
                 "/weft-run --keep-going -n 3 -- " + BinDir() + "/fault_check 1 5 2");
  ExpectSurvivorsNameTheVictim(r, {0, 2});
}

}  // namespace
}  // namespace weft::testing
