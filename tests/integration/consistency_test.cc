// WEFT_CHECK=1: mismatched calls fail on every rank with both sides named, and the
// communicator stays usable. And a rank that never calls: a bounded, named timeout.
#include <gtest/gtest.h>

#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

class Mismatch : public ::testing::TestWithParam<const char*> {};

TEST_P(Mismatch, EveryRankGetsInvalidUsageNamingBothCalls) {
  const std::string mode = GetParam();
  CommandResult r =
      RunCommand("WEFT_CHECK=1 WEFT_TIMEOUT_MS=30000 " + BinDir() +
                 "/weft-run -n 3 --timeout 60 -- " + BinDir() + "/mismatch_check " + mode + " 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (int rank = 0; rank < 3; ++rank)
    EXPECT_NE(r.output.find("rank " + std::to_string(rank) + ": OK"), std::string::npos)
        << r.output;
  if (mode != "none") {
    EXPECT_NE(r.output.find("invalid usage"), std::string::npos) << r.output;
  }
}

// A rank that never calls: the others time out (WEFT_TIMEOUT_MS=2000) naming the collective,
// its sequence number and the peer they waited for; at least one names the absent rank.
TEST(NeverCalls, OthersTimeOutNamingTheCollectiveAndThePeer) {
  CommandResult r =
      RunCommand("WEFT_TIMEOUT_MS=2000 " + BinDir() + "/weft-run -n 3 --timeout 90 -- " + BinDir() +
                 "/mismatch_check absent 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (int rank : {0, 2})
    EXPECT_NE(r.output.find("rank " + std::to_string(rank) + ": OK"), std::string::npos)
        << r.output;
  EXPECT_NE(r.output.find("rank 1: OK: absent"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("names-absent"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("WRONG"), std::string::npos) << r.output;
}

// The same with the one-shot all-reduce forced: the waiters poll the peers' LL lines, and
// the timeout names the line and the rank it waited for.
TEST(NeverCalls, OneShotWaitersTimeOutNamingThePeer) {
  CommandResult r =
      RunCommand("WEFT_ALGO=oneshot WEFT_TIMEOUT_MS=2000 " + BinDir() +
                 "/weft-run -n 3 --timeout 90 -- " + BinDir() + "/mismatch_check absent 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (int rank : {0, 2})
    EXPECT_NE(r.output.find("rank " + std::to_string(rank) + ": OK names-absent"),
              std::string::npos)
        << r.output;
  EXPECT_NE(r.output.find("one-shot scratch"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("WRONG"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Modes, Mismatch,
                         ::testing::Values("none", "count", "type", "op", "root", "coll"));

}  // namespace
}  // namespace weft::testing
