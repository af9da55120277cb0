// The bootstrap's parsers never trust their input.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "transport/bootstrap/unique_id.h"
#include "transport/bootstrap/wire.h"

namespace weft {
namespace {

TEST(Wire, HeaderLimitsPerType) {
  WireHeader h{kWireMagic, static_cast<uint16_t>(MsgType::kHello), 0, 28};
  EXPECT_TRUE(CheckHeader(h).ok());
  h.length = 29;
  EXPECT_FALSE(CheckHeader(h).ok());
  h = {kWireMagic, static_cast<uint16_t>(MsgType::kContribute), 0, 0xffffffffu};
  EXPECT_FALSE(CheckHeader(h).ok());
  h = {0xdeadbeef, static_cast<uint16_t>(MsgType::kBye), 0, 0};
  EXPECT_FALSE(CheckHeader(h).ok());
  h = {kWireMagic, 77, 0, 0};
  EXPECT_FALSE(CheckHeader(h).ok());
}

TEST(Wire, GatheredRoundTripAndTruncation) {
  std::vector<std::vector<uint8_t>> parts = {{1, 2, 3}, {}, {9}};
  std::vector<uint8_t> payload = EncodeGathered(parts);
  std::vector<std::vector<uint8_t>> back;
  ASSERT_TRUE(DecodeGathered(payload, 3, &back).ok());
  EXPECT_EQ(parts, back);
  EXPECT_FALSE(DecodeGathered(payload, 2, &back).ok());
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    std::vector<uint8_t> shorter(payload.begin(), payload.begin() + cut);
    EXPECT_FALSE(DecodeGathered(shorter, 3, &back).ok()) << cut;
  }
  payload.push_back(0);
  EXPECT_FALSE(DecodeGathered(payload, 3, &back).ok());
}

TEST(Wire, RandomBytesNeverCrashTheParsers) {
  std::mt19937 gen(3);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes(gen() % 64);
    for (auto& b : bytes)
      b = static_cast<uint8_t>(gen());
    if (i % 2 == 0 && bytes.size() >= 4) bytes[0] = 2, bytes[1] = bytes[2] = bytes[3] = 0;
    std::vector<std::vector<uint8_t>> parts;
    (void)DecodeGathered(bytes, 2, &parts);
    Hello hello;
    (void)DecodeHello(bytes, &hello);
  }
}

// A stall report round-trips; its text is logged by the root, so it comes out printable and
// bounded whatever a rank sent.
TEST(Wire, StallReportRoundTripPrintableAndBounded) {
  StallReport r{57, "allreduce #57: waiting for rank 2"};
  StallReport back;
  ASSERT_TRUE(DecodeStall(EncodeStall(r), &back).ok());
  EXPECT_EQ(57u, back.completed_calls);
  EXPECT_EQ(r.waiting, back.waiting);
  std::vector<uint8_t> raw = EncodeStall({1, "ab"});
  raw[8] = '\n';
  raw[9] = 0x80;
  ASSERT_TRUE(DecodeStall(raw, &back).ok());
  EXPECT_EQ("??", back.waiting);
  EXPECT_EQ(8 + kMaxStallText, EncodeStall({1, std::string(5000, 'x')}).size());
  EXPECT_FALSE(DecodeStall(std::vector<uint8_t>(7), &back).ok());
  EXPECT_FALSE(DecodeStall(std::vector<uint8_t>(9 + kMaxStallText), &back).ok());
  WireHeader h{kWireMagic, static_cast<uint16_t>(MsgType::kStalled), 0, 8 + kMaxStallText + 1};
  EXPECT_FALSE(CheckHeader(h).ok());
}

TEST(UniqueId, RoundTripAndRejection) {
  UniqueIdData d;
  d.root.sin_family = AF_INET;
  d.root.sin_port = htons(4242);
  d.root.sin_addr.s_addr = htonl(0x7f000001);
  ASSERT_TRUE(RandomSecret(&d.secret).ok());
  weftUniqueId id;
  EncodeUniqueId(d, &id);
  UniqueIdData back;
  ASSERT_TRUE(DecodeUniqueId(id, &back).ok());
  EXPECT_EQ(d.secret, back.secret);
  EXPECT_EQ(d.root.sin_port, back.root.sin_port);
  EXPECT_EQ(d.root.sin_addr.s_addr, back.root.sin_addr.s_addr);
  weftUniqueId bad = id;
  bad.internal[0] = 'X';
  EXPECT_EQ(weftInvalidArgument, DecodeUniqueId(bad, &back).code());
  bad = id;
  bad.internal[8] = 99;  // protocol version
  EXPECT_EQ(weftInvalidArgument, DecodeUniqueId(bad, &back).code());
}

}  // namespace
}  // namespace weft
