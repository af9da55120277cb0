#include "collectives/plan_executor.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/dtype.h"
#include "common/futex.h"

namespace weft {

Status PlanExecutor::Reset(const Plan* plan, const ExecArgs& args, LinkTable* links) {
  // The same plan again on the same links (a training loop's calls): its ports are known.
  // Finding them is a few map lookups, a fair part of a small message's latency.
  const bool same_ports = plan->serial != 0 && plan->serial == resolved_serial_ && links == links_;
  plan_ = plan;
  args_ = args;
  elem_size_ = TypeSize(args.type);
  links_ = links;
  backend_ = ReduceBackendFor(args.mem);
  stream_ = args.mem == MemoryType::kHost && args.stream_min_bytes > 0 &&
            plan->output_count * elem_size_ >= args.stream_min_bytes;
  WEFT_REQUIRE(backend_ != nullptr, weftInternalError,
               "no reduction back-end for device memory in this build");
  base_.assign(plan->links.size(), 0);
  if (peers_.size() < static_cast<size_t>(plan->nranks))
    peers_.resize(static_cast<size_t>(plan->nranks));
  if (!same_ports) WEFT_CHECK(ResolvePorts());
  started_ = false;
  const size_t nch = plan->channels.size();
  next_.assign(nch, 0);
  anytime_cursor_.assign(nch, 0);
  ran_early_.resize(nch);
  for (size_t c = 0; c < nch; ++c)
    ran_early_[c].assign(plan->channels[c].steps.size(), false);
  finished_ = false;
  steps_run_ = 0;
  one_shot_cursor_ = proto::OneShotCursor();
  one_shot_rung_ = false;
  return Status::Ok();
}

Status PlanExecutor::ResolvePorts() {
  resolved_serial_ = 0;
  ports_.assign(plan_->links.size(), Endpoints());
  for (size_t i = 0; i < plan_->links.size(); ++i) {
    const PlanLink& l = plan_->links[i];
    if (l.send)
      WEFT_CHECK(links_->SendPortFor(l, elem_size_, &ports_[i].send));
    else
      WEFT_CHECK(links_->RecvPortFor(l, elem_size_, &ports_[i].recv));
  }
  uses_shm_ = uses_net_ = false;
  for (const Endpoints& e : ports_) {
    const char* kind = e.send != nullptr ? e.send->kind() : e.recv->kind();
    (std::strcmp(kind, "net") == 0 ? uses_net_ : uses_shm_) = true;
  }
  // Once per plan, like its ports: a call of a plan seen before skips the walk over its steps.
  one_shot_ = false;
  for (const ChannelPlan& ch : plan_->channels)
    for (const Step& st : ch.steps)
      one_shot_ = one_shot_ || st.kind == StepKind::kOneShot;
  resolved_serial_ = plan_->serial;
  return Status::Ok();
}

std::byte* PlanExecutor::Ptr(const Region& r) const {
  void* base = r.buf == BufferId::kInput    ? const_cast<void*>(args_.input)
               : r.buf == BufferId::kOutput ? args_.output
                                            : args_.scratch;
  return static_cast<std::byte*>(base) + r.offset * elem_size_;
}

uint64_t PlanExecutor::SendNumber(const Step& st) const {
  return base_[static_cast<size_t>(st.send_link)] + st.send_msg;
}

uint64_t PlanExecutor::RecvNumber(const Step& st) const {
  return base_[static_cast<size_t>(st.recv_link)] + st.recv_msg;
}

Status PlanExecutor::RunStep(const Step& st, bool* ran) {
  *ran = false;
  if (st.kind == StepKind::kOneShot) return RunOneShot(st, ran);
  const bool receives = StepReceives(st.kind), sends = StepSends(st.kind);
  const std::byte* in = nullptr;
  size_t in_bytes = 0;
  std::byte* out = nullptr;
  // Ready? The message in its slot, a free slot to send into.
  if (receives) {
    WEFT_CHECK(
        ports_[static_cast<size_t>(st.recv_link)].recv->Data(RecvNumber(st), &in, &in_bytes));
    if (in == nullptr) return Status::Ok();
  }
  SendPort* send_port = sends ? ports_[static_cast<size_t>(st.send_link)].send : nullptr;
  if (sends) {
    WEFT_CHECK(send_port->Slot(SendNumber(st), &out));
    if (out == nullptr) return Status::Ok();
  }
  // A message that is the user's data as it stands after the step (what a Send reads, what
  // a forwarding step keeps) leaves from there where the link can send in place; the slot
  // is used otherwise.
  const bool from_user = sends && send_port->SendsInPlace() &&
                         (st.kind == StepKind::kSend || st.kind == StepKind::kRecvCopySend ||
                          st.kind == StepKind::kRecvReduceCopySend);
  // The step overwrites what an earlier send may still be reading in place.
  if (st.fence && SendsInFlight()) return Status::Ok();
  const void* user_data = nullptr;
  WEFT_CHECK(Compute(st, in, in_bytes, from_user ? nullptr : out, &user_data));
  // Publish: the slot read is free again, the slot written is the peer's to read.
  if (receives) WEFT_CHECK(ports_[static_cast<size_t>(st.recv_link)].recv->Release(RecvNumber(st)));
  if (sends) {
    const size_t bytes = StepIsOneCopy(st.kind) ? sizeof(PostedAddress) : st.count * elem_size_;
    if (from_user)
      WEFT_CHECK(send_port->PostFrom(SendNumber(st), user_data, bytes));
    else
      WEFT_CHECK(send_port->Post(SendNumber(st), bytes));
  }
  *ran = true;
  return Status::Ok();
}

bool PlanExecutor::SendsInFlight() const {
  for (const Endpoints& e : ports_)
    if (e.send != nullptr && e.send->InFlight()) return true;
  return false;
}

Status PlanExecutor::Compute(const Step& st, const std::byte* in, size_t in_bytes, std::byte* out,
                             const void** user_data) {
  const size_t bytes = st.count * elem_size_;
  if (in != nullptr && !StepIsOneCopy(st.kind)) {
    WEFT_REQUIRE(in_bytes == kUnknownMessageBytes || in_bytes == bytes, weftInternalError,
                 "%s received %zu bytes from rank %d, expected %zu", StepKindName(st.kind),
                 in_bytes, st.recv_peer, bytes);
  }
  const bool average = st.finalize && args_.op == weftAvg;
  auto finalize = [&](void* p) {
    return average ? backend_->Divide(p, st.count, args_.type, plan_->nranks) : Status::Ok();
  };
  ReduceBackend& b = *backend_;
  // A result the link sends from the user's memory is read again at once: keep it cached.
  const bool sent_in_place = StepSends(st.kind) && out == nullptr;
  const StoreHint hint =
      stream_ && st.stream && !sent_in_place ? StoreHint::kStream : StoreHint::kCached;
  switch (st.kind) {
    case StepKind::kSend:
      *user_data = Ptr(st.src);
      return out != nullptr ? b.Copy(out, Ptr(st.src), bytes) : Status::Ok();
    case StepKind::kRecv:
      return b.Copy(Ptr(st.dst), in, bytes);
    case StepKind::kRecvCopySend:
      *user_data = Ptr(st.dst);
      WEFT_CHECK(b.Copy(Ptr(st.dst), in, bytes));
      return out != nullptr ? b.Copy(out, in, bytes) : Status::Ok();
    case StepKind::kRecvReduceSend:
      return b.Reduce(out, in, Ptr(st.src), st.count, args_.type, args_.op, StoreHint::kCached);
    case StepKind::kRecvReduceCopy:
    case StepKind::kRecvReduceCopySend: {
      std::byte* dst = Ptr(st.dst);
      *user_data = dst;
      if (out != nullptr && !average)  // keep the result and forward it in one pass
        return b.ReduceTwice(dst, out, in, Ptr(st.src), st.count, args_.type, args_.op, hint);
      // An average is divided in place next: keep it cached for that.
      WEFT_CHECK(b.Reduce(dst, in, Ptr(st.src), st.count, args_.type, args_.op,
                          average ? StoreHint::kCached : hint));
      WEFT_CHECK(finalize(dst));
      return out != nullptr ? b.Copy(out, dst, bytes) : Status::Ok();
    }
    case StepKind::kCopy: {
      std::byte* dst = Ptr(st.dst);
      WEFT_CHECK(b.Copy(dst, Ptr(st.src), bytes));
      return finalize(dst);
    }
    case StepKind::kPostAddress: {
      PostedAddress posted;
      posted.address = reinterpret_cast<uintptr_t>(Ptr(st.src));
      posted.pid = static_cast<int32_t>(getpid());
      if (args_.registry != nullptr) {  // a registered buffer: the peers may map it
        const SharedRange r = args_.registry->Find(Ptr(st.src), bytes);
        posted.nonce = r.nonce;
        posted.fd = r.fd;
        posted.file_bytes = r.file_bytes;
        posted.offset = r.offset;
      }
      std::memcpy(out, &posted, sizeof(posted));
      return Status::Ok();
    }
    case StepKind::kReadPeer: {
      PostedAddress posted;
      std::memcpy(&posted, in, sizeof(posted));
      RecvPort* port = ports_[static_cast<size_t>(st.recv_link)].recv;
      std::byte* mapped = nullptr;
      WEFT_CHECK(port->MapPeerBuffer(posted, &mapped));
      return mapped != nullptr ? b.Copy(Ptr(st.dst), mapped, bytes)
                               : port->ReadPeerMemory(posted, Ptr(st.dst), bytes);
    }
    case StepKind::kSignal:
    case StepKind::kWaitSignal:
      return Status::Ok();  // the message is the signal
    case StepKind::kRecvAddress:
    case StepKind::kReducePeer:
    case StepKind::kWritePeer:
      return ComputePeerStep(st, in);
    case StepKind::kOneShot:
      break;  // RunStep runs it (RunOneShot)
  }
  return InternalError(Format("unknown step kind %d", static_cast<int>(st.kind)));
}

Status PlanExecutor::ComputePeerStep(const Step& st, const std::byte* in) {
  ReduceBackend& b = *backend_;
  const size_t bytes = st.count * elem_size_;
  const int which = st.peer_mem.buf == BufferId::kOutput ? 1 : 0;
  PeerBuffers& p =
      peers_[static_cast<size_t>(st.kind == StepKind::kRecvAddress ? st.recv_peer : st.mem_peer)];
  if (st.kind == StepKind::kRecvAddress) {
    std::memcpy(&p.posted[which], in, sizeof(PostedAddress));
    p.port = ports_[static_cast<size_t>(st.recv_link)].recv;
    return p.port->MapPeerBuffer(p.posted[which], &p.mapped[which]);
  }
  WEFT_REQUIRE(p.port != nullptr, weftInternalError, "%s before rank %d posted its buffers",
               StepKindName(st.kind), st.mem_peer);
  const size_t at = st.peer_mem.offset * elem_size_;
  // The peer's buffer `w` at the step's elements, as an address the kernel copies to or from.
  auto posted_at = [&](int w) {
    PostedAddress a = p.posted[w];
    a.address += at;
    return a;
  };
  auto write_back = [&](const void* from) {
    return p.mapped[1] != nullptr ? b.Copy(p.mapped[1] + at, from, bytes)
                                  : p.port->WritePeerMemory(posted_at(1), from, bytes);
  };
  if (st.kind == StepKind::kWritePeer) return write_back(Ptr(st.src));
  // kReducePeer: the peer's elements in place, or copied here first.
  const std::byte* theirs = p.mapped[which] != nullptr ? p.mapped[which] + at : nullptr;
  if (theirs == nullptr) {
    std::byte* scratch = static_cast<std::byte*>(args_.scratch);
    WEFT_REQUIRE(scratch != nullptr && st.count <= plan_->scratch_count, weftInternalError,
                 "no scratch for %zu elements read from rank %d", st.count, st.mem_peer);
    WEFT_CHECK(p.port->ReadPeerMemory(posted_at(which), scratch, bytes));
    theirs = scratch;
  }
  std::byte* dst = Ptr(st.dst);
  const bool average = st.finalize && args_.op == weftAvg;
  if (st.peer_write && !average && p.mapped[1] != nullptr)  // both outputs in one pass
    return b.ReduceTwice(dst, p.mapped[1] + at, theirs, Ptr(st.src), st.count, args_.type, args_.op,
                         StoreHint::kCached);
  WEFT_CHECK(
      b.Reduce(dst, theirs, Ptr(st.src), st.count, args_.type, args_.op, StoreHint::kCached));
  if (average) WEFT_CHECK(b.Divide(dst, st.count, args_.type, plan_->nranks));
  return st.peer_write ? write_back(dst) : Status::Ok();
}

Status PlanExecutor::RunOneShot(const Step& st, bool* ran) {
  OneShotScratch* scratch = args_.one_shot;
  const size_t bytes = st.count * elem_size_;
  WEFT_REQUIRE(scratch != nullptr && scratch->ranks.size() == static_cast<size_t>(plan_->nranks) &&
                   bytes <= scratch->max_bytes() && OneShotTakesType(args_.type),
               weftInternalError,
               "one-shot %s of %zu-byte blocks without a scratch that holds them (%zu bytes)",
               CollName(plan_->coll), bytes, scratch != nullptr ? scratch->max_bytes() : size_t{0});
  proto::OneShotArgs a;
  a.coll = ToOneShotColl(plan_->coll);
  a.root = plan_->root;
  a.rank = plan_->rank;
  a.nranks = plan_->nranks;
  a.input = Ptr(st.src);
  a.output = Ptr(st.dst);
  a.count = st.count;
  a.scratch = scratch->ranks.data();
  a.lines = scratch->lines;
  a.epoch = &scratch->epoch;
  a.divisor = st.finalize && args_.op == weftAvg ? plan_->nranks : 0;
  // A few looks, then back to the drive loop, which watches the clock, aborts and peers.
  a.limits.max_looks = 64;
  a.cursor = &one_shot_cursor_;
  const proto::WaitResult w = RunOneShotOnHost(args_.type, args_.op, a);
  if (!scratch->bells.empty() && !one_shot_rung_ &&
      one_shot_cursor_.stored >= proto::OneShotLines(bytes)) {
    // Every peer has all my lines of this call (data or token): wake those asleep.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (int peer = 0; peer < plan_->nranks; ++peer) {
      OneShotBell* bell = scratch->bells[static_cast<size_t>(peer)];
      if (peer == plan_->rank || __atomic_load_n(&bell->waiting, __ATOMIC_SEQ_CST) == 0) continue;
      __atomic_add_fetch(&bell->rung, 1u, __ATOMIC_SEQ_CST);
      FutexWake(&bell->rung);
    }
    one_shot_rung_ = true;
  }
  if (w == proto::WaitResult::kNotYet) return Status::Ok();
  WEFT_REQUIRE(w == proto::WaitResult::kReady, weftInternalError,
               "one-shot %s ended waiting for rank %d", CollName(plan_->coll),
               one_shot_cursor_.waiting_for);
  ++scratch->epoch;
  one_shot_cursor_ = proto::OneShotCursor();
  one_shot_rung_ = false;
  *ran = true;
  return Status::Ok();
}

Status PlanExecutor::Advance(bool* done) {
  *done = false;
  if (!started_) {
    // Counted from where the links stand when this plan starts: the runners of a batch are
    // reset together but run one after another.
    for (size_t i = 0; i < ports_.size(); ++i)
      base_[i] = ports_[i].send != nullptr ? ports_[i].send->used() : ports_[i].recv->used();
    started_ = true;
  }
  bool all = true;
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    while (next_[c] < steps.size()) {
      if (ran_early_[c][next_[c]]) {
        ++next_[c];
        continue;
      }
      bool ran = false;
      WEFT_CHECK(RunStep(steps[next_[c]], &ran));
      if (ran) {
        ++next_[c];
        ++steps_run_;
        continue;
      }
      WEFT_CHECK(RunAnytimeAhead(c, &ran));
      if (!ran) break;
    }
    all = all && next_[c] == steps.size();
  }
  // The last messages must have left too: over the network a large one moves only while
  // its sender drives the transport, which a rank back in its application does not.
  for (size_t i = 0; all && i < ports_.size(); ++i)
    all = ports_[i].send == nullptr || !ports_[i].send->InFlight();
  if (all && !finished_) {
    finished_ = true;
    // The links' counts move past this plan's messages, for the next collective.
    for (size_t i = 0; i < plan_->links.size(); ++i) {
      const uint64_t used = base_[i] + plan_->links[i].messages;
      if (ports_[i].send != nullptr) ports_[i].send->set_used(used);
      if (ports_[i].recv != nullptr) ports_[i].recv->set_used(used);
    }
  }
  *done = all;
  return Status::Ok();
}

Status PlanExecutor::RunAnytimeAhead(size_t c, bool* ran) {
  *ran = false;
  const std::vector<Step>& steps = plan_->channels[c].steps;
  size_t& j = anytime_cursor_[c];
  j = std::max(j, next_[c] + 1);
  for (; j < steps.size(); ++j) {
    if (!steps[j].anytime || ran_early_[c][j]) continue;
    WEFT_CHECK(RunStep(steps[j], ran));  // a local copy: always ready
    ran_early_[c][j] = true;
    ++steps_run_;
    return Status::Ok();
  }
  return Status::Ok();
}

const Step* PlanExecutor::Blocked() const {
  if (!started_) return nullptr;
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    if (next_[c] < steps.size()) return &steps[next_[c]];
  }
  return nullptr;
}

bool PlanExecutor::NeedsPolling() const {
  // Shared-memory FIFOs raise no transport event to sleep on, and sends over the network
  // move only while the transport is driven. Only a plan that waits for nothing but network
  // messages may sleep on the transport's events.
  return links_->InFlight() || (started_ && (uses_shm_ || one_shot_));
}

void PlanExecutor::WaitForWork(int timeout_us) {
  const Step* st = Blocked();
  if (st == nullptr) return;
  if (st->kind == StepKind::kOneShot && args_.one_shot != nullptr &&
      !args_.one_shot->bells.empty()) {
    // Sleep on my doorbell, unless the line I wait for came meanwhile (see OneShotBell).
    OneShotBell* mine = args_.one_shot->bells[static_cast<size_t>(plan_->rank)];
    const proto::OneShotCursor& c = one_shot_cursor_;
    __atomic_store_n(&mine->waiting, 1u, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const uint32_t rung = __atomic_load_n(&mine->rung, __ATOMIC_SEQ_CST);
    uint64_t data = 0;
    if (c.waiting_line != nullptr && !proto::LlTryLoad(c.waiting_line, c.waiting_flag, &data))
      FutexWait(&mine->rung, rung, timeout_us);
    __atomic_store_n(&mine->waiting, 0u, __ATOMIC_SEQ_CST);
    return;
  }
  if (uses_net_ || st->kind == StepKind::kOneShot) {
    // Messages may arrive over the network meanwhile, which no futex announces: give the
    // core away once and look again.
    sched_yield();
    return;
  }
  if (st->recv_link >= 0) {
    RecvPort* in = ports_[static_cast<size_t>(st->recv_link)].recv;
    const std::byte* data = nullptr;
    size_t bytes = 0;
    if (in->Data(RecvNumber(*st), &data, &bytes).ok() && data == nullptr) {
      in->WaitForData(RecvNumber(*st), timeout_us);
      return;
    }
  }
  if (st->send_link >= 0)
    ports_[static_cast<size_t>(st->send_link)].send->WaitForSlot(SendNumber(*st), timeout_us);
}

std::string PlanExecutor::Waiting() const {
  for (size_t c = 0; c < next_.size(); ++c) {
    const std::vector<Step>& steps = plan_->channels[c].steps;
    if (next_[c] >= steps.size()) continue;
    const Step& st = steps[next_[c]];
    if (st.kind == StepKind::kOneShot)
      return Format(
          "channel %zu step %zu/%zu (%s): the lines of rank %d in the one-shot "
          "scratch (%zu of %zu reduced)",
          c, next_[c], steps.size(), StepKindName(st.kind), one_shot_cursor_.waiting_for,
          one_shot_cursor_.reduced, proto::OneShotLines(st.count * elem_size_));
    if (st.recv_link >= 0) {
      RecvPort* in = ports_[static_cast<size_t>(st.recv_link)].recv;
      const std::byte* data = nullptr;
      size_t bytes = 0;
      if (in->Data(RecvNumber(st), &data, &bytes).ok() && data == nullptr)
        return Format("channel %zu step %zu/%zu (%s): message %u from rank %d (%s link)", c,
                      next_[c], steps.size(), StepKindName(st.kind), st.recv_msg, st.recv_peer,
                      in->kind());
    }
    if (st.send_link >= 0)
      return Format("channel %zu step %zu/%zu (%s): a free slot of the %s link to rank %d", c,
                    next_[c], steps.size(), StepKindName(st.kind),
                    ports_[static_cast<size_t>(st.send_link)].send->kind(), st.send_peer);
    return Format("channel %zu step %zu/%zu (%s)", c, next_[c], steps.size(),
                  StepKindName(st.kind));
  }
  for (const Endpoints& e : ports_)
    if (e.send != nullptr && e.send->InFlight())
      return Format("the last messages to rank %d to leave (%s link)", e.send->peer(),
                    e.send->kind());
  return "nothing";
}

}  // namespace weft
