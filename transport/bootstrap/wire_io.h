// Bootstrap messages on a socket: a header, then the payload, every wait bounded.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "transport/bootstrap/socket.h"
#include "transport/bootstrap/wire.h"

namespace weft {

Status SendWireMessage(const Socket& s, MsgType type, const std::vector<uint8_t>& payload,
                       Deadline deadline);
// One message of type `expected`: its header checked (CheckHeader), its payload read.
Status ReceiveWireMessage(const Socket& s, MsgType expected, std::vector<uint8_t>* payload,
                          Deadline deadline);

}  // namespace weft
