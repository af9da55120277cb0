#include <gtest/gtest.h>

#include <map>

#include "common/config.h"

namespace weft {
namespace {

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name, std::string* value) {
    auto it = vars.find(name);
    if (it == vars.end()) return false;
    *value = it->second;
    return true;
  };
}

TEST(Config, DefaultsComeFromTheTable) {
  Config c;
  ASSERT_TRUE(Config::Load(MapEnv({}), &c).ok());
  EXPECT_EQ(300000, c.timeout_ms);
  EXPECT_EQ(0u, c.chunk_size);  // picks by the job's hosts (AutoChunkBytes)
  EXPECT_EQ("WARN", c.debug);
}

TEST(Config, ParsesSizesAndIntegers) {
  Config c;
  ASSERT_TRUE(Config::Load(MapEnv({{"WEFT_CHUNK_SIZE", "64K"},
                                   {"WEFT_TIMEOUT_MS", "1500"},
                                   {"WEFT_BUFFSIZE", "2M"}}),
                           &c)
                  .ok());
  EXPECT_EQ(65536u, c.chunk_size);
  EXPECT_EQ(1500, c.timeout_ms);
  EXPECT_EQ(2u << 20, c.buffsize);
}

TEST(Config, ValueThatDoesNotParseIsAnErrorNamingTheVariable) {
  Config c;
  Status s = Config::Load(MapEnv({{"WEFT_CHUNK_SIZE", "lots"}}), &c);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("WEFT_CHUNK_SIZE"));
  s = Config::Load(MapEnv({{"WEFT_TIMEOUT_MS", "12abc"}}), &c);
  EXPECT_EQ(weftInvalidArgument, s.code());
  s = Config::Load(MapEnv({{"WEFT_BUFFSIZE", "99999999999999999999G"}}), &c);
  EXPECT_EQ(weftInvalidArgument, s.code());
}

TEST(Config, UnknownVariableSuggestsTheClosestName) {
  auto w = UnknownVariableWarnings({"WEFT_TIMEOUT_MS", "WEFT_TIMEOUT_SM", "WEFT_ZZZZZZZZZZZZZZZZ"});
  ASSERT_EQ(2u, w.size());
  EXPECT_NE(std::string::npos, w[0].find("did you mean WEFT_TIMEOUT_MS"));
  EXPECT_EQ(std::string::npos, w[1].find("did you mean"));
}

TEST(Config, EveryTableRowHasHelpAndAValidDefault) {
  Config c;
  ASSERT_TRUE(Config::Load(MapEnv({}), &c).ok());
  for (const ConfigVar& v : ConfigTable()) {
    EXPECT_GT(std::string(v.help).size(), 10u) << v.name;
    EXPECT_EQ(0, std::string(v.name).rfind("WEFT_", 0)) << v.name;
  }
}

}  // namespace
}  // namespace weft
