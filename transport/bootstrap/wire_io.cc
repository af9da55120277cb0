#include "transport/bootstrap/wire_io.h"

namespace weft {

Status SendWireMessage(const Socket& s, MsgType type, const std::vector<uint8_t>& payload,
                       Deadline deadline) {
  WireHeader h{kWireMagic, static_cast<uint16_t>(type), 0, static_cast<uint32_t>(payload.size())};
  WEFT_CHECK(s.SendAll(&h, sizeof(h), deadline));
  if (!payload.empty()) WEFT_CHECK(s.SendAll(payload.data(), payload.size(), deadline));
  return Status::Ok();
}

Status ReceiveWireMessage(const Socket& s, MsgType expected, std::vector<uint8_t>* payload,
                          Deadline deadline) {
  WireHeader h;
  WEFT_CHECK(s.RecvAll(&h, sizeof(h), deadline));
  WEFT_CHECK(CheckHeader(h));
  WEFT_REQUIRE(h.type == static_cast<uint16_t>(expected), weftRemoteError,
               "bootstrap message of type %u where %u was expected", h.type,
               static_cast<unsigned>(expected));
  payload->resize(h.length);
  if (h.length > 0) WEFT_CHECK(s.RecvAll(payload->data(), h.length, deadline));
  return Status::Ok();
}

}  // namespace weft
