#include "collectives/direct_executor.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>

#include "collectives/reduce/reduce.h"
#include "common/dtype.h"

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
  if (__atomic_load_n(waiting, __ATOMIC_SEQ_CST) != 0)
    syscall(SYS_futex, FutexWord(counter), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Sleeps until *counter passes `need - 1` (i.e. becomes >= need), or timeout_us passes.
void SleepUntilAtLeast(uint64_t* counter, uint32_t* waiting, uint64_t need, int timeout_us) {
  __atomic_store_n(waiting, 1u, __ATOMIC_SEQ_CST);
  const uint64_t seen = __atomic_load_n(counter, __ATOMIC_SEQ_CST);
  if (seen < need) {
    timespec ts{timeout_us / 1000000, (timeout_us % 1000000) * 1000L};
    syscall(SYS_futex, FutexWord(counter), FUTEX_WAIT, static_cast<uint32_t>(seen), &ts, nullptr,
            0);
  }
  __atomic_store_n(waiting, 0u, __ATOMIC_SEQ_CST);
}

}  // namespace

Status ReadFromProcess(int pid, uint64_t address, void* to, size_t bytes) {
  size_t done = 0;
  while (done < bytes) {
    iovec local{static_cast<std::byte*>(to) + done, bytes - done};
    iovec remote{reinterpret_cast<void*>(static_cast<uintptr_t>(address + done)), bytes - done};
    const ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return ErrnoStatus(
          Format("process_vm_readv of %zu bytes from pid %d", bytes - done, pid).c_str());
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

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

bool DirectExecutor::CanRun(const Plan& plan, const std::vector<DirectChannel>& channels,
                            weftDataType_t type) {
  if (plan.channels.size() > channels.size()) return false;
  for (size_t c = 0; c < plan.channels.size(); ++c) {
    for (const Step& st : plan.channels[c].steps) {
      const size_t bytes =
          StepIsOneCopy(st.kind) ? sizeof(PostedAddress) : st.count * TypeSize(type);
      if (StepSends(st.kind)) {
        const FifoLink* l = channels[c].Out(st.send_peer);
        if (l == nullptr || bytes > l->fifo.slot_bytes) return false;
      }
      if (StepReceives(st.kind)) {
        const FifoLink* l = channels[c].In(st.recv_peer);
        if (l == nullptr || bytes > l->fifo.slot_bytes) return false;
      }
    }
  }
  return true;
}

void DirectExecutor::Reset(const Plan* plan, const ExecArgs& args, DirectChannel* channels) {
  plan_ = plan;
  args_ = args;
  elem_size_ = TypeSize(args.type);
  channels_ = channels;
  next_.assign(plan->channels.size(), 0);
  anytime_cursor_.assign(plan->channels.size(), 0);
  ran_early_.resize(plan->channels.size());
  for (size_t c = 0; c < ran_early_.size(); ++c)
    ran_early_[c].assign(plan->channels[c].steps.size(), false);
  finished_ = false;
  steps_run_ = 0;
  error_ = Status::Ok();
}

std::byte* DirectExecutor::Ptr(const Region& r) const {
  std::byte* base = r.buf == BufferId::kInput
                        ? static_cast<std::byte*>(const_cast<void*>(args_.input))
                        : static_cast<std::byte*>(args_.output);
  return base + r.offset * elem_size_;
}

bool DirectExecutor::RunStep(int c, const Step& st) {
  DirectChannel& ch = channels_[c];
  const bool receives = StepReceives(st.kind), sends = StepSends(st.kind);
  // CanRun checked that these links exist.
  FifoLink* in_link = receives ? ch.In(st.recv_peer) : nullptr;
  FifoLink* out_link = sends ? ch.Out(st.send_peer) : nullptr;
  FifoView* in = receives ? &in_link->fifo : nullptr;
  FifoView* out = sends ? &out_link->fifo : nullptr;
  const uint64_t rmsg = receives ? in_link->messages + st.recv_msg : 0;
  const uint64_t smsg = sends ? out_link->messages + st.send_msg : 0;
  // Ready? Data in my FIFO, room in the receiver's.
  if (receives && LoadAcquire(&in->header->head) <= rmsg) return false;
  if (sends && LoadAcquire(&out->header->tail) + static_cast<uint64_t>(out->nslots) <= smsg)
    return false;
  const size_t bytes = st.count * elem_size_;
  const std::byte* in_slot =
      receives ? in->slots + (rmsg % static_cast<uint64_t>(in->nslots)) * in->slot_bytes : nullptr;
  std::byte* out_slot =
      sends ? out->slots + (smsg % static_cast<uint64_t>(out->nslots)) * out->slot_bytes : nullptr;
  auto finalize = [&](void* p) {
    if (st.finalize && args_.op == weftAvg) DivideHost(p, st.count, args_.type, plan_->nranks);
  };
  switch (st.kind) {
    case StepKind::kSend:
      std::memcpy(out_slot, Ptr(st.src), bytes);
      break;
    case StepKind::kRecv:
      std::memcpy(Ptr(st.dst), in_slot, bytes);
      break;
    case StepKind::kRecvCopySend:
      std::memcpy(Ptr(st.dst), in_slot, bytes);
      std::memcpy(out_slot, in_slot, bytes);
      break;
    case StepKind::kRecvReduceSend:
      ReduceHost(out_slot, in_slot, Ptr(st.src), st.count, args_.type, args_.op);
      break;
    case StepKind::kRecvReduceCopy:
    case StepKind::kRecvReduceCopySend: {
      std::byte* dst = Ptr(st.dst);
      if (sends && !(st.finalize && args_.op == weftAvg)) {
        // Keep the result and forward it in one pass.
        ReduceHostTwice(dst, out_slot, in_slot, Ptr(st.src), st.count, args_.type, args_.op);
        break;
      }
      ReduceHost(dst, in_slot, Ptr(st.src), st.count, args_.type, args_.op);
      finalize(dst);
      if (sends) std::memcpy(out_slot, dst, bytes);
      break;
    }
    case StepKind::kCopy: {
      std::byte* dst = Ptr(st.dst);
      if (dst != Ptr(st.src)) std::memcpy(dst, Ptr(st.src), bytes);
      finalize(dst);
      break;
    }
    case StepKind::kPostAddress: {
      const PostedAddress posted{reinterpret_cast<uintptr_t>(Ptr(st.src)),
                                 static_cast<int32_t>(getpid())};
      std::memcpy(out_slot, &posted, sizeof(posted));
      break;
    }
    case StepKind::kReadPeer: {
      PostedAddress posted;
      std::memcpy(&posted, in_slot, sizeof(posted));
      Status s = ReadFromProcess(posted.pid, posted.address, Ptr(st.dst), bytes);
      if (!s.ok()) error_ = s.WithContext(Format("reading rank %d's buffer", st.recv_peer));
      break;
    }
    case StepKind::kSignal:
    case StepKind::kWaitSignal:
      break;  // the message is the signal
  }
  // Publish: the slot I read is free again, the slot I wrote is readable.
  if (receives) Publish(&in->header->tail, &in->header->tail_waiting, rmsg + 1);
  if (sends) Publish(&out->header->head, &out->header->head_waiting, smsg + 1);
  return true;
}

Status DirectExecutor::Advance(bool* done) {
  *done = false;
  if (!error_.ok()) return error_;
  bool all = true;
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    while (next_[c] < steps.size()) {
      if (ran_early_[c][next_[c]]) {
        ++next_[c];
        continue;
      }
      if (RunStep(static_cast<int>(c), steps[next_[c]])) {
        if (!error_.ok()) return error_;
        ++next_[c];
        ++steps_run_;
      } else if (!RunAnytimeAhead(static_cast<int>(c))) {
        break;
      }
    }
    all = all && next_[c] == steps.size();
  }
  if (all && !finished_) {
    finished_ = true;
    // Move the links' counters past this plan's messages, for the next collective.
    for (size_t c = 0; c < next_.size(); ++c) {
      for (const Step& st : plan_->channels[c].steps) {
        if (StepSends(st.kind)) ++channels_[c].Out(st.send_peer)->messages;
        if (StepReceives(st.kind)) ++channels_[c].In(st.recv_peer)->messages;
      }
    }
  }
  *done = all;
  return Status::Ok();
}

bool DirectExecutor::RunAnytimeAhead(int c) {
  const std::vector<Step>& steps = plan_->channels[c].steps;
  size_t& j = anytime_cursor_[c];
  j = std::max(j, next_[c] + 1);
  for (; j < steps.size(); ++j) {
    if (!steps[j].anytime || ran_early_[c][j]) continue;
    RunStep(c, steps[j]);  // a local copy: always ready
    ran_early_[c][j] = true;
    ++steps_run_;
    return true;
  }
  return false;
}

void DirectExecutor::WaitForWork(int timeout_us) {
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    if (next_[c] >= steps.size()) continue;
    const Step& st = steps[next_[c]];
    DirectChannel& ch = channels_[c];
    if (StepReceives(st.kind)) {
      FifoLink* in = ch.In(st.recv_peer);
      const uint64_t need = in->messages + st.recv_msg + 1;
      if (LoadAcquire(&in->fifo.header->head) < need) {
        SleepUntilAtLeast(&in->fifo.header->head, &in->fifo.header->head_waiting, need, timeout_us);
        return;
      }
    }
    if (StepSends(st.kind)) {
      FifoLink* out = ch.Out(st.send_peer);
      SleepUntilAtLeast(&out->fifo.header->tail, &out->fifo.header->tail_waiting,
                        out->messages + st.send_msg + 1 - static_cast<uint64_t>(out->fifo.nslots),
                        timeout_us);
    }
    return;
  }
}

std::string DirectExecutor::Waiting() const {
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    if (next_[c] >= steps.size()) continue;
    const Step& st = steps[next_[c]];
    const DirectChannel& ch = channels_[c];
    const FifoLink* in = StepReceives(st.kind) ? ch.In(st.recv_peer) : nullptr;
    if (in != nullptr && LoadAcquire(&in->fifo.header->head) <= in->messages + st.recv_msg)
      return Format("channel %zu step %zu/%zu (%s): data from rank %d (shared FIFO)", c, next_[c],
                    steps.size(), StepKindName(st.kind), st.recv_peer);
    return Format("channel %zu step %zu/%zu (%s): room in rank %d's shared FIFO", c, next_[c],
                  steps.size(), StepKindName(st.kind), st.send_peer);
  }
  return "nothing";
}

}  // namespace weft
