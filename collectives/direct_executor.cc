#include "collectives/direct_executor.h"

#include <cstring>

#include "collectives/reduce/reduce.h"
#include "common/dtype.h"

namespace weft {
namespace {

uint64_t LoadAcquire(const uint64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void StoreRelease(uint64_t* p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

size_t AlignUp(size_t v) { return (v + 63) & ~size_t{63}; }

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

bool DirectExecutor::CanRun(const Plan& plan, int prev, int next, size_t slot_bytes,
                            weftDataType_t type) {
  for (const ChannelPlan& ch : plan.channels) {
    for (const Step& st : ch.steps) {
      if (StepSends(st.kind) && st.send_peer != next) return false;
      if (StepReceives(st.kind) && st.recv_peer != prev) return false;
      if ((StepSends(st.kind) || StepReceives(st.kind)) && st.count * TypeSize(type) > slot_bytes)
        return false;
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
  finished_ = false;
  steps_run_ = 0;
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
  const uint64_t rmsg = ch.received + st.recv_msg, smsg = ch.sent + st.send_msg;
  // Ready? Data in my FIFO, room in the next rank's.
  if (receives && LoadAcquire(&ch.in.header->head) <= rmsg) return false;
  if (sends && LoadAcquire(&ch.out.header->tail) + static_cast<uint64_t>(ch.out.nslots) <= smsg)
    return false;
  const size_t bytes = st.count * elem_size_;
  const std::byte* in_slot =
      receives ? ch.in.slots + (rmsg % static_cast<uint64_t>(ch.in.nslots)) * ch.in.slot_bytes
               : nullptr;
  std::byte* out_slot =
      sends ? ch.out.slots + (smsg % static_cast<uint64_t>(ch.out.nslots)) * ch.out.slot_bytes
            : nullptr;
  auto finalize = [&](void* p) {
    if (st.finalize && args_.op == weftAvg) DivideHost(p, st.count, args_.type, plan_->nranks);
  };
  switch (st.kind) {
    case StepKind::kSend: std::memcpy(out_slot, Ptr(st.src), bytes); break;
    case StepKind::kRecv: std::memcpy(Ptr(st.dst), in_slot, bytes); break;
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
  }
  // Publish: the slot I read is free again, the slot I wrote is readable.
  if (receives) StoreRelease(&ch.in.header->tail, rmsg + 1);
  if (sends) StoreRelease(&ch.out.header->head, smsg + 1);
  return true;
}

Status DirectExecutor::Advance(bool* done) {
  bool all = true;
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    while (next_[c] < steps.size() && RunStep(static_cast<int>(c), steps[next_[c]])) {
      ++next_[c];
      ++steps_run_;
    }
    all = all && next_[c] == steps.size();
  }
  if (all && !finished_) {
    finished_ = true;
    // Move the channels' counters past this plan's messages, for the next collective.
    for (size_t c = 0; c < next_.size(); ++c) {
      uint64_t sent = 0, received = 0;
      for (const Step& st : plan_->channels[c].steps) {
        sent += StepSends(st.kind);
        received += StepReceives(st.kind);
      }
      channels_[c].sent += sent;
      channels_[c].received += received;
    }
  }
  *done = all;
  return Status::Ok();
}

std::string DirectExecutor::Waiting() const {
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    if (next_[c] >= steps.size()) continue;
    const Step& st = steps[next_[c]];
    const DirectChannel& ch = channels_[c];
    if (StepReceives(st.kind) && LoadAcquire(&ch.in.header->head) <= ch.received + st.recv_msg)
      return Format("channel %zu step %zu/%zu (%s): data from rank %d (shared FIFO)", c, next_[c],
                    steps.size(), StepKindName(st.kind), st.recv_peer);
    return Format("channel %zu step %zu/%zu (%s): room in rank %d's shared FIFO", c, next_[c],
                  steps.size(), StepKindName(st.kind), st.send_peer);
  }
  return "nothing";
}

}  // namespace weft
