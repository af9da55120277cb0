#include "transport/shm/shared_buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

namespace weft {
namespace {

constexpr uint64_t kMagic = 0x5745465453484d42ull;  // "WEFTSHMB"
constexpr const char* kFileName = "weft-buffer";

struct Header {
  uint64_t magic;
  uint64_t nonce;
  uint64_t file_bytes;
  int32_t fd;
};

uint64_t NewNonce() {
  uint64_t n = 0;
  while (n == 0)
    if (getrandom(&n, sizeof(n), 0) != static_cast<ssize_t>(sizeof(n))) n = 0;
  return n;
}

}  // namespace

Status AllocateSharedBuffer(size_t bytes, void** out) {
  WEFT_REQUIRE(out != nullptr, weftInvalidArgument, "the pointer to fill is NULL");
  *out = nullptr;
  WEFT_REQUIRE(bytes > 0 && bytes <= (size_t{1} << 46), weftInvalidArgument,
               "cannot allocate %zu bytes (1 byte to 64 TiB)", bytes);
  const int fd = memfd_create(kFileName, MFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("memfd_create");
  const size_t page = kSharedBufferHeaderBytes;
  const size_t file_bytes = page + (bytes + page - 1) / page * page;
  if (ftruncate(fd, static_cast<off_t>(file_bytes)) != 0) {
    Status s = ErrnoStatus(Format("sizing a %zu-byte memory file", file_bytes).c_str());
    close(fd);
    return s;
  }
  void* base = mmap(nullptr, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    Status s = ErrnoStatus(Format("mapping a %zu-byte memory file", file_bytes).c_str());
    close(fd);
    return s;
  }
  auto* h = static_cast<Header*>(base);
  h->nonce = NewNonce();
  h->file_bytes = file_bytes;
  h->fd = fd;
  h->magic = kMagic;
  *out = static_cast<std::byte*>(base) + page;
  return Status::Ok();
}

Status FreeSharedBuffer(void* p) {
  if (p == nullptr) return Status::Ok();
  SharedRange range;
  WEFT_CHECK(FindSharedBuffer(p, 1, &range));
  WEFT_REQUIRE(range.offset == kSharedBufferHeaderBytes, weftInvalidArgument,
               "%p is inside a buffer from weftMemAlloc, not its start", p);
  std::byte* base = static_cast<std::byte*>(p) - kSharedBufferHeaderBytes;
  static_cast<Header*>(static_cast<void*>(base))->magic = 0;
  munmap(base, range.file_bytes);
  close(range.fd);
  return Status::Ok();
}

Status FindSharedBuffer(const void* p, size_t bytes, SharedRange* out) {
  *out = SharedRange();
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return ErrnoStatus("opening /proc/self/maps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  char line[512];
  bool found = false;
  uintptr_t lo = 0, hi = 0;
  while (std::fgets(line, sizeof(line), maps) != nullptr) {
    unsigned long long start = 0, end = 0, file_offset = 0;
    char perms[8] = {};
    int path_at = 0;
    if (std::sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &file_offset,
                    &path_at) < 4)
      continue;
    if (at < start || at >= end) continue;
    const std::string path = path_at > 0 ? line + path_at : "";
    found = perms[3] == 's' && file_offset == 0 &&
            path.rfind(std::string("/memfd:") + kFileName, 0) == 0;
    lo = start, hi = end;
    break;
  }
  std::fclose(maps);
  WEFT_REQUIRE(found, weftInvalidArgument, "%p is not in a buffer from weftMemAlloc", p);
  const auto* h = reinterpret_cast<const Header*>(lo);
  WEFT_REQUIRE(h->magic == kMagic && h->file_bytes == hi - lo, weftInvalidArgument,
               "%p is not in a buffer from weftMemAlloc (no header)", p);
  WEFT_REQUIRE(at >= lo + kSharedBufferHeaderBytes && bytes <= hi - at, weftInvalidArgument,
               "%zu bytes at %p run past the weftMemAlloc buffer it starts in", bytes, p);
  out->nonce = h->nonce;
  out->fd = h->fd;
  out->file_bytes = h->file_bytes;
  out->offset = at - lo;
  return Status::Ok();
}

PeerMappings::~PeerMappings() {
  for (const Mapping& m : maps_)
    munmap(m.base, m.bytes);
}

Status PeerMappings::Map(pid_t pid, const SharedRange& range, std::byte** at) {
  *at = nullptr;
  ++clock_;
  for (Mapping& m : maps_) {
    if (m.pid != pid || m.nonce != range.nonce) continue;
    WEFT_REQUIRE(range.offset < m.bytes, weftInternalError,
                 "offset %" PRIu64 " past a %" PRIu64 "-byte peer buffer", range.offset, m.bytes);
    m.last_use = clock_;
    *at = m.base + range.offset;
    return Status::Ok();
  }
  const std::string path = Format("/proc/%d/fd/%d", static_cast<int>(pid), range.fd);
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(("opening " + path).c_str());
  struct stat st {};
  void* base = MAP_FAILED;
  if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == range.file_bytes)
    base = mmap(nullptr, range.file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  WEFT_REQUIRE(base != MAP_FAILED, weftSystemError, "cannot map %s (%" PRIu64 " bytes)",
               path.c_str(), range.file_bytes);
  const auto* h = static_cast<const Header*>(base);
  if (h->magic != kMagic || h->nonce != range.nonce || range.offset >= range.file_bytes) {
    munmap(base, range.file_bytes);
    return SystemError(
        Format("%s is not the buffer the peer posted (freed meanwhile?)", path.c_str()));
  }
  if (maps_.size() >= max_) {
    auto oldest = maps_.begin();
    for (auto it = maps_.begin(); it != maps_.end(); ++it)
      if (it->last_use < oldest->last_use) oldest = it;
    munmap(oldest->base, oldest->bytes);
    maps_.erase(oldest);
  }
  maps_.push_back({pid, range.nonce, static_cast<std::byte*>(base), range.file_bytes, clock_});
  *at = static_cast<std::byte*>(base) + range.offset;
  return Status::Ok();
}

}  // namespace weft
