// Real processes over UCX: every collective, type and op, checked exactly, for 2, 3 and 4
// ranks, over shared memory and over TCP.
#include <gtest/gtest.h>

#include "tests/integration/process_runner.h"

namespace weft::testing {
namespace {

struct Config {
  int nranks;
  const char* tls;
};

class Collectives : public ::testing::TestWithParam<Config> {
 protected:
  void Check(const std::string& args) {
    const Config c = GetParam();
    std::string cmd = "env UCX_TLS=" + std::string(c.tls) + " WEFT_TIMEOUT_MS=60000 " + BinDir() +
                      "/weft-run -n " + std::to_string(c.nranks) + " --timeout 240 -- " + BinDir() +
                      "/coll_check " + args;
    CommandResult r = RunCommand(cmd);
    EXPECT_EQ(0, r.exit_code) << cmd << "\n" << r.output;
    EXPECT_NE(std::string::npos, r.output.find(" 0 failed")) << r.output;
    EXPECT_EQ(std::string::npos, r.output.find("FAIL")) << r.output;
  }
};

TEST_P(Collectives, EveryTypeForSum) {
  Check("--types all --ops sum --counts 0,1,2,7,1000,100003");
}

TEST_P(Collectives, EveryOpForFloatAndInt32) {
  Check("--types float,int32 --ops all --counts 1,3,13,4097,65537");
}

// Each rank's input multiplied by a scalar before the sum (x3 on integers, x0.5 on floats),
// beside the plain sum it must not disturb.
TEST_P(Collectives, PreMulSumForEveryType) {
  Check(
      "--types all --ops sum --premulsum --counts 0,1,7,4097,100003 "
      "--colls allreduce,reducescatter,reduce");
}

TEST_P(Collectives, GroupedBroadcastsFromEveryRoot) {
  Check("--types int32 --ops sum --counts 5000 --colls broadcast --group");
}

INSTANTIATE_TEST_SUITE_P(RanksAndTransports, Collectives,
                         ::testing::Values(Config{2, "shm"}, Config{3, "shm"}, Config{4, "shm"},
                                           Config{2, "tcp"}, Config{3, "tcp"}, Config{4, "tcp"}),
                         [](const auto& info) {
                           return std::to_string(info.param.nranks) + "ranks_" + info.param.tls;
                         });

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

// Every algorithm through real processes, forced with WEFT_ALGO (a collective without it
// keeps the tuner's choice: direct is for all-reduce, all-gather and broadcast only).
class Algorithms : public ::testing::TestWithParam<std::tuple<const char*, int>> {};

// coll_check on n ranks with the variables `env` ("NAME=value ..."), every check passing.
void ExpectCollCheckPasses(const std::string& env, int n, const std::string& args) {
  const std::string cmd = "env " + env + " WEFT_TIMEOUT_MS=60000 " + BinDir() + "/weft-run -n " +
                          std::to_string(n) + " --timeout 240 -- " + BinDir() + "/coll_check " +
                          args;
  CommandResult r = RunCommand(cmd);
  EXPECT_EQ(0, r.exit_code) << cmd << "\n" << r.output;
  EXPECT_NE(std::string::npos, r.output.find(" 0 failed")) << r.output;
}

// coll_check on n ranks with one algorithm forced: the collectives it serves, three types,
// three ops, counts from empty to odd and large; `extra`: more coll_check options.
void ExpectForcedAlgorithmExact(const std::string& algo, int n, const std::string& extra = "") {
  ExpectCollCheckPasses("WEFT_ALGO=" + algo, n,
                        extra +
                            "--colls allreduce,allgather,broadcast,reduce --types "
                            "float,int32,bfloat16 --ops sum,max,avg --counts 0,1,7,1000,100003");
}

TEST_P(Algorithms, AllReduceIsExact) {
  ExpectForcedAlgorithmExact(std::get<0>(GetParam()), std::get<1>(GetParam()));
}

// One-copy plans on buffers from weftMemAlloc, registered: the peers map them through
// /proc/<pid>/fd and read and write them in place. Every call has new buffers (registered,
// then deregistered and freed), so the peers' mappings turn over past their limit of 32.
TEST(OneCopyRegistered, EveryCollectiveIsExact) {
  for (int n : {2, 3, 5})
    ExpectForcedAlgorithmExact("direct", n, "--register ");
}

// The one-shot collectives forced, with a scratch large enough for every count here: every
// collective, type and op, in and out of place, every root; 2 ranks with a core each, 3 and
// 5 sharing the 2 cores of CI.
TEST(OneShot, EveryTypeAndOpIsExact) {
  for (int n : {2, 3, 5})
    ExpectCollCheckPasses("WEFT_ALGO=oneshot WEFT_ONE_SHOT_MAX_BYTES=1M", n,
                          "--colls allreduce,allgather,reducescatter,broadcast,reduce --types all "
                          "--ops sum,prod,max,min,avg --counts 0,1,7,1000,20001");
}

// Ranks as threads of one process (weft-perf -t), each with its own communicator, as NCCL's
// one-process-many-GPUs use: every collective and type exact, the one-shot and the one-copy
// reads (of its own process) included.
TEST(ThreadRanks, EveryCollectiveIsExact) {
  for (const char* coll :
       {"allreduce", "allgather", "reducescatter", "broadcast", "reduce", "alltoall", "sendrecv"}) {
    const std::string cmd = "timeout 240 env WEFT_TIMEOUT_MS=60000 " + BinDir() + "/weft-perf " +
                            coll + " -t 3 -b 8 -e 256K -f 16 -c 1 -d all -n 2 -w 1";
    CommandResult r = RunCommand(cmd);
    EXPECT_EQ(0, r.exit_code) << cmd << "\n" << r.output;
    EXPECT_NE(std::string::npos, r.output.find("Out of bounds values : 0 OK")) << r.output;
  }
  const std::string oneshot = "timeout 240 env WEFT_ALGO=oneshot WEFT_TIMEOUT_MS=60000 " +
                              BinDir() + "/weft-perf allreduce -t 2 -b 8 -e 64K -f 8 -c 1 " +
                              "-o all -d all -n 2 -w 1";
  CommandResult r = RunCommand(oneshot);
  EXPECT_EQ(0, r.exit_code) << oneshot << "\n" << r.output;
  EXPECT_NE(std::string::npos, r.output.find("oneshot")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("Out of bounds values : 0 OK")) << r.output;
}

// Under a launcher of P processes, -t runs N ranks in each: P*N ranks, every result exact.
// With WEFT_HOSTID per process the processes are two hosts, so the ring crosses between them
// over UCX; with WEFT_PROXY_STANDIN the device path's kernel-and-proxy protocol runs it (what
// the GPU host's check runs with device buffers: 2 processes x 2 thread-ranks).
TEST(ThreadRanks, InEveryProcessOfALauncher) {
  for (const char* env : {"", "WEFT_PROXY_STANDIN=1"}) {
    const std::string cmd = "timeout 240 " + BinDir() + "/weft-run -n 2 --timeout 200 -- env " +
                            env + " WEFT_TIMEOUT_MS=60000 sh -c 'WEFT_HOSTID=host$WEFT_RANK exec " +
                            BinDir() +
                            "/weft-perf allreduce -t 2 -b 8 -e 1M -f 32 -c 1 -d all -n 2 -w 1'";
    CommandResult r = RunCommand(cmd);
    EXPECT_EQ(0, r.exit_code) << cmd << "\n" << r.output;
    EXPECT_NE(std::string::npos, r.output.find("#  Rank 3 ")) << r.output;  // 2 x 2 ranks
    EXPECT_NE(std::string::npos, r.output.find("Out of bounds values : 0 OK")) << r.output;
  }
}

// 10 ranks: above DirectLinkMap's all-pairs limit, so the shared FIFOs link only ring
// neighbours, tree edges and recursive-doubling pairs (rerooted trees go over UCX, and
// direct reads, which need every pair, fall back to the ring).
INSTANTIATE_TEST_SUITE_P(ForcedAlgorithms, Algorithms,
                         ::testing::Combine(::testing::Values("tree", "rd", "ring", "direct"),
                                            ::testing::Values(2, 3, 5, 6, 10)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "ranks";
                         });

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

// Several "hosts" on this machine (WEFT_HOSTID, ranks r / per_host on one): the ranks of a
// host share FIFOs, the hosts reach each other over UCX, and one plan uses both. Every
// collective, forced algorithm (hier: inside the hosts, then along the rails) and type.
class AcrossHosts : public ::testing::TestWithParam<std::tuple<const char*, int, int>> {};

TEST_P(AcrossHosts, EveryCollectiveIsExact) {
  const auto [algo, hosts, per_host] = GetParam();
  const int n = hosts * per_host;
  const std::string check = BinDir() + "/coll_check --types " +
                            (std::string(algo) == "hier" ? "all" : "float,int32,bfloat16") +
                            " --ops sum,max,avg --counts 0,1,7,1000,100003";
  std::string cmd = "env WEFT_ALGO=" + std::string(algo) + " WEFT_TIMEOUT_MS=60000 " + BinDir() +
                    "/weft-run -n " + std::to_string(n) + " --timeout 240 -- sh -c " +
                    "'WEFT_HOSTID=host$((WEFT_RANK / " + std::to_string(per_host) + ")) exec " +
                    check + "'";
  CommandResult r = RunCommand(cmd);
  EXPECT_EQ(0, r.exit_code) << cmd << "\n" << r.output;
  EXPECT_NE(std::string::npos, r.output.find(" 0 failed")) << r.output;
  EXPECT_EQ(std::string::npos, r.output.find("FAIL")) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Algorithms, AcrossHosts,
    ::testing::Values(std::make_tuple("hier", 2, 2), std::make_tuple("hier", 3, 2),
                      std::make_tuple("hier", 2, 3), std::make_tuple("hier", 3, 3),
                      std::make_tuple("hier", 3, 1), std::make_tuple("ring", 2, 2),
                      std::make_tuple("ring", 3, 3), std::make_tuple("tree", 2, 3),
                      std::make_tuple("rd", 3, 2)),
    [](const auto& info) {
      return std::string(std::get<0>(info.param)) + "_" + std::to_string(std::get<1>(info.param)) +
             "x" + std::to_string(std::get<2>(info.param));
    });

// 2000 collectives of random collective, type, op, size (0 to 4 MiB), layout, root and
// algorithm (three communicators with WEFT_ALGO tree, rd, ring, plus the tuner's), 4 ranks,
// every result checked exactly.
TEST(Soak, TwoThousandRandomCollectivesOnFourRanks) {
  CommandResult r =
      RunCommand("env WEFT_TIMEOUT_MS=60000 " + BinDir() + "/weft-run -n 4 --timeout 500 -- " +
                 BinDir() + "/coll_check --soak 2000 --seed 7");
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("coll_check: 2000 passed, 0 failed")) << r.output;
}

}  // namespace
}  // namespace weft::testing
