#include "collectives/plan.h"

#include <algorithm>
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
    case StepKind::kRecvAddress:
      return "RecvAddress";
    case StepKind::kReducePeer:
      return "ReducePeer";
    case StepKind::kWritePeer:
      return "WritePeer";
    case StepKind::kOneShot:
      return "OneShot";
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
  const char* b = r.buf == BufferId::kInput     ? "in"
                  : r.buf == BufferId::kOutput  ? "out"
                  : r.buf == BufferId::kScratch ? "scratch"
                                                : "-";
  return Format("%s[%zu+%zu]", b, r.offset, r.count);
}
}  // namespace

std::string Plan::Describe() const {
  std::string s = Format("%s rank %d/%d\n", CollName(coll), rank, nranks);
  for (size_t c = 0; c < channels.size(); ++c) {
    for (const Step& st : channels[c].steps) {
      s += Format("  ch%zu %-18s recv<-%d#%u send->%d#%u src %s dst %s%s%s", c,
                  StepKindName(st.kind), st.recv_peer, st.recv_msg, st.send_peer, st.send_msg,
                  RegionText(st.src).c_str(), RegionText(st.dst).c_str(),
                  st.finalize ? " final" : "", st.fence ? " fence" : "");
      if (st.mem_peer >= 0)
        s += Format(" rank%d.%s%s", st.mem_peer, RegionText(st.peer_mem).c_str(),
                    st.peer_write ? " write-back" : "");
      s += "\n";
    }
  }
  return s;
}

Status NumberMessages(Plan* plan) {
  plan->links.clear();
  for (size_t c = 0; c < plan->channels.size(); ++c) {
    // Link index by (peer, direction) on this channel.
    std::map<std::pair<int, bool>, int32_t> index;
    auto link = [&](int peer, bool send, const Step& st) {
      auto [it, added] = index.emplace(std::make_pair(peer, send), 0);
      if (added) {
        it->second = static_cast<int32_t>(plan->links.size());
        PlanLink l;
        l.channel = static_cast<int>(c);
        l.peer = peer;
        l.send = send;
        plan->links.push_back(l);
      }
      PlanLink& l = plan->links[static_cast<size_t>(it->second)];
      l.max_elems = std::max(l.max_elems, StepIsOneCopy(st.kind) ? 0 : st.count);
      l.control = l.control || StepIsOneCopy(st.kind);
      return it->second;
    };
    for (Step& st : plan->channels[c].steps) {
      if (StepSends(st.kind)) {
        st.send_link = link(st.send_peer, true, st);
        st.send_msg = plan->links[static_cast<size_t>(st.send_link)].messages++;
      }
      if (StepReceives(st.kind)) {
        st.recv_link = link(st.recv_peer, false, st);
        st.recv_msg = plan->links[static_cast<size_t>(st.recv_link)].messages++;
      }
    }
  }
  MarkStreamedResults(plan);
  for (const PlanLink& l : plan->links) {
    WEFT_REQUIRE(l.messages <= kMaxMessagesPerLink, weftInvalidArgument,
                 "plan moves %u messages %s rank %d on one channel (limit %u): raise "
                 "WEFT_CHUNK_SIZE",
                 l.messages, l.send ? "to" : "from", l.peer, kMaxMessagesPerLink);
  }
  return Status::Ok();
}

namespace {

// Element ranges [begin, end), merged where they touch.
class RangeSet {
 public:
  void Add(size_t begin, size_t end) {
    auto it = ranges_.upper_bound(begin);
    if (it != ranges_.begin() && std::prev(it)->second >= begin) {
      --it;
      begin = it->first;
    }
    while (it != ranges_.end() && it->first <= end) {
      end = std::max(end, it->second);
      it = ranges_.erase(it);
    }
    ranges_[begin] = end;
  }
  bool Overlaps(size_t begin, size_t end) const {
    auto it = ranges_.upper_bound(begin);
    if (it != ranges_.begin() && std::prev(it)->second > begin) return true;
    return it != ranges_.end() && it->first < end;
  }

 private:
  std::map<size_t, size_t> ranges_;  // begin -> end
};

}  // namespace

void MarkStreamedResults(Plan* plan) {
  for (ChannelPlan& ch : plan->channels) {
    RangeSet read_later;  // output read by the steps after the one at hand
    for (auto it = ch.steps.rbegin(); it != ch.steps.rend(); ++it) {
      Step& st = *it;
      st.stream = StepReduces(st.kind) && st.dst.buf == BufferId::kOutput && st.dst.count > 0 &&
                  !read_later.Overlaps(st.dst.offset, st.dst.offset + st.dst.count);
      if (st.src.buf == BufferId::kOutput && st.src.count > 0)
        read_later.Add(st.src.offset, st.src.offset + st.src.count);
    }
  }
}

size_t LinkMessageBytes(const PlanLink& link, size_t elem_size) {
  const size_t data = link.max_elems * elem_size;
  return link.control ? std::max(data, sizeof(PostedAddress)) : data;
}

}  // namespace weft
