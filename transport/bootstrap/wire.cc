#include "transport/bootstrap/wire.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace weft {

Status CheckHeader(const WireHeader& h) {
  WEFT_REQUIRE(h.magic == kWireMagic, weftRemoteError, "bootstrap message has bad magic 0x%08x",
               h.magic);
  uint32_t limit = 0;
  switch (static_cast<MsgType>(h.type)) {
    case MsgType::kHello:
      limit = kHelloBytes;
      break;
    case MsgType::kContribute:
      limit = kMaxContribution;
      break;
    case MsgType::kGathered:
      limit = kMaxPayload;
      break;
    case MsgType::kBye:
      limit = 0;
      break;
    case MsgType::kError:
    case MsgType::kShrinkFailed:
    case MsgType::kPeerShrinkReply:
    case MsgType::kPeerShrinkDone:
      limit = 4096;
      break;
    case MsgType::kShrink:
      limit = 4 + 4 * kMaxShrinkExcluded + kMaxContribution;
      break;
    case MsgType::kPeerShrink:
      limit = 24 + 4 + 4 * kMaxShrinkExcluded + kMaxContribution;
      break;
    case MsgType::kStalled:
      limit = 8 + kMaxStallText;
      break;
    case MsgType::kStallVerdict:
      limit = 4096;
      break;
    default:
      return RemoteError(Format("bootstrap message has unknown type %u", h.type));
  }
  WEFT_REQUIRE(h.length <= limit, weftRemoteError,
               "bootstrap message of type %u claims %u bytes (limit %u)", h.type, h.length, limit);
  return Status::Ok();
}

std::vector<uint8_t> EncodeHello(const Hello& h) {
  std::vector<uint8_t> out(kHelloBytes);
  std::memcpy(out.data(), h.secret.data(), 16);
  std::memcpy(out.data() + 16, &h.rank, 4);
  std::memcpy(out.data() + 20, &h.nranks, 4);
  std::memcpy(out.data() + 24, &h.version, 4);
  return out;
}

std::vector<uint8_t> EncodeStall(const StallReport& r) {
  const std::string text = r.waiting.substr(0, kMaxStallText);
  std::vector<uint8_t> out(8 + text.size());
  std::memcpy(out.data(), &r.completed_calls, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  return out;
}

Status DecodeStall(const std::vector<uint8_t>& payload, StallReport* out) {
  WEFT_REQUIRE(payload.size() >= 8 && payload.size() <= 8 + kMaxStallText, weftRemoteError,
               "stall report of %zu bytes", payload.size());
  std::memcpy(&out->completed_calls, payload.data(), 8);
  out->waiting.assign(payload.begin() + 8, payload.end());
  for (char& c : out->waiting)
    if (c < 32 || c > 126) c = '?';  // it is logged: printable only
  return Status::Ok();
}

Status DecodeHello(const std::vector<uint8_t>& payload, Hello* out) {
  WEFT_REQUIRE(payload.size() == kHelloBytes, weftRemoteError, "hello of %zu bytes (expected %u)",
               payload.size(), kHelloBytes);
  std::memcpy(out->secret.data(), payload.data(), 16);
  std::memcpy(&out->rank, payload.data() + 16, 4);
  std::memcpy(&out->nranks, payload.data() + 20, 4);
  std::memcpy(&out->version, payload.data() + 24, 4);
  return Status::Ok();
}

std::vector<uint8_t> EncodeShrink(const ShrinkRequest& r) {
  const uint32_t n = static_cast<uint32_t>(r.excluded.size());
  std::vector<uint8_t> out(4 + 4 * r.excluded.size() + r.data.size());
  std::memcpy(out.data(), &n, 4);
  if (n > 0) std::memcpy(out.data() + 4, r.excluded.data(), 4 * r.excluded.size());
  if (!r.data.empty()) std::memcpy(out.data() + 4 + 4 * n, r.data.data(), r.data.size());
  return out;
}

Status DecodeShrink(const std::vector<uint8_t>& payload, int nranks, ShrinkRequest* out) {
  WEFT_REQUIRE(payload.size() >= 4, weftRemoteError, "shrink message too short");
  uint32_t n;
  std::memcpy(&n, payload.data(), 4);
  WEFT_REQUIRE(n <= kMaxShrinkExcluded && n < static_cast<uint32_t>(std::max(nranks, 1)) &&
                   payload.size() - 4 >= 4 * size_t{n},
               weftRemoteError, "shrink message excludes %u of %d ranks, in %zu bytes", n, nranks,
               payload.size());
  out->excluded.resize(n);
  if (n > 0) std::memcpy(out->excluded.data(), payload.data() + 4, 4 * size_t{n});
  for (uint32_t i = 0; i < n; ++i)
    WEFT_REQUIRE(out->excluded[i] >= 0 && out->excluded[i] < nranks &&
                     (i == 0 || out->excluded[i] > out->excluded[i - 1]),
                 weftRemoteError, "shrink message: excluded ranks not ascending ranks of %d",
                 nranks);
  const size_t at = 4 + 4 * size_t{n};
  WEFT_REQUIRE(payload.size() - at <= kMaxContribution, weftRemoteError,
               "shrink message carries %zu bytes", payload.size() - at);
  out->data.assign(payload.begin() + at, payload.end());
  return Status::Ok();
}

std::vector<uint8_t> EncodePeerShrinkOffer(const PeerShrinkOffer& o) {
  std::vector<uint8_t> out(24);
  std::memcpy(out.data(), o.secret.data(), 16);
  std::memcpy(out.data() + 16, &o.round, 4);
  std::memcpy(out.data() + 20, &o.leader, 4);
  const std::vector<uint8_t> request = EncodeShrink(o.request);
  out.insert(out.end(), request.begin(), request.end());
  return out;
}

Status DecodePeerShrinkOffer(const std::vector<uint8_t>& payload, int nranks,
                             PeerShrinkOffer* out) {
  WEFT_REQUIRE(payload.size() >= 24, weftRemoteError, "shrink offer of %zu bytes is too short",
               payload.size());
  std::memcpy(out->secret.data(), payload.data(), 16);
  std::memcpy(&out->round, payload.data() + 16, 4);
  std::memcpy(&out->leader, payload.data() + 20, 4);
  WEFT_REQUIRE(out->leader >= 0 && out->leader < nranks, weftRemoteError,
               "shrink offer from rank %d of %d", out->leader, nranks);
  return DecodeShrink(std::vector<uint8_t>(payload.begin() + 24, payload.end()), nranks,
                      &out->request);
}

std::vector<uint8_t> EncodeVerdict(const Status& s) {
  const std::string& why = s.message();
  const size_t text = std::min<size_t>(why.size(), 4000);
  std::vector<uint8_t> out(1 + text);
  out[0] = static_cast<uint8_t>(s.code());
  if (text > 0) std::memcpy(out.data() + 1, why.data(), text);
  return out;
}

Status DecodeVerdict(const std::vector<uint8_t>& payload, Status* out) {
  WEFT_REQUIRE(!payload.empty(), weftRemoteError, "empty verdict");
  const std::string why(payload.begin() + 1, payload.end());
  switch (payload[0]) {
    case weftSuccess:
      *out = Status::Ok();
      return Status::Ok();
    case weftInvalidUsage:
      *out = Status(weftInvalidUsage, why);
      return Status::Ok();
    default:  // whatever else the peer says, for this rank it is the peer's failure
      *out = Status(weftRemoteError, why);
      return Status::Ok();
  }
}

std::vector<uint8_t> EncodeGathered(const std::vector<std::vector<uint8_t>>& parts) {
  size_t total = 4;
  for (const auto& p : parts)
    total += 4 + p.size();
  std::vector<uint8_t> out(total);
  uint32_t n = static_cast<uint32_t>(parts.size());
  std::memcpy(out.data(), &n, 4);
  size_t at = 4;
  for (const auto& p : parts) {
    uint32_t len = static_cast<uint32_t>(p.size());
    std::memcpy(out.data() + at, &len, 4);
    if (len > 0) std::memcpy(out.data() + at + 4, p.data(), len);
    at += 4 + len;
  }
  return out;
}

Status DecodeGathered(const std::vector<uint8_t>& payload, int nranks,
                      std::vector<std::vector<uint8_t>>* parts) {
  WEFT_REQUIRE(payload.size() >= 4, weftRemoteError, "gathered message too short");
  uint32_t n;
  std::memcpy(&n, payload.data(), 4);
  WEFT_REQUIRE(static_cast<int>(n) == nranks, weftRemoteError,
               "gathered message has %u parts, expected %d", n, nranks);
  parts->assign(n, {});
  size_t at = 4;
  for (uint32_t i = 0; i < n; ++i) {
    WEFT_REQUIRE(payload.size() - at >= 4, weftRemoteError, "gathered message truncated");
    uint32_t len;
    std::memcpy(&len, payload.data() + at, 4);
    at += 4;
    WEFT_REQUIRE(payload.size() - at >= len, weftRemoteError, "gathered message truncated");
    (*parts)[i].assign(payload.begin() + at, payload.begin() + at + len);
    at += len;
  }
  WEFT_REQUIRE(at == payload.size(), weftRemoteError, "gathered message has trailing bytes");
  return Status::Ok();
}

}  // namespace weft
