// weft-run and weft-perf as a user runs them.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

std::string WeftRun(int n, const std::string& rest) {
  return BinDir() + "/weft-run -n " + std::to_string(n) + " --timeout 120 -- " + rest;
}

TEST(WeftRun, PrefixesOutputAndPropagatesFailure) {
  CommandResult ok = RunCommand(WeftRun(3, "sh -c 'echo hi $WEFT_RANK/$WEFT_NRANKS'"));
  EXPECT_EQ(0, ok.exit_code);
  for (int r = 0; r < 3; ++r)
    EXPECT_NE(std::string::npos,
              ok.output.find("[" + std::to_string(r) + "] hi " + std::to_string(r) + "/3"));
  CommandResult bad =
      RunCommand(WeftRun(3, "sh -c 'if [ $WEFT_RANK = 2 ]; then exit 7; fi; sleep 60'"));
  EXPECT_EQ(7, bad.exit_code) << bad.output;
  EXPECT_NE(std::string::npos, bad.output.find("rank 2 failed with status 7"));
}

TEST(WeftRun, TimeoutKillsTheJob) {
  CommandResult r = RunCommand(BinDir() + "/weft-run -n 2 --timeout 1 -- sleep 60");
  EXPECT_EQ(124, r.exit_code) << r.output;
}

TEST(WeftPerf, EveryCollectiveChecksAndWritesJson) {
  for (const char* coll : {"allreduce", "allgather", "reducescatter", "broadcast", "reduce"}) {
    const std::string json = ::testing::TempDir() + "/perf_" + coll + ".json";
    CommandResult r = RunCommand(WeftRun(
        3, BinDir() + "/weft-perf " + coll + " -b 8 -e 256K -f 8 -n 2 -w 1 -r 1 -J " + json));
    ASSERT_EQ(0, r.exit_code) << r.output;
    EXPECT_NE(std::string::npos, r.output.find("# Out of bounds values : 0 OK")) << r.output;
    std::ifstream f(json);
    nlohmann::json doc = nlohmann::json::parse(f);
    EXPECT_EQ(coll, doc["collective"]);
    EXPECT_EQ(3, doc["nranks"]);
    ASSERT_EQ(6u, doc["results"].size());  // 8, 64, 512, 4K, 32K, 256K
    for (const auto& row : doc["results"]) {
      EXPECT_EQ(0, row["oop"]["wrong"]);
      EXPECT_EQ(0, row["ip"]["wrong"]);
      EXPECT_GT(row["oop"]["time_us"].get<double>(), 0);
    }
  }
}

TEST(WeftPerf, AllTypesAndOps) {
  CommandResult r =
      RunCommand(WeftRun(2, BinDir() + "/weft-perf allreduce -b 1K -e 1K -n 1 -w 0 -d all -o all"));
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("f8e5m2"));
  EXPECT_NE(std::string::npos, r.output.find("# Out of bounds values : 0 OK"));
}

TEST(WeftPerf, BadFlagsAreRejected) {
  CommandResult r = RunCommand(BinDir() + "/weft-perf allreduce -d complex128");
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("unknown datatype"));
  r = RunCommand(BinDir() + "/weft-perf alltoall");
  EXPECT_NE(0, r.exit_code);
}

TEST(WeftInfo, ListsEveryVariable) {
  CommandResult r =
      RunCommand("env WEFT_TIMEOUT_MS=1234 WEFT_TIMEOTU_MS=1 " + BinDir() + "/weft-info");
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("WEFT_CHUNK_SIZE"));
  EXPECT_NE(std::string::npos, r.output.find("1234"));
  EXPECT_NE(std::string::npos, r.output.find("did you mean WEFT_TIMEOUT_MS"));
}

}  // namespace
}  // namespace weft::testing
