#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/config.h"
#include "common/environment.h"

namespace weft {
namespace {

TEST(Config, DefaultsComeFromTheTable) {
  Config c;
  ASSERT_TRUE(Config::Load(TableLookup({}), &c).ok());
  EXPECT_EQ(300000, c.timeout_ms);
  EXPECT_EQ(0u, c.chunk_size);  // picks by the job's hosts (AutoChunkBytes)
  EXPECT_EQ("WARN", c.debug);
}

TEST(Config, ParsesSizesAndIntegers) {
  Config c;
  ASSERT_TRUE(Config::Load(TableLookup({{"WEFT_CHUNK_SIZE", "64K"},
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
  Status s = Config::Load(TableLookup({{"WEFT_CHUNK_SIZE", "lots"}}), &c);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("WEFT_CHUNK_SIZE"));
  s = Config::Load(TableLookup({{"WEFT_TIMEOUT_MS", "12abc"}}), &c);
  EXPECT_EQ(weftInvalidArgument, s.code());
  s = Config::Load(TableLookup({{"WEFT_BUFFSIZE", "99999999999999999999G"}}), &c);
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
  ASSERT_TRUE(Config::Load(TableLookup({}), &c).ok());
  for (const ConfigVar& v : ConfigTable()) {
    EXPECT_GT(std::string(v.help).size(), 10u) << v.name;
    EXPECT_EQ(0, std::string(v.name).rfind("WEFT_", 0)) << v.name;
  }
}

// Every row names its range, and its default lies within it.
TEST(ConfigLimits, EveryDefaultIsWithinItsRange) {
  Config c;
  ASSERT_TRUE(Config::Load(TableLookup({}), &c).ok());
  EXPECT_TRUE(c.Check().ok()) << c.Check().message();
  for (const ConfigVar& v : ConfigTable())
    EXPECT_FALSE(v.limits.Describe().empty()) << v.name;
}

// Values at 0, negative, huge and malformed: each is weftInvalidArgument naming the
// variable and the value (parsing or the range), and a value that only fails the range
// says the range.
TEST(ConfigLimits, OutOfRangeValuesAreRefusedNamingVariableValueAndRange) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"WEFT_CHUNK_SIZE", "100G", "WEFT_CHUNK_SIZE=100G: the range is 0 or 64..64M bytes"},
      {"WEFT_CHUNK_SIZE", "1", "WEFT_CHUNK_SIZE=1: the range is"},
      {"WEFT_CHUNK_SIZE", "-1", "WEFT_CHUNK_SIZE='-1' is not a size"},
      {"WEFT_TIMEOUT_MS", "0", "WEFT_TIMEOUT_MS=0: the range is 1..604800000 ms"},
      {"WEFT_TIMEOUT_MS", "-1", "WEFT_TIMEOUT_MS=-1: the range is"},
      {"WEFT_TIMEOUT_MS", "99999999999", "WEFT_TIMEOUT_MS=99999999999: the range is"},
      {"WEFT_NCHANNELS", "1000", "WEFT_NCHANNELS=1000: the range is 0..32"},
      {"WEFT_NCHANNELS", "-2", "WEFT_NCHANNELS=-2"},
      {"WEFT_BUFFSIZE", "0", "WEFT_BUFFSIZE=0: the range is 64..1G bytes"},
      {"WEFT_BUFFSIZE", "64G", "WEFT_BUFFSIZE=64G"},
      {"WEFT_ONE_SHOT_MAX_BYTES", "2M", "WEFT_ONE_SHOT_MAX_BYTES=2M: the range is 0..1M bytes"},
      {"WEFT_CUDA_STAGING_PIECE", "16", "WEFT_CUDA_STAGING_PIECE=16"},
      {"WEFT_SPIN_US", "-5", "WEFT_SPIN_US=-5: the range is 0..1000000 us"},
      {"WEFT_MEMORY_LIMIT", "1M", "WEFT_MEMORY_LIMIT=1M"},
      {"WEFT_RANK", "-7", "WEFT_RANK=-7"},
      {"WEFT_DEBUG", "LOUD", "WEFT_DEBUG='LOUD': not one of NONE, WARN, INFO, TRACE"},
      {"WEFT_DEBUG_SUBSYS", "INIT,FOO", "WEFT_DEBUG_SUBSYS='INIT,FOO': 'FOO' is not one of"},
      {"WEFT_DEBUG_FILE", "/no-such-folder/weft.log", "the folder '/no-such-folder/'"},
      {"WEFT_TUNE_FILE", "/no-such-file", "WEFT_TUNE_FILE='/no-such-file': no such file"},
      {"WEFT_ROOT", "node1", "WEFT_ROOT='node1': not host:port"},
      {"WEFT_ROOT", "node1:70000", "the port is not 1..65535"},
      {"WEFT_SOCKET_ADDR", "10.0.0", "not an IPv4 address"},
      {"WEFT_SECRET", "0123456789abcdef0123456789abcdeg", "WEFT_SECRET=(hidden): a secret is"},
      {"WEFT_SECRET", "0123", "WEFT_SECRET=(hidden)"},
      {"WEFT_HOSTID", std::string(300, 'h'), "at most 255"},
  };
  for (const auto& [name, value, expected] : cases) {
    Config c;
    Status s = Config::Load(TableLookup({{name, value}}), &c);
    if (s.ok()) s = c.Check();
    EXPECT_EQ(weftInvalidArgument, s.code()) << name << "=" << value;
    EXPECT_NE(std::string::npos, s.message().find(expected)) << s.message();
    if (name == "WEFT_SECRET")
      EXPECT_EQ(std::string::npos, s.message().find(value)) << "the secret is never shown";
  }
}

TEST(ConfigLimits, ValuesWithinTheirRangesAreAccepted) {
  Config c;
  ASSERT_TRUE(Config::Load(TableLookup({{"WEFT_CHUNK_SIZE", "64M"},
                                        {"WEFT_TIMEOUT_MS", "1"},
                                        {"WEFT_NCHANNELS", "32"},
                                        {"WEFT_DEBUG", "info"},
                                        {"WEFT_DEBUG_SUBSYS", "init,Coll"},
                                        {"WEFT_ROOT", "node1:29500"},
                                        {"WEFT_SECRET", "0123456789abcdef0123456789ABCDEF"},
                                        {"WEFT_RANK", "-1"}}),
                           &c)
                  .ok());
  EXPECT_TRUE(c.Check().ok()) << c.Check().message();
}

// WEFT_SECRET_FILE: only a file of this user that no one else may read, holding a secret.
TEST(ConfigLimits, SecretFileMustBePrivateAndHoldASecret) {
  char path[] = "/tmp/weft-secret-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string secret = "00112233445566778899aabbccddeeff\n";
  ASSERT_EQ(static_cast<ssize_t>(secret.size()), write(fd, secret.data(), secret.size()));
  close(fd);
  std::string hex, why;
  ASSERT_EQ(0, chmod(path, 0600));
  EXPECT_TRUE(ReadSecretFile(path, &hex, &why)) << why;
  EXPECT_EQ("00112233445566778899aabbccddeeff", hex);
  ASSERT_EQ(0, chmod(path, 0644));
  EXPECT_FALSE(ReadSecretFile(path, &hex, &why));
  EXPECT_NE(std::string::npos, why.find("chmod 600")) << why;
  Config c;
  ASSERT_TRUE(Config::Load(TableLookup({{"WEFT_SECRET_FILE", path}}), &c).ok());
  EXPECT_EQ(weftInvalidArgument, c.Check().code());
  unlink(path);
  EXPECT_FALSE(ReadSecretFile(path, &hex, &why));
}

}  // namespace
}  // namespace weft
