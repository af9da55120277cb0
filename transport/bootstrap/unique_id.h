// The 128-byte unique id: where the bootstrap root listens, a random secret that every
// rank must prove, and the protocol version.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>

#include "common/status.h"
#include "weft/weft.h"

namespace weft {

constexpr uint32_t kBootstrapProtocolVersion = 1;

struct UniqueIdData {
  sockaddr_in root{};
  std::array<uint8_t, 16> secret{};
  uint32_t version = kBootstrapProtocolVersion;
};

void EncodeUniqueId(const UniqueIdData& data, weftUniqueId* id);
// Fails with weftInvalidArgument for ids not made by weftGetUniqueId of this version.
Status DecodeUniqueId(const weftUniqueId& id, UniqueIdData* data);

// 16 bytes from the kernel's random source (no weaker fallback: an error if it fails).
Status RandomSecret(std::array<uint8_t, 16>* secret);

// Secrets compared in constant time: how many leading bytes match never shows in timing.
bool SameSecret(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b);

}  // namespace weft
