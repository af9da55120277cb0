#include "collectives/plan.h"

#include <cstdint>
#include <map>

#include "transport/transport.h"

namespace weft {

const char* StepKindName(StepKind k) {
  switch (k) {
    case StepKind::kSend:
      return "Send";
    case StepKind::kRecv:
      return "Recv";
    case StepKind::kRecvCopySend:
      return "RecvCopySend";
    case StepKind::kRecvReduceSend:
      return "RecvReduceSend";
    case StepKind::kRecvReduceCopy:
      return "RecvReduceCopy";
    case StepKind::kRecvReduceCopySend:
      return "RecvReduceCopySend";
    case StepKind::kCopy:
      return "Copy";
    case StepKind::kPostAddress:
      return "PostAddress";
    case StepKind::kReadPeer:
      return "ReadPeer";
    case StepKind::kSignal:
      return "Signal";
    case StepKind::kWaitSignal:
      return "WaitSignal";
  }
  return "?";
}

Step MakeStep(StepKind kind, int send_peer, int recv_peer, Region src, Region dst) {
  Step st;
  st.kind = kind;
  st.send_peer = send_peer;
  st.recv_peer = recv_peer;
  st.src = src;
  st.dst = dst;
  st.count = src.buf != BufferId::kNone ? src.count : dst.count;
  return st;
}

Plan Plan::Empty(CollType coll, int rank, int nranks, size_t input_count, size_t output_count,
                 int nchannels) {
  Plan plan;
  plan.coll = coll;
  plan.rank = rank;
  plan.nranks = nranks;
  plan.input_count = input_count;
  plan.output_count = output_count;
  plan.channels.resize(static_cast<size_t>(nchannels));
  return plan;
}

size_t Plan::StepCount() const {
  size_t n = 0;
  for (const ChannelPlan& c : channels)
    n += c.steps.size();
  return n;
}

namespace {
std::string RegionText(const Region& r) {
  const char* b = r.buf == BufferId::kInput ? "in" : r.buf == BufferId::kOutput ? "out" : "-";
  return Format("%s[%zu+%zu]", b, r.offset, r.count);
}
}  // namespace

std::string Plan::Describe() const {
  std::string s = Format("%s rank %d/%d\n", CollName(coll), rank, nranks);
  for (size_t c = 0; c < channels.size(); ++c) {
    for (const Step& st : channels[c].steps) {
      s += Format("  ch%zu %-18s recv<-%d#%u send->%d#%u src %s dst %s%s%s\n", c,
                  StepKindName(st.kind), st.recv_peer, st.recv_msg, st.send_peer, st.send_msg,
                  RegionText(st.src).c_str(), RegionText(st.dst).c_str(),
                  st.finalize ? " final" : "", st.fence ? " fence" : "");
    }
  }
  return s;
}

Status NumberMessages(Plan* plan) {
  for (ChannelPlan& channel : plan->channels) {
    std::map<int, uint32_t> sent, received;
    for (Step& st : channel.steps) {
      if (StepSends(st.kind)) st.send_msg = sent[st.send_peer]++;
      if (StepReceives(st.kind)) st.recv_msg = received[st.recv_peer]++;
    }
    for (const auto& [peer, n] : sent) {
      WEFT_REQUIRE(n <= kMaxMessagesPerLink, weftInvalidArgument,
                   "plan sends %u messages to rank %d on one channel (limit %u): raise "
                   "WEFT_CHUNK_SIZE",
                   n, peer, kMaxMessagesPerLink);
    }
  }
  return Status::Ok();
}

}  // namespace weft
