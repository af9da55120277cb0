// Point to point through Weft's API across processes (p2p_check under weft-run).
#include <gtest/gtest.h>

#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

class PointToPoint : public ::testing::TestWithParam<int> {};

TEST_P(PointToPoint, EveryPairAndARingExchangeArriveExactlyBesideCollectives) {
  const int n = GetParam();
  CommandResult r =
      RunCommand("WEFT_TIMEOUT_MS=60000 " + BinDir() + "/weft-run -n " + std::to_string(n) +
                 " --timeout 120 -- " + BinDir() + "/p2p_check exchange");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (int rank = 0; rank < n; ++rank)
    EXPECT_NE(r.output.find("rank " + std::to_string(rank) + ": OK"), std::string::npos)
        << r.output;
}

INSTANTIATE_TEST_SUITE_P(Ranks, PointToPoint, ::testing::Values(2, 3, 5));

// A receive shorter than the message is an error on the receiver, named, within the timeout.
TEST(PointToPointMismatch, AShortReceiveFailsClearly) {
  CommandResult r =
      RunCommand("WEFT_TIMEOUT_MS=20000 " + BinDir() + "/weft-run -n 2 --timeout 60 -- " +
                 BinDir() + "/p2p_check mismatch");
  EXPECT_NE(r.output.find("rank 1: OK receive failed: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("longer than the receive buffer"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("WRONG"), std::string::npos) << r.output;
}

// A peer that exits: the receive waiting for it fails (the peer check sees it gone) rather
// than waiting; WEFT_TIMEOUT_MS is far above weft-run's own bound, so only that check can
// end it in time.
TEST(PointToPointPeerExits, AReceiveFromADeadPeerFails) {
  CommandResult r =
      RunCommand("WEFT_TIMEOUT_MS=600000 " + BinDir() + "/weft-run -n 2 --timeout 120 -- " +
                 BinDir() + "/p2p_check peer-exits");
  EXPECT_NE(r.output.find("rank 0: OK receive failed:"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("WRONG"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace weft::testing
