// weftMemAlloc's shared buffers, the registry that finds them, and a peer's mappings of them
// (here the "peer" is this process, which may open its own descriptors through /proc).
#include "transport/shm/shared_buffer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "collectives/memory_registry.h"
#include "weft/weft.h"

namespace weft {
namespace {

TEST(SharedBuffer, AllocatedMemoryIsFoundWithItsFileAndOffset) {
  void* p = nullptr;
  ASSERT_TRUE(AllocateSharedBuffer(10000, &p).ok());
  ASSERT_NE(nullptr, p);
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(p) % 4096);
  std::memset(p, 7, 10000);
  SharedRange r;
  ASSERT_TRUE(FindSharedBuffer(static_cast<char*>(p) + 100, 9900, &r).ok());
  EXPECT_NE(0u, r.nonce);
  EXPECT_GE(r.fd, 0);
  EXPECT_EQ(kSharedBufferHeaderBytes + 100, r.offset);
  EXPECT_EQ(kSharedBufferHeaderBytes + 12288, r.file_bytes);
  // Past its end, or memory of another kind: refused with the reason.
  Status past = FindSharedBuffer(static_cast<char*>(p) + 100, 20000, &r);
  EXPECT_EQ(weftInvalidArgument, past.code());
  EXPECT_NE(std::string::npos, past.message().find("run past")) << past.message();
  std::vector<char> heap(100);
  Status other = FindSharedBuffer(heap.data(), heap.size(), &r);
  EXPECT_EQ(weftInvalidArgument, other.code());
  EXPECT_NE(std::string::npos, other.message().find("not in a buffer from weftMemAlloc"));
  EXPECT_EQ(weftInvalidArgument, FreeSharedBuffer(static_cast<char*>(p) + 4096).code());
  EXPECT_TRUE(FreeSharedBuffer(p).ok());
  EXPECT_TRUE(FreeSharedBuffer(nullptr).ok());
}

TEST(SharedBuffer, CApiRefusesBadArguments) {
  void* p = nullptr;
  EXPECT_EQ(weftInvalidArgument, weftMemAlloc(&p, 0));
  EXPECT_EQ(weftInvalidArgument, weftMemAlloc(nullptr, 64));
  ASSERT_EQ(weftSuccess, weftMemAlloc(&p, 64));
  EXPECT_EQ(0, static_cast<char*>(p)[63]);  // zeroed
  int on_stack = 0;
  EXPECT_EQ(weftInvalidArgument, weftMemFree(&on_stack));
  EXPECT_EQ(weftSuccess, weftMemFree(p));
}

TEST(SharedBuffer, RegistryFindsRegisteredRangesOnly) {
  void* p = nullptr;
  ASSERT_TRUE(AllocateSharedBuffer(1 << 20, &p).ok());
  MemoryRegistry reg;
  void* h = nullptr;
  char* c = static_cast<char*>(p);
  ASSERT_TRUE(reg.Register(c + 4096, 8192, &h).ok());
  EXPECT_EQ(kSharedBufferHeaderBytes + 4096 + 100, reg.Find(c + 4096 + 100, 100).offset);
  EXPECT_EQ(0u, reg.Find(c, 100).nonce);          // before the registered range
  EXPECT_EQ(0u, reg.Find(c + 4096, 8193).nonce);  // runs past it
  EXPECT_EQ(0u, reg.Find(c + 20000, 1).nonce);    // after it
  std::vector<char> heap(64);
  void* h2 = nullptr;
  EXPECT_EQ(weftInvalidArgument, reg.Register(heap.data(), heap.size(), &h2).code());
  EXPECT_TRUE(reg.Deregister(h).ok());
  EXPECT_EQ(weftInvalidArgument, reg.Deregister(h).code());
  EXPECT_EQ(0u, reg.Find(c + 4096, 1).nonce);
  EXPECT_TRUE(FreeSharedBuffer(p).ok());
}

TEST(PeerMappingsTest, MapsAPeersBufferOnceAndSeesItsWrites) {
  void* p = nullptr;
  ASSERT_TRUE(AllocateSharedBuffer(1 << 16, &p).ok());
  SharedRange r;
  ASSERT_TRUE(FindSharedBuffer(p, 1 << 16, &r).ok());
  PeerMappings maps(2);
  std::byte* at = nullptr;
  ASSERT_TRUE(maps.Map(getpid(), r, &at).ok());
  ASSERT_NE(nullptr, at);
  EXPECT_NE(static_cast<void*>(at), p);  // a mapping of its own
  static_cast<int*>(p)[5] = 42;
  EXPECT_EQ(42, reinterpret_cast<int*>(at)[5]);
  reinterpret_cast<int*>(at)[6] = 43;
  EXPECT_EQ(43, static_cast<int*>(p)[6]);
  std::byte* again = nullptr;
  r.offset += 8;
  ASSERT_TRUE(maps.Map(getpid(), r, &again).ok());
  EXPECT_EQ(at + 8, again);
  EXPECT_EQ(1u, maps.size());
  // A stale description (the nonce of a buffer freed meanwhile) is refused.
  SharedRange stale = r;
  stale.nonce ^= 1;
  std::byte* none = nullptr;
  Status s = maps.Map(getpid(), stale, &none);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string::npos, s.message().find("not the buffer the peer posted")) << s.message();
  EXPECT_EQ(nullptr, none);
  // At most two stay mapped.
  void* q[2] = {nullptr, nullptr};
  for (void*& b : q) {
    ASSERT_TRUE(AllocateSharedBuffer(4096, &b).ok());
    SharedRange rb;
    ASSERT_TRUE(FindSharedBuffer(b, 1, &rb).ok());
    ASSERT_TRUE(maps.Map(getpid(), rb, &none).ok());
  }
  EXPECT_EQ(2u, maps.size());
  for (void* b : q)
    EXPECT_TRUE(FreeSharedBuffer(b).ok());
  EXPECT_TRUE(FreeSharedBuffer(p).ok());
}

}  // namespace
}  // namespace weft
