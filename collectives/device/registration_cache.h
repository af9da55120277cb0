// Device buffers mapped into the peers once, without a collective step: the registration
// cache of the direct kernel's staged mode (ranks that are processes, each on its own GPU).
//
// A call's buffer that lies in no registered window (window_table.h) would go through the
// owner's staging: one copy more. Instead the owner publishes the buffer's allocation, once,
// in its *mailbox*: host memory every peer of the host maps at init. Each peer, when it next
// launches a staged call, finds what changed in the mailboxes, maps each new allocation (CUDA
// IPC: milliseconds, once) into its window table, and acknowledges it in its own mailbox. The
// owner lets peers read the buffer in place (posts its window word) only in calls launched
// after every peer has acknowledged the allocation's current generation; until then it
// stages, as before. Each rank decides alone, per call, as with windows, so no rank waits for
// another's host and a call never needs a host step.
//
// Keyed by allocation: its first byte and the driver's buffer id (new for every allocation),
// so memory freed and allocated again at the same address is published anew, never taken
// for the old. A slot is reused only for an allocation whose memory is gone (its address
// now holds another allocation, or none): cudaFree waits for the device, so no call that
// posted the old allocation still runs anywhere (the owner's kernel ends after every peer's
// `done`). Live allocations are never evicted: with every slot live, new ones are staged. A
// peer that sees a slot's generation change closes its old mapping and maps the new one.
// Slots sit in the window table above the registered windows' (proto::kDirectMaxWindows +
// slot).
//
// Plain data and host logic, without CUDA: CI runs the owner and the peers over plain memory
// (tests/unit/registration_cache_test.cc); device_kernels.cc gives it the CUDA calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "collectives/device/proto/direct.h"
#include "common/status.h"

namespace weft {

constexpr int kCachedWindows = 64;  // slots per rank

// One slot of a rank's mailbox.
struct PublishedAllocation {
  uint64_t generation = 0;  // odd: live, the fields below hold; even: free. Stored last.
  uint64_t base = 0;        // in its owner's process (a peer that is a thread of it uses it)
  uint64_t bytes = 0;
  alignas(8) uint8_t handle[64] = {};  // the allocation's CUDA IPC handle
};

// A rank's mailbox, in host memory its peers map. The owner writes `changes` and `slots`;
// `acks[q][s]` is the generation of rank q's slot s this rank has mapped (0: none).
struct RegistrationMailbox {
  uint64_t changes = 0;  // bumped after every publish and retire: peers skip a quiet mailbox
  PublishedAllocation slots[kCachedWindows];
  uint64_t acks[proto::kDirectMaxRanks][kCachedWindows] = {};
};

// An allocation, as the driver describes it (cuMemGetAddressRange, its buffer id).
struct Allocation {
  uintptr_t base = 0;
  size_t bytes = 0;
  uint64_t buffer_id = 0;
};

// The owner's side: which of its allocations are published, in which slot.
class RegistrationCache {
 public:
  // `mailboxes[q]`: rank q's mailbox as mapped here (mailboxes[rank] is this rank's own).
  RegistrationCache(int rank, std::vector<RegistrationMailbox*> mailboxes);

  using ExportFn = std::function<Status(const Allocation&, uint8_t handle[64])>;
  // The buffer id of the allocation holding an address now (0: none).
  using IdFn = std::function<uint64_t(uintptr_t)>;

  // The slot holding `a`, publishing it at first sight (`export_handle` fills its IPC
  // handle; on failure nothing is published and the error returned); -1 where every slot
  // holds a live allocation. A slot whose allocation is gone (`id_of` its first byte differs)
  // is retired and reused.
  Status SlotOf(const Allocation& a, const ExportFn& export_handle, const IdFn& id_of, int* slot);
  // The slot holding `a` (-1: none), publishing nothing.
  int Find(const Allocation& a) const;
  // Whether every peer has mapped `slot` as it is now: only then may they read it in place.
  bool MappedByAll(int slot) const;
  int live() const;

 private:
  void Publish(int slot, const Allocation& a, const uint8_t handle[64]);
  void Retire(int slot);

  int rank_;
  std::vector<RegistrationMailbox*> mailboxes_;
  std::vector<Allocation> entries_;  // by slot; buffer_id 0: free
};

// A peer's side: keeps this rank's mappings of every peer's published allocations current.
class RegistrationImporter {
 public:
  // Maps rank q's allocation (its handle, bytes) here; *at: its first byte, as reached here.
  using OpenFn = std::function<Status(int q, const PublishedAllocation& p, void** at)>;
  // Unmaps what OpenFn returned.
  using CloseFn = std::function<void(void* at)>;
  // Writes the window table's entry for rank q's slot (0: unmapped) before it is acknowledged.
  using TableFn = std::function<Status(int q, int slot, uintptr_t at)>;

  RegistrationImporter(int rank, std::vector<RegistrationMailbox*> mailboxes);
  // Closes every mapping (the communicator's end: no kernel runs any more).
  void CloseAll(const CloseFn& close);

  // Brings every peer's slots up to date: unmaps what was retired or replaced, maps what was
  // published, writes the table and then acknowledges. A mapping that fails is not
  // acknowledged (the owner keeps staging that buffer) and its error returned after the rest.
  Status Poll(const OpenFn& open, const CloseFn& close, const TableFn& table);

 private:
  struct Mapped {
    uint64_t generation = 0;
    void* at = nullptr;
  };
  int rank_;
  std::vector<RegistrationMailbox*> mailboxes_;
  std::vector<uint64_t> seen_changes_;       // by peer
  std::vector<std::vector<Mapped>> mapped_;  // [peer][slot]
};

}  // namespace weft
