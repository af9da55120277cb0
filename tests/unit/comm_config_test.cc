// weftConfig_t: a communicator's own settings over the environment's, and errors that name
// the field the caller set.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "collectives/comm_config.h"
#include "collectives/communicator.h"
#include "weft/weft.h"

namespace weft {
namespace {

// Init of one rank with `config`: the result code and the error text.
std::pair<weftResult_t, std::string> InitOne(const weftConfig_t* config) {
  weftUniqueId id;
  EXPECT_EQ(weftSuccess, weftGetUniqueId(&id));
  weftComm_t comm = reinterpret_cast<weftComm_t>(0x1);
  weftResult_t r = weftCommInitRankConfig(&comm, 1, id, 0, config);
  if (r == weftSuccess) {
    weftCommDestroy(comm);
    return {r, ""};
  }
  EXPECT_EQ(nullptr, comm);
  return {r, weftGetLastError(nullptr)};
}

void ExpectRejected(const weftConfig_t& config, const std::string& field) {
  auto [r, error] = InitOne(&config);
  EXPECT_EQ(weftInvalidArgument, r) << field;
  EXPECT_NE(std::string::npos, error.find(field)) << error;
}

TEST(CommConfig, InvalidFieldsFailInitNamingTheField) {
  weftConfig_t c = WEFT_CONFIG_INITIALIZER;
  c.nChannels = -3;
  ExpectRejected(c, "weftConfig_t.nChannels=-3");
  c = WEFT_CONFIG_INITIALIZER;
  c.nChannels = 1000;
  ExpectRejected(c, "weftConfig_t.nChannels=1000");
  c = WEFT_CONFIG_INITIALIZER;
  c.algo = "rung";
  ExpectRejected(c, "weftConfig_t.algo='rung': unknown algorithm 'rung'");
  c = WEFT_CONFIG_INITIALIZER;
  c.timeoutMs = 0;
  ExpectRejected(c, "weftConfig_t.timeoutMs=0");
  c = WEFT_CONFIG_INITIALIZER;
  c.chunkSize = 3;
  ExpectRejected(c, "weftConfig_t.chunkSize=3");
  c = WEFT_CONFIG_INITIALIZER;
  c.buffSize = 0;
  ExpectRejected(c, "weftConfig_t.buffSize=0");
  c = WEFT_CONFIG_INITIALIZER;
  c.shmDirect = 2;
  ExpectRejected(c, "weftConfig_t.shmDirect=2");
  c = WEFT_CONFIG_INITIALIZER;
  c.checkCalls = -1;
  ExpectRejected(c, "weftConfig_t.checkCalls=-1");
}

TEST(CommConfig, StructNotFromTheInitializerIsRejected) {
  weftConfig_t c = WEFT_CONFIG_INITIALIZER;
  c.magic = 0;
  ExpectRejected(c, "WEFT_CONFIG_INITIALIZER");
  c = WEFT_CONFIG_INITIALIZER;
  c.size = sizeof(c) - 8;
  ExpectRejected(c, "weftConfig_t.size");
  c = WEFT_CONFIG_INITIALIZER;
  c.version = 1;
  ExpectRejected(c, "weftConfig_t.version=1");
}

TEST(CommConfig, UndefinedFieldsKeepTheEnvironmentsAndDefinedOnesWin) {
  Config config;
  auto env = [](const std::string& name, std::string* value) {
    if (name == "WEFT_ALGO") *value = "ring";
    if (name == "WEFT_CHUNK_SIZE") *value = "64K";
    return name == "WEFT_ALGO" || name == "WEFT_CHUNK_SIZE";
  };
  ASSERT_TRUE(Config::Load(env, &config).ok());
  weftConfig_t c = WEFT_CONFIG_INITIALIZER;
  c.algo = "tree";
  c.nChannels = 3;
  c.oneCopy = 0;
  ASSERT_TRUE(ApplyCommConfig(&c, &config).ok());
  EXPECT_EQ("tree", config.algo);
  EXPECT_EQ(3, config.nchannels);
  EXPECT_FALSE(config.one_copy);
  EXPECT_EQ(64u << 10, config.chunk_size);  // from the environment
  EXPECT_EQ("weftConfig_t.algo", config.SourceOf("WEFT_ALGO"));
  EXPECT_EQ("WEFT_CHUNK_SIZE", config.SourceOf("WEFT_CHUNK_SIZE"));
  EXPECT_TRUE(config.Check().ok());
  // A variable out of range is named as the variable.
  config.chunk_size = 1;
  config.set_by_api.clear();
  EXPECT_NE(std::string::npos, config.Check().message().find("WEFT_CHUNK_SIZE=1"));
  EXPECT_TRUE(ApplyCommConfig(nullptr, &config).ok());
}

// Two thread-ranks, each communicator with its own algorithm from its config, run an exact
// all-reduce; a process-wide WEFT_ALGO is the default the config overrides.
TEST(CommConfig, EachCommunicatorRunsTheAlgorithmItsConfigNames) {
  setenv("WEFT_ALGO", "ring", 1);
  for (const char* algo : std::vector<const char*>{"tree", "rd", nullptr}) {
    weftUniqueId id;
    ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
    const int n = 2;
    std::vector<int> ok(n, 0);
    std::vector<Algo> used(n, Algo::kHier);
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r) {
      threads.emplace_back([&, r] {
        weftConfig_t c = WEFT_CONFIG_INITIALIZER;
        c.algo = algo;
        weftComm_t comm = nullptr;
        if (weftCommInitRankConfig(&comm, n, id, r, &c) != weftSuccess) return;
        std::vector<int32_t> in(1000), out(1000);
        for (int i = 0; i < 1000; ++i)
          in[i] = r * 1000 + i;
        bool good = weftAllReduce(in.data(), out.data(), in.size(), weftInt32, weftSum, comm,
                                  nullptr) == weftSuccess;
        for (int i = 0; i < 1000 && good; ++i)
          good = out[i] == 1000 + 2 * i;
        used[r] = comm->impl->last_algo();
        ok[r] = weftCommDestroy(comm) == weftSuccess && good;
      });
    }
    for (auto& t : threads)
      t.join();
    const Algo want = algo == nullptr               ? Algo::kRing
                      : std::string(algo) == "tree" ? Algo::kTree
                                                    : Algo::kRecursiveDoubling;
    for (int r = 0; r < n; ++r) {
      EXPECT_TRUE(ok[r]) << "rank " << r << " algo " << (algo ? algo : "(env)");
      EXPECT_EQ(AlgoName(want), std::string(AlgoName(used[r])));
    }
  }
  unsetenv("WEFT_ALGO");
}

}  // namespace
}  // namespace weft
