// What a careless user or a stranger can do to a job (issue: hardening): tunables out of
// range, more memory than a communicator may map. Each must be a clean init error on every
// rank, naming the variable, its value and its range, with nothing left behind.
#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

// The names in a folder, "." and ".." aside.
std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

// Sanitizers reserve terabytes of address space for their shadow memory: under them the
// ranks run without the limit.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr const char* kAddressSpaceLimit = "";
#else
constexpr const char* kAddressSpaceLimit = "ulimit -v 4194304; ";
#endif

struct BadSetting {
  const char* env;       // what the job is started with
  const char* expected;  // what every rank's error must say
};

class BadTunable : public ::testing::TestWithParam<BadSetting> {};

// Two ranks under a 4 GiB address-space limit, so that a regression that tries to map what
// a value asks for fails here instead of stalling the machine; UCX's shared-memory files go
// to a folder of the test's own, which must be empty afterwards.
TEST_P(BadTunable, IsACleanInitErrorOnEveryRank) {
  char dir[] = "/tmp/weft-shm-XXXXXX";
  ASSERT_NE(nullptr, mkdtemp(dir));
  const std::string cmd = std::string(kAddressSpaceLimit) + "env UCX_POSIX_DIR=" + dir + " " +
                          GetParam().env + " timeout 60 " + BinDir() +
                          "/weft-run --keep-going -n 2 --timeout 30 -- " + BinDir() +
                          "/coll_check --counts 1";
  CommandResult r = RunCommand(cmd);
  EXPECT_NE(0, r.exit_code) << r.output;
  for (const char* rank : {"[0]", "[1]"}) {
    const std::string line = std::string(rank) + " init failed: invalid argument";
    const size_t at = r.output.find(line);
    ASSERT_NE(std::string::npos, at) << r.output;
    const std::string rest = r.output.substr(at, r.output.find('\n', at) - at);
    EXPECT_NE(std::string::npos, rest.find(GetParam().expected)) << rest;
  }
  EXPECT_EQ(std::vector<std::string>{}, FilesIn(dir));
  rmdir(dir);
}

INSTANTIATE_TEST_SUITE_P(
    ZeroNegativeHugeMalformed, BadTunable,
    ::testing::Values(
        BadSetting{"WEFT_CHUNK_SIZE=100G", "WEFT_CHUNK_SIZE=100G: the range is 0 or 64..64M"},
        BadSetting{"WEFT_CHUNK_SIZE=1", "WEFT_CHUNK_SIZE=1: the range is"},
        BadSetting{"WEFT_TIMEOUT_MS=0", "WEFT_TIMEOUT_MS=0: the range is 1..604800000 ms"},
        BadSetting{"WEFT_TIMEOUT_MS=-1", "WEFT_TIMEOUT_MS=-1: the range is"},
        BadSetting{"WEFT_NCHANNELS=1000", "WEFT_NCHANNELS=1000: the range is 0..32"},
        BadSetting{"WEFT_BUFFSIZE=64G", "WEFT_BUFFSIZE=64G: the range is 64..1G bytes"},
        BadSetting{"WEFT_ONE_SHOT_MAX_BYTES=1G", "WEFT_ONE_SHOT_MAX_BYTES=1G"},
        BadSetting{"WEFT_DEBUG=LOUD", "WEFT_DEBUG='LOUD': not one of"},
        BadSetting{"WEFT_SECRET_FILE=/no-such-file",
                   "WEFT_SECRET_FILE='/no-such-file': the file cannot be opened"},
        BadSetting{"WEFT_DEBUG_FILE=/no-such-folder/weft.log", "WEFT_DEBUG_FILE"},
        BadSetting{"WEFT_SPIN_US=-5", "WEFT_SPIN_US=-5"},
        // Each value in range, together more than a communicator may map.
        BadSetting{"WEFT_CHUNK_SIZE=64M WEFT_BUFFSIZE=1G",
                   "would map more host memory than it may: shared-memory FIFOs"}));

// A peer killed while weft-perf is in its timed loop: each survivor logs one warning, naming
// the dead rank, weft-perf stops calling the failed communicator and says why, and the job
// ends within a second of the detection (the warning's time stamp).
TEST(KilledPeer, EndsWeftPerfWithinASecondAndOneWarningPerRank) {
  const std::string job = "timeout 120 " + BinDir() +
                          "/weft-run --keep-going -n 3 --timeout 100 -- sh -c 'if [ " +
                          "$WEFT_RANK = 2 ]; then (sleep 1; kill -9 $$) & fi; exec " + BinDir() +
                          "/weft-perf -b 8 -e 8 -n 100000000 -w 0 -c 0'";
  CommandResult r = RunCommand(job);
  const double ended =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  double detected = 0;
  for (const char* rank : {"[0]", "[1]"}) {
    int warnings = 0;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(rank, 0) != 0 || line.find(" weft WARN ") == std::string::npos) continue;
      ++warnings;
      EXPECT_NE(std::string::npos, line.find("rank 2")) << line;
      detected = std::max(detected, std::atof(line.c_str() + 4));
    }
    EXPECT_EQ(1, warnings) << rank << "\n" << r.output;
    EXPECT_NE(std::string::npos, r.output.find(std::string(rank) + " weft-perf: rank " +
                                               std::string(1, rank[1]) + ": float 8 bytes failed"))
        << r.output;
  }
  ASSERT_GT(detected, 0) << r.output;
  EXPECT_LT(ended - detected, 1.0) << r.output;
}

// One rank of four frozen (SIGSTOP) in weft-perf's timed loop: every survivor times out,
// and each names the frozen rank, not the neighbour it was waiting for. They ask each other
// through the bootstrap root; when the frozen rank is rank 0, whose process serves the
// root, the silence of the root names it. (The frozen rank is killed 8 s later.)
class FrozenRank : public ::testing::TestWithParam<int> {};

TEST_P(FrozenRank, IsNamedByEverySurvivor) {
  const int victim = GetParam();
  const std::string job = "env WEFT_TIMEOUT_MS=3000 timeout 120 " + BinDir() +
                          "/weft-run --keep-going -n 4 --timeout 100 -- sh -c 'if [ $WEFT_RANK = " +
                          std::to_string(victim) +
                          " ]; then (sleep 1; kill -STOP $$; sleep 8; kill -9 $$) & fi; exec " +
                          BinDir() + "/weft-perf -b 8 -e 8 -n 100000000 -w 0 -c 0'";
  CommandResult r = RunCommand(job);
  const std::string verdict = "rank " + std::to_string(victim) + " stopped making progress";
  for (int survivor = 0; survivor < 4; ++survivor) {
    if (survivor == victim) continue;
    const std::string prefix = "[" + std::to_string(survivor) + "] ";
    std::istringstream lines(r.output);
    int warnings = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(prefix, 0) != 0 || line.find(" weft WARN ") == std::string::npos) continue;
      ++warnings;
      EXPECT_NE(std::string::npos, line.find("operation timed out: " + verdict)) << line;
    }
    EXPECT_EQ(1, warnings) << prefix << "\n" << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(RankTwoAndTheRootsRank, FrozenRank, ::testing::Values(2, 0));

}  // namespace
}  // namespace weft::testing
