#include "collectives/device/registration_cache.h"

#include <utility>

namespace weft {
namespace {

// The mailboxes are shared between processes: their words are read and written with atomic
// loads and stores (acquire and release), the rest in the seqlock order below.
uint64_t Load(const uint64_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
void Store(uint64_t* p, uint64_t v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

// A slot's fields are copied while the owner may be rewriting them (a seqlock: the
// generation, read again after, tells whether the copy held). Word by word and atomic, so
// the race is a defined one: the owner's stores release (a peer that sees a new word sees
// the even generation stored before it), the peer's loads acquire (its second read of the
// generation comes after them).
void CopyWords(void* dst, const void* src, size_t bytes, int store_order, int load_order) {
  auto* d = static_cast<uint64_t*>(dst);
  const auto* s = static_cast<const uint64_t*>(src);
  for (size_t i = 0; i < bytes / sizeof(uint64_t); ++i)
    __atomic_store_n(d + i, __atomic_load_n(s + i, load_order), store_order);
}

}  // namespace

RegistrationCache::RegistrationCache(int rank, std::vector<RegistrationMailbox*> mailboxes)
    : rank_(rank), mailboxes_(std::move(mailboxes)), entries_(kCachedWindows) {}

Status RegistrationCache::SlotOf(const Allocation& a, const ExportFn& export_handle,
                                 const IdFn& id_of, int* slot) {
  *slot = -1;
  int free_slot = -1;
  for (int s = 0; s < kCachedWindows; ++s) {
    Allocation& e = entries_[static_cast<size_t>(s)];
    if (e.buffer_id == a.buffer_id && e.base == a.base) {
      *slot = s;
      return Status::Ok();
    }
    // Another allocation where a published one was: the old one was freed.
    if (e.buffer_id != 0 && e.base == a.base) Retire(s);
    if (e.buffer_id == 0 && free_slot < 0) free_slot = s;
  }
  // Full: reclaim the slots of allocations that are gone.
  for (int s = 0; s < kCachedWindows && free_slot < 0; ++s) {
    const Allocation& e = entries_[static_cast<size_t>(s)];
    if (id_of(e.base) != e.buffer_id) {
      Retire(s);
      free_slot = s;
    }
  }
  if (free_slot < 0) return Status::Ok();  // every slot live: the caller stages
  alignas(8) uint8_t handle[64] = {};      // copied by words (CopyWords)
  WEFT_CHECK(export_handle(a, handle));
  Publish(free_slot, a, handle);
  *slot = free_slot;
  return Status::Ok();
}

// Seqlock order: the generation is even while the fields change, odd once they hold.
void RegistrationCache::Publish(int slot, const Allocation& a, const uint8_t handle[64]) {
  RegistrationMailbox* mine = mailboxes_[static_cast<size_t>(rank_)];
  PublishedAllocation& p = mine->slots[slot];
  const uint64_t g = Load(&p.generation);  // even: free
  __atomic_store_n(&p.base, a.base, __ATOMIC_RELEASE);
  __atomic_store_n(&p.bytes, a.bytes, __ATOMIC_RELEASE);
  CopyWords(p.handle, handle, sizeof(p.handle), __ATOMIC_RELEASE, __ATOMIC_RELAXED);
  Store(&p.generation, g + 1);
  Store(&mine->changes, Load(&mine->changes) + 1);
  entries_[static_cast<size_t>(slot)] = a;
}

void RegistrationCache::Retire(int slot) {
  RegistrationMailbox* mine = mailboxes_[static_cast<size_t>(rank_)];
  PublishedAllocation& p = mine->slots[slot];
  Store(&p.generation, Load(&p.generation) + 1);
  Store(&mine->changes, Load(&mine->changes) + 1);
  entries_[static_cast<size_t>(slot)] = Allocation();
}

int RegistrationCache::Find(const Allocation& a) const {
  for (int s = 0; s < kCachedWindows; ++s) {
    const Allocation& e = entries_[static_cast<size_t>(s)];
    if (a.buffer_id != 0 && e.buffer_id == a.buffer_id && e.base == a.base) return s;
  }
  return -1;
}

bool RegistrationCache::MappedByAll(int slot) const {
  if (slot < 0 || entries_[static_cast<size_t>(slot)].buffer_id == 0) return false;
  const uint64_t g = Load(&mailboxes_[static_cast<size_t>(rank_)]->slots[slot].generation);
  for (size_t q = 0; q < mailboxes_.size(); ++q)
    if (static_cast<int>(q) != rank_ && Load(&mailboxes_[q]->acks[rank_][slot]) != g) return false;
  return true;
}

int RegistrationCache::live() const {
  int n = 0;
  for (const Allocation& e : entries_)
    n += e.buffer_id != 0 ? 1 : 0;
  return n;
}

RegistrationImporter::RegistrationImporter(int rank, std::vector<RegistrationMailbox*> mailboxes)
    : rank_(rank),
      mailboxes_(std::move(mailboxes)),
      seen_changes_(mailboxes_.size(), 0),
      mapped_(mailboxes_.size(), std::vector<Mapped>(kCachedWindows)) {}

void RegistrationImporter::CloseAll(const CloseFn& close) {
  for (auto& peer : mapped_)
    for (Mapped& m : peer) {
      if (m.at != nullptr) close(m.at);
      m = Mapped();
    }
}

Status RegistrationImporter::Poll(const OpenFn& open, const CloseFn& close, const TableFn& table) {
  Status first_error;
  RegistrationMailbox* mine = mailboxes_[static_cast<size_t>(rank_)];
  for (size_t q = 0; q < mailboxes_.size(); ++q) {
    if (static_cast<int>(q) == rank_) continue;
    const RegistrationMailbox* peer = mailboxes_[q];
    const uint64_t changes = Load(&peer->changes);
    if (changes == seen_changes_[q]) continue;
    bool settled = true;  // every slot read whole (none changing under the read)
    for (int s = 0; s < kCachedWindows; ++s) {
      const PublishedAllocation& p = peer->slots[s];
      Mapped& m = mapped_[q][static_cast<size_t>(s)];
      const uint64_t g = Load(&p.generation);
      if (g == m.generation || (g % 2 == 0 && m.at == nullptr)) continue;
      if (m.at != nullptr) {  // retired or replaced: the owner's calls using it are done
        WEFT_CHECK(table(static_cast<int>(q), s, 0));
        close(m.at);
        m = Mapped();
        Store(&mine->acks[q][s], 0);
      }
      if (g % 2 == 0) {
        m.generation = g;
        continue;
      }
      PublishedAllocation copy;
      copy.base = __atomic_load_n(&p.base, __ATOMIC_ACQUIRE);
      copy.bytes = __atomic_load_n(&p.bytes, __ATOMIC_ACQUIRE);
      CopyWords(copy.handle, p.handle, sizeof(copy.handle), __ATOMIC_RELAXED, __ATOMIC_ACQUIRE);
      copy.generation = g;
      if (Load(&p.generation) != g) {  // republished while read: next time
        settled = false;
        continue;
      }
      void* at = nullptr;
      Status s_open = open(static_cast<int>(q), copy, &at);
      if (!s_open.ok()) {  // not acknowledged: the owner stages this buffer
        if (first_error.ok()) first_error = s_open;
        m.generation = g;  // not retried until it changes
        continue;
      }
      const Status s_table = table(static_cast<int>(q), s, reinterpret_cast<uintptr_t>(at));
      if (!s_table.ok()) {
        close(at);
        return s_table;
      }
      m.generation = g;
      m.at = at;
      Store(&mine->acks[q][s], g);
    }
    if (settled) seen_changes_[q] = changes;
  }
  return first_error;
}

}  // namespace weft
