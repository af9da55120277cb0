#include "transport/shm/shm_link.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "common/futex.h"

namespace weft {
namespace {

uint64_t LoadAcquire(const uint64_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

size_t AlignUp(size_t v) {
  return (v + 63) & ~size_t{63};
}

// The futex word of a 64-bit counter: its low half (x86 is little-endian).
uint32_t* FutexWord(uint64_t* counter) {
  return reinterpret_cast<uint32_t*>(counter);
}

// Publishes a counter and wakes the other side if it sleeps on it. The store and the load
// of the flag are sequentially consistent: with the waiter's flag-store-then-counter-load,
// one of the two always sees the other.
void Publish(uint64_t* counter, uint32_t* waiting, uint64_t value) {
  __atomic_store_n(counter, value, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(waiting, __ATOMIC_SEQ_CST) != 0) FutexWake(FutexWord(counter));
}

// Sleeps until *counter becomes >= need, or timeout_us passes.
void SleepUntilAtLeast(uint64_t* counter, uint32_t* waiting, uint64_t need, int timeout_us) {
  __atomic_store_n(waiting, 1u, __ATOMIC_SEQ_CST);
  const uint64_t seen = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
  if (seen < need) FutexWait(FutexWord(counter), static_cast<uint32_t>(seen), timeout_us);
  __atomic_store_n(waiting, 0u, __ATOMIC_SEQ_CST);
}

}  // namespace

size_t FifoBytes(size_t slot_bytes, int nslots) {
  return sizeof(FifoHeader) + AlignUp(slot_bytes) * static_cast<size_t>(nslots);
}

FifoView FifoAt(void* base, size_t slot_bytes, int nslots) {
  FifoView v;
  v.header = static_cast<FifoHeader*>(base);
  v.slots = static_cast<std::byte*>(base) + sizeof(FifoHeader);
  v.slot_bytes = AlignUp(slot_bytes);
  v.nslots = nslots;
  return v;
}

Status ShmSendPort::Slot(uint64_t n, std::byte** slot) {
  const bool room = LoadAcquire(&fifo_.header->tail) + static_cast<uint64_t>(fifo_.nslots) > n;
  *slot = room ? fifo_.SlotOf(n) : nullptr;
  return Status::Ok();
}

Status ShmSendPort::Post(uint64_t n, size_t) {
  Publish(&fifo_.header->head, &fifo_.header->head_waiting, n + 1);
  return Status::Ok();
}

void ShmSendPort::WaitForSlot(uint64_t n, int timeout_us) {
  const auto nslots = static_cast<uint64_t>(fifo_.nslots);
  if (n < nslots) return;  // the first laps always find room
  SleepUntilAtLeast(&fifo_.header->tail, &fifo_.header->tail_waiting, n + 1 - nslots, timeout_us);
}

Status ShmRecvPort::Data(uint64_t n, const std::byte** data, size_t* bytes) {
  const bool arrived = LoadAcquire(&fifo_.header->head) > n;
  *data = arrived ? fifo_.SlotOf(n) : nullptr;
  *bytes = kUnknownMessageBytes;
  return Status::Ok();
}

Status ShmRecvPort::Release(uint64_t n) {
  Publish(&fifo_.header->tail, &fifo_.header->tail_waiting, n + 1);
  return Status::Ok();
}

void ShmRecvPort::WaitForData(uint64_t n, int timeout_us) {
  SleepUntilAtLeast(&fifo_.header->head, &fifo_.header->head_waiting, n + 1, timeout_us);
}

Status ShmRecvPort::ReadPeerMemory(const PostedAddress& from, void* to, size_t bytes) {
  WEFT_REQUIRE(peer_pid_ > 0 && from.pid == peer_pid_, weftInternalError,
               "rank %d posted pid %d, expected %d", peer_, from.pid, peer_pid_);
  return ReadFromProcess(from.pid, from.address, to, bytes)
      .WithContext(Format("reading rank %d's buffer", peer_));
}

Status ShmRecvPort::WritePeerMemory(const PostedAddress& to, const void* from, size_t bytes) {
  WEFT_REQUIRE(peer_pid_ > 0 && to.pid == peer_pid_, weftInternalError,
               "rank %d posted pid %d, expected %d", peer_, to.pid, peer_pid_);
  return WriteToProcess(to.pid, to.address, from, bytes)
      .WithContext(Format("writing rank %d's buffer", peer_));
}

Status ShmRecvPort::MapPeerBuffer(const PostedAddress& posted, std::byte** at) {
  *at = nullptr;
  if (posted.nonce == 0 || mappings_ == nullptr) return Status::Ok();
  WEFT_REQUIRE(peer_pid_ > 0 && posted.pid == peer_pid_, weftInternalError,
               "rank %d posted pid %d, expected %d", peer_, posted.pid, peer_pid_);
  SharedRange range;
  range.nonce = posted.nonce;
  range.fd = posted.fd;
  range.file_bytes = posted.file_bytes;
  range.offset = posted.offset;
  return mappings_->Map(posted.pid, range, at)
      .WithContext(Format("mapping rank %d's shared buffer", peer_));
}

uint64_t ShmRecvPort::Unread() const {
  return LoadAcquire(&fifo_.header->head) - LoadAcquire(&fifo_.header->tail);
}

namespace {

// process_vm_readv or _writev, whichever `copy` is, until every byte has moved: the kernel
// may move fewer than asked (a partial copy) or be interrupted.
template <typename Copy>
Status CopyWithProcess(Copy copy, const char* what, int pid, uint64_t address, std::byte* local,
                       size_t bytes) {
  size_t done = 0;
  while (done < bytes) {
    iovec here{local + done, bytes - done};
    iovec there{reinterpret_cast<void*>(static_cast<uintptr_t>(address + done)), bytes - done};
    const ssize_t n = copy(pid, &here, 1, &there, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return ErrnoStatus(Format("%s of %zu bytes, pid %d", what, bytes - done, pid).c_str());
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status ReadFromProcess(int pid, uint64_t address, void* to, size_t bytes) {
  return CopyWithProcess(process_vm_readv, "process_vm_readv", pid, address,
                         static_cast<std::byte*>(to), bytes);
}

Status WriteToProcess(int pid, uint64_t address, const void* from, size_t bytes) {
  // process_vm_writev only reads the local side.
  return CopyWithProcess(process_vm_writev, "process_vm_writev", pid, address,
                         const_cast<std::byte*>(static_cast<const std::byte*>(from)), bytes);
}

}  // namespace weft
