// The registration cache of the direct kernel's staged mode (collectives/device/
// registration_cache.h) over plain memory, ranks as objects of one process: an owner
// publishes an allocation once, its peers map it at their next poll and acknowledge it, and
// only then may the owner let them read it in place; an allocation replaced at the same
// address, a full cache, a peer that cannot map, and an owner publishing while peers poll
// from other threads (the seqlock: no peer acknowledges what it read half-written).
#include "collectives/device/registration_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

namespace weft {
namespace {

// n ranks' mailboxes, each rank's owner and importer; the fake CUDA below maps an
// allocation to its base plus the peer's rank (so each peer's address differs) and writes
// the window table entries into `table`.
struct Job {
  explicit Job(int n) : boxes(static_cast<size_t>(n)) {
    std::vector<RegistrationMailbox*> all;
    for (auto& b : boxes) {
      b = std::make_unique<RegistrationMailbox>();
      all.push_back(b.get());
    }
    for (int r = 0; r < n; ++r) {
      owners.emplace_back(r, all);
      importers.emplace_back(r, all);
    }
  }
  // Handles say which allocation they are: the buffer id, in their first 8 bytes.
  static Status Export(const Allocation& a, uint8_t handle[64]) {
    std::memcpy(handle, &a.buffer_id, sizeof(a.buffer_id));
    return Status::Ok();
  }
  Status Poll(int r) {
    return importers[static_cast<size_t>(r)].Poll(
        [&](int q, const PublishedAllocation& p, void** at) {
          uint64_t id;
          std::memcpy(&id, p.handle, sizeof(id));
          if (fail_open == r) return CudaError("cannot open");
          opened[r].push_back(id);
          *at = reinterpret_cast<void*>(id * 0x1000 + static_cast<uint64_t>(q));
          return Status::Ok();
        },
        [&](void* at) { closed[r].push_back(reinterpret_cast<uintptr_t>(at)); },
        [&](int q, int slot, uintptr_t at) {
          table[{r, q, slot}] = at;
          return Status::Ok();
        });
  }
  int SlotOf(int r, Allocation a) {
    int slot = -2;
    EXPECT_TRUE(
        owners[static_cast<size_t>(r)]
            .SlotOf(
                a, Export, [&](uintptr_t base) { return ids.count(base) ? ids[base] : 0; }, &slot)
            .ok());
    return slot;
  }
  std::vector<std::unique_ptr<RegistrationMailbox>> boxes;
  std::vector<RegistrationCache> owners;
  std::vector<RegistrationImporter> importers;
  std::map<uintptr_t, uint64_t> ids;  // what each address holds now
  std::map<int, std::vector<uint64_t>> opened;
  std::map<int, std::vector<uintptr_t>> closed;
  std::map<std::tuple<int, int, int>, uintptr_t> table;  // (rank, owner, slot) -> at
  int fail_open = -1;
};

TEST(RegistrationCache, PeersReadInPlaceOnlyOnceEveryPeerHasMappedIt) {
  Job job(3);
  const Allocation x{0x100000, 1 << 20, 7};
  job.ids[x.base] = 7;
  const int slot = job.SlotOf(0, x);
  ASSERT_EQ(0, slot);
  EXPECT_FALSE(job.owners[0].MappedByAll(slot));  // published, not yet mapped
  ASSERT_TRUE(job.Poll(1).ok());
  EXPECT_FALSE(job.owners[0].MappedByAll(slot));  // rank 2 has not polled
  ASSERT_TRUE(job.Poll(2).ok());
  EXPECT_TRUE(job.owners[0].MappedByAll(slot));
  EXPECT_EQ((std::vector<uint64_t>{7}), job.opened[1]);
  EXPECT_EQ(7u * 0x1000, (job.table[{2, 0, 0}]));
  // Known: the same slot, nothing published, nothing mapped again.
  EXPECT_EQ(slot, job.SlotOf(0, x));
  ASSERT_TRUE(job.Poll(1).ok());
  EXPECT_EQ(1u, job.opened[1].size());
  EXPECT_TRUE(job.owners[0].MappedByAll(slot));
}

TEST(RegistrationCache, AnotherAllocationAtTheSameAddressIsPublishedAnew) {
  Job job(2);
  const Allocation x{0x200000, 4096, 11};
  job.ids[x.base] = 11;
  ASSERT_EQ(0, job.SlotOf(0, x));
  ASSERT_TRUE(job.Poll(1).ok());
  ASSERT_TRUE(job.owners[0].MappedByAll(0));
  // x freed, y allocated where it was.
  const Allocation y{0x200000, 8192, 12};
  job.ids[y.base] = 12;
  const int slot = job.SlotOf(0, y);
  ASSERT_EQ(0, slot);                             // the old one's slot, retired and reused
  EXPECT_FALSE(job.owners[0].MappedByAll(slot));  // the peer still has x mapped
  ASSERT_TRUE(job.Poll(1).ok());
  EXPECT_EQ((std::vector<uintptr_t>{11u * 0x1000}), job.closed[1]);  // x unmapped first
  EXPECT_EQ((std::vector<uint64_t>{11, 12}), job.opened[1]);
  EXPECT_EQ(12u * 0x1000, (job.table[{1, 0, 0}]));
  EXPECT_TRUE(job.owners[0].MappedByAll(slot));
}

TEST(RegistrationCache, AFullCacheStagesUntilAnAllocationIsGone) {
  Job job(2);
  for (int i = 0; i < kCachedWindows; ++i) {
    const Allocation a{0x1000000u + static_cast<uintptr_t>(i) * 0x10000, 4096,
                       static_cast<uint64_t>(100 + i)};
    job.ids[a.base] = a.buffer_id;
    ASSERT_EQ(i, job.SlotOf(0, a));
  }
  const Allocation extra{0x9000000, 4096, 999};
  job.ids[extra.base] = 999;
  EXPECT_EQ(-1, job.SlotOf(0, extra));  // every slot live: staged
  EXPECT_EQ(kCachedWindows, job.owners[0].live());
  job.ids.erase(0x1000000u + 3 * 0x10000);  // allocation 3 freed
  EXPECT_EQ(3, job.SlotOf(0, extra));
  ASSERT_TRUE(job.Poll(1).ok());
  EXPECT_TRUE(job.owners[0].MappedByAll(3));
  EXPECT_EQ(999u * 0x1000, (job.table[{1, 0, 3}]));
}

TEST(RegistrationCache, APeerThatCannotMapKeepsItsOwnerStaging) {
  Job job(3);
  const Allocation x{0x300000, 4096, 21};
  job.ids[x.base] = 21;
  ASSERT_EQ(0, job.SlotOf(0, x));
  job.fail_open = 2;
  ASSERT_TRUE(job.Poll(1).ok());
  EXPECT_FALSE(job.Poll(2).ok());
  EXPECT_FALSE(job.owners[0].MappedByAll(0));
  job.fail_open = -1;
  ASSERT_TRUE(job.Poll(2).ok());  // not retried until the slot changes
  EXPECT_FALSE(job.owners[0].MappedByAll(0));
}

// The owner publishes and replaces allocations while two peers poll on their own threads:
// whatever a peer acknowledges, it opened from a handle whose id matches the generation
// the owner published it under (never a half-written slot).
TEST(RegistrationCache, PeersPollingWhileTheOwnerPublishesNeverAckAHalfWrittenSlot) {
  auto boxes = std::vector<std::unique_ptr<RegistrationMailbox>>();
  std::vector<RegistrationMailbox*> all;
  for (int r = 0; r < 3; ++r) {
    boxes.push_back(std::make_unique<RegistrationMailbox>());
    all.push_back(boxes.back().get());
  }
  RegistrationCache owner(0, all);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  auto peer = [&](int r) {
    RegistrationImporter importer(r, all);
    while (!stop.load()) {
      (void)importer.Poll(
          [&](int, const PublishedAllocation& p, void** at) {
            uint64_t id, check;
            std::memcpy(&id, p.handle, 8);
            std::memcpy(&check, p.handle + 8, 8);
            if (check != ~id || p.bytes != id * 64) bad.fetch_add(1);
            *at = reinterpret_cast<void*>(id);
            return Status::Ok();
          },
          [](void*) {}, [](int, int, uintptr_t) { return Status::Ok(); });
    }
  };
  std::thread t1(peer, 1), t2(peer, 2);
  for (uint64_t id = 1; id <= 3000; ++id) {
    const Allocation a{0x4000000u + (id % 8) * 0x100000, id * 64, id};
    int slot = -1;
    ASSERT_TRUE(owner
                    .SlotOf(
                        a,
                        [](const Allocation& al, uint8_t h[64]) {
                          const uint64_t inverse = ~al.buffer_id;
                          std::memcpy(h, &al.buffer_id, 8);
                          std::memcpy(h + 8, &inverse, 8);
                          return Status::Ok();
                        },
                        [](uintptr_t) { return uint64_t{0}; }, &slot)
                    .ok());
    ASSERT_GE(slot, 0);
  }
  stop.store(true);
  t1.join();
  t2.join();
  EXPECT_EQ(0, bad.load());
}

}  // namespace
}  // namespace weft
