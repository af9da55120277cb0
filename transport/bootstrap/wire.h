// Bootstrap wire format: a fixed header and a length-checked payload. Parsing never trusts
// the peer: every length is checked against the bytes present and a hard limit.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace weft {

enum class MsgType : uint16_t {
  kHello = 1,         // client -> root: secret, rank, nranks, version
  kContribute = 2,    // client -> root: this rank's bytes for an allgather round
  kGathered = 3,      // root -> client: every rank's bytes of the round
  kBye = 4,           // client -> root: leaving cleanly
  kError = 5,         // root -> client: text; the job cannot continue
  kShrink = 6,        // client -> root: the ranks it excludes and its bytes for the round
  kShrinkFailed = 7,  // root -> client: text; this shrink round cannot complete
  // A shrink that leaves out rank 0 (and the root in its process), rank to rank: the lowest
  // rank left offers the round to each other rank through that rank's own listener.
  kPeerShrink = 8,       // leader -> rank: secret, round, leader, excluded, leader's bytes
  kPeerShrinkReply = 9,  // rank -> leader: a verdict (agrees, or why not)
  kPeerShrinkDone = 10,  // leader -> rank: a verdict for the whole round
  // A collective timed out: the rank says where it is, and the root, once every rank has
  // said so or a short window has passed, tells each which ranks did not (stall.h).
  kStalled = 11,       // client -> root: a StallReport
  kStallVerdict = 12,  // root -> client: text naming the ranks that stopped
};

constexpr uint32_t kWireMagic = 0x57465442;  // "WFTB"
constexpr uint32_t kMaxPayload = 64u << 20;  // allgather results of many ranks fit
constexpr uint32_t kMaxContribution = 1u << 20;
constexpr uint32_t kMaxShrinkExcluded = 1u << 16;

struct WireHeader {
  uint32_t magic;
  uint16_t type;
  uint16_t reserved;
  uint32_t length;  // payload bytes
};
static_assert(sizeof(WireHeader) == 12, "wire header is packed");

// Checks a received header: magic, known type, length within limits for its type.
Status CheckHeader(const WireHeader& h);

constexpr uint32_t kHelloBytes = 28;  // a hello's payload, exactly

struct Hello {
  std::array<uint8_t, 16> secret{};
  int32_t rank = 0;
  int32_t nranks = 0;
  uint32_t version = 0;
};
std::vector<uint8_t> EncodeHello(const Hello& h);
Status DecodeHello(const std::vector<uint8_t>& payload, Hello* out);

// kStalled payload: the number of calls the rank had completed, then what it waits for.
constexpr uint32_t kMaxStallText = 512;
struct StallReport {
  uint64_t completed_calls = 0;
  std::string waiting;  // "allreduce #57: rank 1's chunk 3 (ring step 2)"
};
std::vector<uint8_t> EncodeStall(const StallReport& r);
// How long the root gathers stall reports after the first: the ranks of a stuck call time
// out within moments of each other.
inline int64_t StallWindowMs(int64_t timeout_ms) {
  return timeout_ms / 10 < 1000 ? 1000 : timeout_ms / 10 > 10000 ? 10000 : timeout_ms / 10;
}
Status DecodeStall(const std::vector<uint8_t>& payload, StallReport* out);

// kShrink payload: u32 count, count i32 ranks (ascending, distinct, below nranks), then
// the rest is the rank's bytes for the round (at most kMaxContribution).
struct ShrinkRequest {
  std::vector<int32_t> excluded;
  std::vector<uint8_t> data;
};
std::vector<uint8_t> EncodeShrink(const ShrinkRequest& r);
Status DecodeShrink(const std::vector<uint8_t>& payload, int nranks, ShrinkRequest* out);

// kPeerShrink payload: the job's secret, the round (each communicator counts its shrinks
// without the root), the leader's rank, then a kShrink payload.
struct PeerShrinkOffer {
  std::array<uint8_t, 16> secret{};
  uint32_t round = 0;
  int32_t leader = 0;
  ShrinkRequest request;
};
std::vector<uint8_t> EncodePeerShrinkOffer(const PeerShrinkOffer& o);
Status DecodePeerShrinkOffer(const std::vector<uint8_t>& payload, int nranks, PeerShrinkOffer* out);

// kShrinkFailed, kPeerShrinkReply and kPeerShrinkDone payload: a result code byte
// (weftSuccess, weftInvalidUsage or weftRemoteError), then text saying why.
std::vector<uint8_t> EncodeVerdict(const Status& s);
Status DecodeVerdict(const std::vector<uint8_t>& payload, Status* out);

// kGathered payload: nranks, then for each rank a u32 length and its bytes.
std::vector<uint8_t> EncodeGathered(const std::vector<std::vector<uint8_t>>& parts);
Status DecodeGathered(const std::vector<uint8_t>& payload, int nranks,
                      std::vector<std::vector<uint8_t>>* parts);

}  // namespace weft
