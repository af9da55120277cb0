#include "collectives/executor.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "collectives/reduce/reduce.h"
#include "common/dtype.h"

namespace weft {

size_t Executor::SlotBytes(const Plan& plan, weftDataType_t type) {
  size_t max_count = 1;
  for (const ChannelPlan& ch : plan.channels)
    for (const Step& st : ch.steps)
      if (StepReduces(st.kind)) max_count = std::max(max_count, st.count);
  return max_count * TypeSize(type);
}

void Executor::Reset(Transport* transport, const Plan* plan, const ExecArgs& args,
                     const std::vector<StagingArea>& staging) {
  transport_ = transport;
  plan_ = plan;
  args_ = args;
  elem_size_ = TypeSize(args.type);
  staging_.assign(staging.begin(), staging.end());
  steps_run_ = 0;
  channels_.resize(plan->channels.size());
  for (size_t c = 0; c < channels_.size(); ++c) {
    ChannelState& ch = channels_[c];
    ch.next_post = ch.next_exec = 0;
    ch.anytime_cursor = 0;
    ch.sends_in_flight.clear();
    ch.steps.assign(plan_->channels[c].steps.size(), StepState());
    ch.free_slots.clear();
    for (int s = staging_[c].slots - 1; s >= 0; --s)
      ch.free_slots.push_back(s);
  }
}

std::byte* Executor::Ptr(const Region& r) const {
  std::byte* base = r.buf == BufferId::kInput
                        ? static_cast<std::byte*>(const_cast<void*>(args_.input))
                        : static_cast<std::byte*>(args_.output);
  return base + r.offset * elem_size_;
}

std::byte* Executor::SlotPtr(int c, int slot) const {
  return staging_[c].base + static_cast<size_t>(slot) * staging_[c].slot_bytes;
}

Status Executor::Advance(bool* done) {
  bool all_done = true;
  for (size_t c = 0; c < channels_.size(); ++c) {
    WEFT_CHECK(AdvanceChannel(static_cast<int>(c)));
    const ChannelState& ch = channels_[c];
    all_done = all_done && ch.next_exec == ch.steps.size() && ch.sends_in_flight.empty();
  }
  *done = all_done;
  return Status::Ok();
}

Status Executor::AdvanceChannel(int c) {
  ChannelState& ch = channels_[c];
  WEFT_CHECK(ReapSends(c));
  WEFT_CHECK(PostReceives(c));
  while (ch.next_exec < ch.next_post) {
    const Step& st = plan_->channels[c].steps[ch.next_exec];
    StepState& ss = ch.steps[ch.next_exec];
    if (ss.ran_early) {
      ++ch.next_exec;
      continue;
    }
    if (StepReceives(st.kind)) {
      if (!ss.recv.done) {
        if (RunAnytimeAhead(c)) continue;
        break;
      }
      if (!ss.recv.status.ok()) return ss.recv.status;
      WEFT_REQUIRE(ss.recv.bytes == st.count * elem_size_, weftInternalError,
                   "channel %d step %zu: received %zu bytes from rank %d, expected %zu", c,
                   ch.next_exec, ss.recv.bytes, st.recv_peer, st.count * elem_size_);
    }
    if (st.fence && !ch.sends_in_flight.empty()) {
      WEFT_CHECK(ReapSends(c));
      if (!ch.sends_in_flight.empty()) break;
    }
    WEFT_CHECK(RunStep(c, ch.next_exec));
    ++ch.next_exec;
    ++steps_run_;
    // A finished step may have freed a slot: post further receives before the next step.
    WEFT_CHECK(PostReceives(c));
  }
  return Status::Ok();
}

Status Executor::PostReceives(int c) {
  ChannelState& ch = channels_[c];
  const std::vector<Step>& steps = plan_->channels[c].steps;
  // The window bounds how far receives run ahead (and so the transport's queues).
  const size_t window = std::max<size_t>(8, 2 * static_cast<size_t>(staging_[c].slots));
  while (ch.next_post < steps.size() && ch.next_post - ch.next_exec < window) {
    const Step& st = steps[ch.next_post];
    StepState& ss = ch.steps[ch.next_post];
    if (StepReceives(st.kind)) {
      void* buf;
      if (StepReduces(st.kind)) {
        if (ch.free_slots.empty()) break;
        ss.slot = ch.free_slots.back();
        ch.free_slots.pop_back();
        buf = SlotPtr(c, ss.slot);
      } else {
        buf = Ptr(st.dst);
      }
      uint64_t tag = MakeTag(args_.seq, c, st.recv_peer, st.recv_msg);
      WEFT_CHECK(
          transport_->Recv(st.recv_peer, buf, st.count * elem_size_, args_.mem, tag, &ss.recv));
      ss.recv_posted = true;
    }
    ++ch.next_post;
  }
  return Status::Ok();
}

Status Executor::PostSend(int c, size_t index, const void* data) {
  const Step& st = plan_->channels[c].steps[index];
  StepState& ss = channels_[c].steps[index];
  uint64_t tag = MakeTag(args_.seq, c, transport_->rank(), st.send_msg);
  WEFT_CHECK(transport_->Send(st.send_peer, data, st.count * elem_size_, args_.mem, tag, &ss.send));
  ss.send_posted = true;
  channels_[c].sends_in_flight.push_back(index);
  return Status::Ok();
}

Status Executor::RunStep(int c, size_t index) {
  const Step& st = plan_->channels[c].steps[index];
  StepState& ss = channels_[c].steps[index];
  ChannelState& ch = channels_[c];
  auto finalize = [&](void* p) {
    if (st.finalize && args_.op == weftAvg) DivideHost(p, st.count, args_.type, plan_->nranks);
  };
  switch (st.kind) {
    case StepKind::kSend:
      return PostSend(c, index, Ptr(st.src));
    case StepKind::kRecv:
      return Status::Ok();
    case StepKind::kRecvCopySend:
      return PostSend(c, index, Ptr(st.dst));
    case StepKind::kRecvReduceSend: {
      std::byte* slot = SlotPtr(c, ss.slot);
      ReduceHost(slot, slot, Ptr(st.src), st.count, args_.type, args_.op);
      return PostSend(c, index, slot);  // the slot is freed when the send completes
    }
    case StepKind::kRecvReduceCopy:
    case StepKind::kRecvReduceCopySend: {
      std::byte* dst = Ptr(st.dst);
      ReduceHost(dst, SlotPtr(c, ss.slot), Ptr(st.src), st.count, args_.type, args_.op);
      finalize(dst);
      ch.free_slots.push_back(ss.slot);
      ss.slot = -1;
      if (st.kind == StepKind::kRecvReduceCopySend) return PostSend(c, index, dst);
      return Status::Ok();
    }
    case StepKind::kCopy: {
      std::byte* dst = Ptr(st.dst);
      const std::byte* src = Ptr(st.src);
      if (dst != src) std::memcpy(dst, src, st.count * elem_size_);
      finalize(dst);
      return Status::Ok();
    }
    case StepKind::kPostAddress:
    case StepKind::kReadPeer:
    case StepKind::kSignal:
    case StepKind::kWaitSignal:
      break;  // the communicator gives one-copy plans to the DirectExecutor only
  }
  return InternalError(Format("step kind %s cannot run over the transport", StepKindName(st.kind)));
}

bool Executor::RunAnytimeAhead(int c) {
  ChannelState& ch = channels_[c];
  const std::vector<Step>& steps = plan_->channels[c].steps;
  size_t& j = ch.anytime_cursor;
  j = std::max(j, ch.next_exec + 1);
  for (; j < steps.size(); ++j) {
    if (!steps[j].anytime || ch.steps[j].ran_early) continue;
    (void)RunStep(c, j);  // a local copy: cannot fail
    ch.steps[j].ran_early = true;
    ++steps_run_;
    return true;
  }
  return false;
}

Status Executor::ReapSends(int c) {
  ChannelState& ch = channels_[c];
  auto& in_flight = ch.sends_in_flight;
  for (size_t i = 0; i < in_flight.size();) {
    StepState& ss = ch.steps[in_flight[i]];
    if (!ss.send.done) {
      ++i;
      continue;
    }
    if (!ss.send.status.ok()) return ss.send.status;
    if (ss.slot >= 0) {
      ch.free_slots.push_back(ss.slot);
      ss.slot = -1;
    }
    in_flight[i] = in_flight.back();
    in_flight.pop_back();
  }
  return Status::Ok();
}

void Executor::CancelOutstanding() {
  for (ChannelState& ch : channels_) {
    for (StepState& ss : ch.steps) {
      if (ss.recv_posted && !ss.recv.done) transport_->Cancel(&ss.recv);
      if (ss.send_posted && !ss.send.done) transport_->Cancel(&ss.send);
    }
  }
}

bool Executor::Quiescent(bool receives_only) const {
  for (const ChannelState& ch : channels_) {
    for (const StepState& ss : ch.steps) {
      if (ss.recv_posted && !ss.recv.done) return false;
      if (!receives_only && ss.send_posted && !ss.send.done) return false;
    }
  }
  return true;
}

bool Executor::NeedsPolling() const {
  for (const ChannelState& ch : channels_)
    if (!ch.sends_in_flight.empty()) return true;
  return false;
}

std::string Executor::Waiting() const {
  for (size_t c = 0; c < channels_.size(); ++c) {
    const ChannelState& ch = channels_[c];
    const std::vector<Step>& steps = plan_->channels[c].steps;
    if (ch.next_exec < steps.size()) {
      const Step& st = steps[ch.next_exec];
      if (StepReceives(st.kind)) {
        return Format("channel %zu step %zu/%zu (%s): message %u from rank %d", c, ch.next_exec,
                      steps.size(), StepKindName(st.kind), st.recv_msg, st.recv_peer);
      }
      return Format("channel %zu step %zu/%zu (%s): a free staging slot", c, ch.next_exec,
                    steps.size(), StepKindName(st.kind));
    }
    for (size_t i : ch.sends_in_flight) {
      if (!ch.steps[i].send.done) {
        return Format("channel %zu: completion of message %u to rank %d", c, steps[i].send_msg,
                      steps[i].send_peer);
      }
    }
  }
  return "nothing";
}

}  // namespace weft
