// weft-run and weft-perf as a user runs them.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

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
      EXPECT_TRUE(row.contains("algo"));  // Weft's column: the algorithm it used
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
  r = RunCommand(BinDir() + "/weft-perf alltoallv");
  EXPECT_NE(0, r.exit_code);
  r = RunCommand(BinDir() + "/weft-perf sendrecv --compare algos");
  EXPECT_NE(0, r.exit_code);
  // nccl-tests' -a is 0..3 and -z 0 or 1.
  for (const char* flag : {"-a 4", "-a -1", "-z 2"}) {
    r = RunCommand(BinDir() + "/weft-perf allreduce " + flag);
    EXPECT_NE(0, r.exit_code) << flag;
    EXPECT_NE(std::string::npos, r.output.find("not in range")) << flag << ": " << r.output;
  }
}

// Every tool says what it is and how it is used, and exits 0 for it.
TEST(Tools, EveryToolAnswersVersionAndHelp) {
  for (const char* tool : {"weft-perf", "weft-info", "weft-topo", "weft-run", "weft-sim"}) {
    CommandResult v = RunCommand(BinDir() + "/" + tool + " --version");
    EXPECT_EQ(0, v.exit_code) << tool << ": " << v.output;
    EXPECT_NE(std::string::npos, v.output.find(std::string(tool) + ": Weft 0.1.0")) << v.output;
    CommandResult h = RunCommand(BinDir() + "/" + tool + " --help");
    EXPECT_EQ(0, h.exit_code) << tool << ": " << h.output;
    EXPECT_NE(std::string::npos, h.output.find("--version")) << tool << ": " << h.output;
  }
}

// The JSON says what ran where: version, command line, settings (never the secret), host,
// date, and which time -a reports; -a 2 and 3 and -z 1 run.
TEST(WeftPerf, JsonCarriesTheRunsContext) {
  for (const char* a : {"2", "3"}) {
    const std::string json = ::testing::TempDir() + "/perf_context_" + a + ".json";
    CommandResult r = RunCommand("env WEFT_CHECK=0 " +
                                 WeftRun(2, BinDir() + "/weft-perf allreduce -b 1K -e 4K -f 2 " +
                                                "-n 3 -z 1 -a " + a + " -J " + json));
    ASSERT_EQ(0, r.exit_code) << r.output;
    std::ifstream f(json);
    nlohmann::json doc = nlohmann::json::parse(f);
    EXPECT_EQ("Weft 0.1.0", doc["weft"]);
    EXPECT_FALSE(doc["build"].get<std::string>().empty());
    EXPECT_EQ(std::string(a) == "2" ? "min" : "max", doc["time"]);
    EXPECT_EQ(true, doc["blocking"]);
    EXPECT_EQ("host", doc["mem"]);
    const auto argv = doc["argv"].get<std::vector<std::string>>();
    ASSERT_FALSE(argv.empty());
    EXPECT_NE(std::string::npos, argv[0].find("weft-perf"));
    EXPECT_EQ(a, argv[argv.size() - 3]);  // ... -a A -J file
    EXPECT_EQ("0", doc["env"]["WEFT_CHECK"]);
    EXPECT_EQ("(set)", doc["env"]["WEFT_SECRET"]);  // weft-run sets one; never written out
    EXPECT_FALSE(doc["host"].get<std::string>().empty());
    EXPECT_EQ(20u, doc["date"].get<std::string>().size());  // 2026-12-07T03:04:05Z
    EXPECT_EQ(3u, doc["results"].size());
  }
}

// The point-to-point patterns (grouped weftSend/weftRecv), every type, checked exactly.
TEST(WeftPerf, AllToAllAndSendRecvCheckEveryType) {
  for (const char* pattern : {"alltoall", "sendrecv"}) {
    const std::string json = ::testing::TempDir() + "/perf_" + pattern + ".json";
    CommandResult r = RunCommand(WeftRun(
        3, BinDir() + "/weft-perf " + pattern + " -b 8 -e 96K -f 8 -n 2 -w 1 -d all -J " + json));
    ASSERT_EQ(0, r.exit_code) << r.output;
    EXPECT_NE(std::string::npos, r.output.find("# Out of bounds values : 0 OK")) << r.output;
    std::ifstream f(json);
    nlohmann::json doc = nlohmann::json::parse(f);
    EXPECT_EQ(pattern, doc["collective"]);
    ASSERT_GE(doc["results"].size(), 12u);
    for (const auto& row : doc["results"]) {
      EXPECT_EQ(0, row["oop"]["wrong"]) << row.dump();
      EXPECT_EQ("p2p", row["algo"]);
    }
  }
}

TEST(WeftInfo, ListsEveryVariable) {
  CommandResult r =
      RunCommand("env WEFT_TIMEOUT_MS=1234 WEFT_TIMEOTU_MS=1 " + BinDir() + "/weft-info");
  EXPECT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("WEFT_CHUNK_SIZE"));
  EXPECT_NE(std::string::npos, r.output.find("1234"));
  EXPECT_NE(std::string::npos, r.output.find("did you mean WEFT_TIMEOUT_MS"));
  // The secret keeps strangers out: weft-info says whether it is set, never what it is.
  r = RunCommand("env WEFT_SECRET=00112233445566778899aabbccddeeff " + BinDir() + "/weft-info");
  EXPECT_EQ(std::string::npos, r.output.find("00112233445566778899aabbccddeeff")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("(set)"));
}

// The registry's algorithms, each on a line of its own, once.
TEST(WeftInfo, ListsEveryAlgorithmOnce) {
  CommandResult r = RunCommand(BinDir() + "/weft-info");
  EXPECT_EQ(0, r.exit_code) << r.output;
  for (const char* algo : {"ring", "tree", "rd", "direct", "hier"}) {
    size_t lines = 0;
    std::istringstream in(r.output);
    std::string line;
    while (std::getline(in, line))
      lines += line.rfind(std::string(algo) + " ", 0) == 0;
    EXPECT_EQ(1u, lines) << algo << "\n" << r.output;
  }
  EXPECT_NE(std::string::npos, r.output.find("allreduce,allgather,reducescatter,broadcast,reduce"));
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

TEST(WeftTopo, JsonDescribesTheMachine) {
  const std::string file = std::string(WEFT_TEST_TOPOLOGY_FIXTURES) + "/mpibind-coral-lassen.xml";
  CommandResult r = RunCommand(BinDir() + "/weft-topo --json --topo-file " + file);
  if (r.output.find("cannot open the file") != std::string::npos) GTEST_SKIP() << "no fixtures";
  ASSERT_EQ(0, r.exit_code) << r.output;
  nlohmann::json doc = nlohmann::json::parse(r.output);
  ASSERT_EQ(4u, doc["gpus"].size());
  EXPECT_EQ("0004:04:00.0", doc["gpus"][0]["pci"]);
  EXPECT_EQ("0003:01:00.0", doc["gpus"][0]["nic"]);  // NICs are named by PCI address
  EXPECT_EQ("mlx5_0", doc["gpus"][0]["nic_name"]);
  EXPECT_TRUE(doc["gpus"][0]["nvlink_gbps"].is_null());  // hwloc 2.2 wrote no NVLink facts
  EXPECT_EQ("ib", doc["nics"][0]["link_layer"]);
  EXPECT_TRUE(doc["nics"][0]["speed_gbps"].is_null());
  EXPECT_EQ("active", doc["nics"][0]["state"]);
  EXPECT_EQ("LOC", doc["gpu_paths"][0][0]);
  EXPECT_EQ("SYS", doc["gpu_paths"][0][2]);
  EXPECT_EQ(4u, doc["ring"].size());
  // Two management ports listed apart from the four rails.
  ASSERT_EQ(6u, doc["nics"].size());
  int rails = 0;
  for (const auto& nic : doc["nics"])
    rails += nic["rail"].get<bool>();
  EXPECT_EQ(4, rails);
}

// NICs without names (bare <pci> nodes) are still named in the JSON, by PCI address, and
// the text says NVLinks are not in the file rather than "none".
TEST(WeftTopo, UnnamedNicsAndUnknownNvLinks) {
  const std::string file = std::string(WEFT_TEST_TOPOLOGY_FIXTURES) + "/azure-ndv4-topo.xml";
  CommandResult r = RunCommand(BinDir() + "/weft-topo --json --file-only --topo-file " + file);
  ASSERT_EQ(0, r.exit_code) << r.output;
  nlohmann::json doc = nlohmann::json::parse(r.output);
  ASSERT_EQ(8u, doc["gpus"].size());
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(doc["nics"][i]["id"], doc["gpus"][i]["nic"]);
    EXPECT_EQ(doc["nics"][i]["pci"], doc["nics"][i]["id"]);
  }
  EXPECT_EQ("0101:00:00.0", doc["gpus"][0]["nic"]);
  r = RunCommand(BinDir() + "/weft-topo --file-only --topo-file " + file);
  EXPECT_NE(std::string::npos, r.output.find("NVLink not in file")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("the file alone")) << r.output;
}

TEST(WeftTopo, TextReportAndDotAndErrors) {
  const std::string file = std::string(WEFT_TEST_TOPOLOGY_FIXTURES) + "/hwloc-nvidiaDGX2.xml";
  CommandResult r = RunCommand("env WEFT_TOPO_FILE=" + file + " " + BinDir() + "/weft-topo");
  if (r.output.find("cannot open the file") != std::string::npos) GTEST_SKIP() << "no fixtures";
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("16 GPUs"));
  EXPECT_NE(std::string::npos, r.output.find("NV6"));
  r = RunCommand(BinDir() + "/weft-topo --dot --topo-file " + file);
  EXPECT_EQ(0, r.exit_code);
  EXPECT_EQ(0u, r.output.find("graph weft {"));
  // --json and --dot are one output or the other, never one silently.
  r = RunCommand(BinDir() + "/weft-topo --json --dot --topo-file " + file);
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("excludes")) << r.output;
  // Slow links keep their digits: Tioga's 1 GbE port sits on a 0.25 GB/s PCIe link.
  r = RunCommand(BinDir() + "/weft-topo --dot --file-only --topo-file " +
                 std::string(WEFT_TEST_TOPOLOGY_FIXTURES) + "/mpibind-eas-tioga.xml");
  EXPECT_EQ(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("\"0.25 GB/s\"")) << r.output;
  EXPECT_EQ(std::string::npos, r.output.find("\"0 GB/s\"")) << r.output;
  r = RunCommand(BinDir() + "/weft-topo --topo-file /nonexistent.xml");
  EXPECT_NE(0, r.exit_code);
  EXPECT_NE(std::string::npos, r.output.find("/nonexistent.xml: cannot open the file"));
}

TEST(WeftTopo, LiveHostWithoutGpus) {
  CommandResult r = RunCommand("env -u WEFT_TOPO_FILE " + BinDir() + "/weft-topo --json");
  ASSERT_EQ(0, r.exit_code) << r.output;
  nlohmann::json doc = nlohmann::json::parse(r.output);
  EXPECT_TRUE(doc["gpus"].is_array());
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

TEST(WeftPerf, TuneWritesATableTheLibraryReads) {
  const std::string file = ::testing::TempDir() + "/tune.txt";
  CommandResult r = RunCommand(BinDir() + "/weft-run -n 3 --timeout 120 -- " + BinDir() +
                               "/weft-perf allreduce -b 8 -e 64K -f 8 -n 3 -w 1 --tune " + file);
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("best"));
  std::ifstream f(file);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(std::string::npos, text.find("allreduce"));
  EXPECT_NE(std::string::npos, text.find("-inf"));
  CommandResult use = RunCommand(
      "env WEFT_TUNE_FILE=" + file + " " + BinDir() + "/weft-run -n 3 --timeout 120 -- " +
      BinDir() + "/coll_check --colls allreduce --types float --ops sum --counts 1,5000");
  EXPECT_EQ(0, use.exit_code) << use.output;
}

TEST(WeftPerf, ComparesAlgorithmsSideBySide) {
  CommandResult r = RunCommand(BinDir() + "/weft-run -n 3 --timeout 120 -- " + BinDir() +
                               "/weft-perf allreduce -b 8 -e 8K -f 32 -n 2 -w 1 --rounds 2 "
                               "--compare algos");
  ASSERT_EQ(0, r.exit_code) << r.output;
  // One row per size: the size, a time per algorithm and for the automatic choice, the
  // algorithm it picked, and its ratio to the fastest.
  std::istringstream lines(r.output);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string prefix, size, ring, tree, rd, direct, hier, oneshot, autotime, picked, ratio;
    if (!(fields >> prefix >> size >> ring >> tree >> rd >> direct >> hier >> oneshot >> autotime >>
          picked >> ratio))
      continue;
    if (prefix != "[0]" || size == "#") continue;
    ++rows;
    // An algorithm far behind at one size is not timed at larger ones ("-"); at the first
    // size every one is.
    for (const std::string* t : {&ring, &tree, &rd, &direct, &hier, &oneshot})
      if (rows == 1 || *t != "-") {
        EXPECT_GT(std::stod(*t), 0) << line;
      }
    for (const std::string* t : {&autotime, &ratio})
      EXPECT_GT(std::stod(*t), 0) << line;
    EXPECT_TRUE(picked == "ring" || picked == "tree" || picked == "rd" || picked == "direct" ||
                picked == "hier" || picked == "oneshot")
        << line;
  }
  EXPECT_EQ(3, rows) << r.output;  // 8, 256 and 8192 bytes
}

// --compare gloo: Gloo's all-reduce and all-gather over its TCP transport on the same
// buffers, its columns beside Weft's (the store that connects Gloo runs over Weft).
TEST(WeftPerf, ComparesWithGlooInTheSameRun) {
  for (const char* coll : {"allreduce", "allgather"}) {
    CommandResult r = RunCommand(BinDir() + "/weft-run -n 3 --timeout 120 -- " + BinDir() +
                                 "/weft-perf " + coll + " -b 4K -e 256K -f 8 -n 3 --compare gloo");
    if (r.output.find("built without Gloo") != std::string::npos)
      GTEST_SKIP() << "weft-perf built without Gloo";
    ASSERT_EQ(0, r.exit_code) << r.output;
    EXPECT_NE(std::string::npos, r.output.find("Gloo baseline")) << r.output;
    std::istringstream lines(r.output);
    std::string line;
    int rows = 0;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string x; fields >> x;)
        f.push_back(x);
      if (f.size() != 18 || f[0] != "[0]" || f[1] == "#") continue;
      ++rows;
      EXPECT_EQ("0", f[9]) << line;            // Weft's results exact
      EXPECT_GT(std::stod(f[15]), 0) << line;  // Gloo's time
      EXPECT_GE(std::stod(f[17]), 0) << line;  // Gloo's busbw (0.00 where tiny)
    }
    EXPECT_EQ(3, rows) << r.output;  // 4K, 32K, 256K
  }
}

}  // namespace
}  // namespace weft::testing

namespace weft::testing {
namespace {

// weft-sim on GPU nodes from a topology file: the node's figures named, every algorithm's
// time and busbw per size and the tuner's choice in the JSON, the hierarchical all-reduce
// on every rail far past the flat ring's one NIC.
TEST(WeftSim, GpuNodesFromATopologyFileWriteJson) {
  const std::string json = ::testing::TempDir() + "/sim_gpu.json";
  CommandResult r =
      RunCommand(BinDir() + "/weft-sim --topo-file " + std::string(WEFT_TEST_TOPOLOGY_FIXTURES) +
                 "/azure-ndv5-topo.xml --gpu h100 --hosts 2 -c allreduce -b 16M -e 64M -J " + json);
  ASSERT_EQ(0, r.exit_code) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("NVLink not in the file: h100's, 371 GB/s"))
      << r.output;
  std::ifstream f(json);
  nlohmann::json doc = nlohmann::json::parse(f);
  EXPECT_EQ(2, doc["hosts"]);
  EXPECT_EQ(8, doc["ranks_per_host"]);
  ASSERT_EQ(2u, doc["results"].size());  // 16M, 64M
  for (const auto& row : doc["results"]) {
    for (const char* algo : {"ring", "tree", "rd", "hier"})
      EXPECT_GT(row["algos"][algo]["busbw"].get<double>(), 0) << algo;
    EXPECT_TRUE(row.contains("tuner"));
    EXPECT_GT(row["algos"]["hier"]["busbw"].get<double>(),
              4 * row["algos"]["ring"]["busbw"].get<double>());
  }
  CommandResult bad = RunCommand(BinDir() + "/weft-sim --gpu z9000 --hosts 2");
  EXPECT_EQ(2, bad.exit_code);
  EXPECT_NE(std::string::npos, bad.output.find("unknown GPU model 'z9000'")) << bad.output;
}

}  // namespace
}  // namespace weft::testing
