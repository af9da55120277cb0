#include "transport/bootstrap/unique_id.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace weft {
namespace {
constexpr char kMagic[8] = {'W', 'E', 'F', 'T', 'U', 'I', 'D', '1'};
// Layout: magic[8] | version u32 | addr u32 (network order) | port u16 (network order) |
// pad u16 | secret[16] | zeros.
constexpr size_t kVersionAt = 8, kAddrAt = 12, kPortAt = 16, kSecretAt = 20;
}  // namespace

void EncodeUniqueId(const UniqueIdData& data, weftUniqueId* id) {
  std::memset(id->internal, 0, sizeof(id->internal));
  std::memcpy(id->internal, kMagic, sizeof(kMagic));
  std::memcpy(id->internal + kVersionAt, &data.version, 4);
  std::memcpy(id->internal + kAddrAt, &data.root.sin_addr.s_addr, 4);
  std::memcpy(id->internal + kPortAt, &data.root.sin_port, 2);
  std::memcpy(id->internal + kSecretAt, data.secret.data(), data.secret.size());
}

Status DecodeUniqueId(const weftUniqueId& id, UniqueIdData* data) {
  WEFT_REQUIRE(std::memcmp(id.internal, kMagic, sizeof(kMagic)) == 0, weftInvalidArgument,
               "the unique id was not made by weftGetUniqueId (bad magic)");
  UniqueIdData d;
  std::memcpy(&d.version, id.internal + kVersionAt, 4);
  WEFT_REQUIRE(d.version == kBootstrapProtocolVersion, weftInvalidArgument,
               "unique id has protocol version %u, this library speaks %u", d.version,
               kBootstrapProtocolVersion);
  d.root.sin_family = AF_INET;
  std::memcpy(&d.root.sin_addr.s_addr, id.internal + kAddrAt, 4);
  std::memcpy(&d.root.sin_port, id.internal + kPortAt, 2);
  WEFT_REQUIRE(d.root.sin_port != 0, weftInvalidArgument, "unique id has no root port");
  std::memcpy(d.secret.data(), id.internal + kSecretAt, d.secret.size());
  *data = d;
  return Status::Ok();
}

Status RandomSecret(std::array<uint8_t, 16>* secret) {
  size_t got = 0;
  while (got < secret->size()) {
    ssize_t n = getrandom(secret->data() + got, secret->size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("getrandom");
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

bool SameSecret(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b) {
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace weft
