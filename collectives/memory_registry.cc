#include "collectives/memory_registry.h"

#include <algorithm>

namespace weft {

Status MemoryRegistry::Register(const void* p, size_t bytes, void** handle) {
  WEFT_REQUIRE(handle != nullptr, weftInvalidArgument, "handle is NULL");
  *handle = nullptr;
  WEFT_REQUIRE(p != nullptr && bytes > 0, weftInvalidArgument, "cannot register %zu bytes at %p",
               bytes, p);
  SharedRange range;
  WEFT_CHECK(FindSharedBuffer(p, bytes, &range));
  auto e = std::make_unique<Entry>(Entry{reinterpret_cast<uintptr_t>(p), bytes, range});
  *handle = e.get();
  entries_.push_back(std::move(e));
  return Status::Ok();
}

Status MemoryRegistry::Deregister(void* handle) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const std::unique_ptr<Entry>& e) { return e.get() == handle; });
  WEFT_REQUIRE(it != entries_.end(), weftInvalidArgument,
               "%p is not a registration of this communicator", handle);
  entries_.erase(it);
  return Status::Ok();
}

SharedRange MemoryRegistry::Find(const void* p, size_t bytes) const {
  const auto at = reinterpret_cast<uintptr_t>(p);
  for (const auto& e : entries_) {
    if (at < e->begin || at - e->begin > e->bytes || bytes > e->bytes - (at - e->begin)) continue;
    SharedRange r = e->range;
    r.offset += at - e->begin;
    return r;
  }
  return SharedRange();
}

}  // namespace weft
