#include "sim/plan_sim.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <queue>
#include <unordered_map>

namespace weft::sim {
namespace {

// One message of a channel: (sender, receiver, channel, index among that link's messages).
struct MessageKey {
  int src, dst, channel;
  uint32_t index;
  bool operator==(const MessageKey& o) const {
    return src == o.src && dst == o.dst && channel == o.channel && index == o.index;
  }
};
// A link: (sender, receiver, channel), as a key with index 0.
struct MessageKeyHash {
  size_t operator()(const MessageKey& k) const {
    uint64_t h = static_cast<uint64_t>(k.src) * 0x9E3779B97F4A7C15ull;
    h ^= static_cast<uint64_t>(k.dst) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(k.channel) * 0x85EBCA77C2B2AE63ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(k.index) * 0xC2B2AE3D27D4EB4Full + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

struct Message {
  MessageKey key;
  bool posted = false;       // its sender ran the step that sends it
  bool recv_posted = false;  // its receiver posted the receive
  bool started = false;      // it queued at the sender's port
  bool sent = false;         // its first byte left: arrival_us is known
  bool received = false;     // the receiving step ran
  bool awaited = false;      // its receiving step is blocked on it
  bool rendezvous = false;   // it waited for its receive to be posted
  size_t bytes = 0;
  double arrival_us = 0;
};

// Where a step's messages live in the simulation's array of messages.
constexpr size_t kNoSlot = std::numeric_limits<size_t>::max();
struct StepSlots {
  size_t recv = kNoSlot;  // the message it receives
  size_t send = kNoSlot;  // the message it sends
};

struct ChannelClock {
  size_t next = 0;       // the step to run next
  size_t posted = 0;     // receives of the steps before this one are posted
  size_t unstarted = 0;  // sends waiting for their receive (rendezvous)
  bool fence_waiting = false;
  double sends_done_us = 0;  // every started send has left (for fences)
};

enum class EventKind : uint8_t {
  kTry,       // a channel's next step starts if it can
  kFinish,    // a step's work is done: its message is posted, the channel moves on
  kTransmit,  // a message's first byte leaves: it queues at the receiver's port
};

struct Event {
  double t;
  uint64_t seq;  // ties in time run in the order they were made: deterministic
  EventKind kind;
  int rank, channel;  // kTransmit: the message's
  size_t message;     // kTransmit: its slot
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

// Bytes on the wire: data steps move their elements; the one-copy steps' messages are
// control words (an address, a "done"), their data is read by the receiver.
size_t WireBytes(const Step& st, size_t elem_size) {
  switch (st.kind) {
    case StepKind::kPostAddress:
    case StepKind::kReadPeer:
    case StepKind::kRecvAddress:
      return sizeof(PostedAddress);
    case StepKind::kReducePeer:
    case StepKind::kWritePeer:
      return 0;  // no message: the data moves through the peer's mapped memory
    case StepKind::kSignal:
    case StepKind::kWaitSignal:
      return 0;
    default:
      return st.count * elem_size;
  }
}

// Rank time of a step besides its messages; `sharers`: channels that run at once and share
// the rank's memory (GPU blocks), whose reductions and copies each get that share of it.
double WorkUs(const Step& st, size_t elem_size, const SimNetwork& net, size_t sharers = 1) {
  const double bytes = static_cast<double>(st.count * elem_size) * static_cast<double>(sharers);
  double us = net.step_us;
  if (StepReduces(st.kind)) us += bytes / (net.reduce_gbps * 1e3);
  if (st.kind == StepKind::kCopy && (st.src.buf != st.dst.buf || st.src.offset != st.dst.offset))
    us += bytes / (net.copy_gbps * 1e3);
  if (st.kind == StepKind::kReadPeer) us += bytes / (net.intra.gbps * 1e3);  // reads peer memory
  // Reads (and for a write-back, writes) the peer's memory as it reduces.
  if (st.kind == StepKind::kReducePeer)
    us += bytes / (net.reduce_gbps * 1e3) + (st.peer_write ? bytes / (net.copy_gbps * 1e3) : 0);
  if (st.kind == StepKind::kWritePeer) us += bytes / (net.copy_gbps * 1e3);
  return us;
}

class Simulation {
 public:
  Simulation(const std::vector<Plan>& plans, size_t elem_size, const SimNetwork& net,
             const ExecutorModel& executor)
      : plans_(plans), elem_size_(elem_size), net_(net), executor_(executor), ports_(net) {}

  Status Run(SimResult* out) {
    const int n = net_.nranks();
    WEFT_REQUIRE(static_cast<int>(plans_.size()) == n, weftInvalidArgument,
                 "%zu plans for a network of %d ranks", plans_.size(), n);
    channels_.resize(n);
    rank_free_.assign(n, 0.0);
    channel_free_.assign(n, {});
    out->rank_done_us.assign(n, 0.0);
    for (int r = 0; r < n; ++r) {
      WEFT_REQUIRE(plans_[r].nranks == n && plans_[r].rank == r, weftInvalidArgument,
                   "plan %d is rank %d's of %d ranks", r, plans_[r].rank, plans_[r].nranks);
      channels_[r].resize(plans_[r].channels.size());
      channel_free_[r].assign(plans_[r].channels.size(), 0.0);
    }
    IndexMessages();
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < static_cast<int>(channels_[r].size()); ++c) {
        PostReceives(r, c, 0);
        Push(0, EventKind::kTry, r, c);
      }
    while (!events_.empty()) {
      const Event e = events_.top();
      events_.pop();
      switch (e.kind) {
        case EventKind::kTry:
          WEFT_CHECK(Try(e, out));
          break;
        case EventKind::kFinish:
          WEFT_CHECK(Finish(e));
          break;
        case EventKind::kTransmit:
          Transmit(e);
          break;
      }
    }
    return Check(out);
  }

 private:
  void Push(double t, EventKind kind, int rank, int channel, size_t message = kNoSlot) {
    events_.push(Event{t, seq_++, kind, rank, channel, message});
  }
  const std::vector<Step>& Steps(int r, int c) const { return plans_[r].channels[c].steps; }

  // Every message a step sends or receives gets one slot of messages_, each link (sender,
  // receiver, channel) a run of them by index; each step's slots are found here, once. A
  // hash lookup per step and event was most of the time on 512-rank jobs.
  void IndexMessages() {
    const int n = net_.nranks();
    auto send_link = [&](int r, int c, const Step& st) {
      return MessageKey{r, st.send_peer, c, 0};
    };
    auto recv_link = [&](int r, int c, const Step& st) {
      return MessageKey{st.recv_peer, r, c, 0};
    };
    // A send to a peer out of range gets no slot: Finish reports it.
    auto sends = [&](int r, const Step& st) {
      return StepSends(st.kind) && st.send_peer >= 0 && st.send_peer < n && st.send_peer != r;
    };
    std::unordered_map<MessageKey, size_t, MessageKeyHash> links;  // messages, then base
    std::vector<MessageKey> order;  // links by first use: slots are deterministic
    auto note = [&](const MessageKey& link, uint32_t index) {
      auto [it, fresh] = links.try_emplace(link, 0);
      if (fresh) order.push_back(link);
      it->second = std::max<size_t>(it->second, size_t{index} + 1);
    };
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < static_cast<int>(channels_[r].size()); ++c)
        for (const Step& st : Steps(r, c)) {
          if (StepReceives(st.kind)) note(recv_link(r, c, st), st.recv_msg);
          if (sends(r, st)) note(send_link(r, c, st), st.send_msg);
        }
    size_t total = 0;
    for (const MessageKey& link : order) {
      const size_t count = links[link];
      links[link] = total;
      for (uint32_t i = 0; i < count; ++i) {
        MessageKey key = link;
        key.index = i;
        messages_.push_back(Message{});
        messages_.back().key = key;
      }
      total += count;
    }
    slots_.resize(n);
    for (int r = 0; r < n; ++r) {
      slots_[r].resize(channels_[r].size());
      for (int c = 0; c < static_cast<int>(channels_[r].size()); ++c) {
        const std::vector<Step>& steps = Steps(r, c);
        slots_[r][c].resize(steps.size());
        for (size_t i = 0; i < steps.size(); ++i) {
          const Step& st = steps[i];
          if (StepReceives(st.kind))
            slots_[r][c][i].recv = links[recv_link(r, c, st)] + st.recv_msg;
          if (sends(r, st)) slots_[r][c][i].send = links[send_link(r, c, st)] + st.send_msg;
        }
      }
    }
  }

  // The receives of the window's steps are posted; a rendezvous message waiting for one
  // starts now.
  void PostReceives(int r, int c, double now) {
    ChannelClock& ch = channels_[r][c];
    const std::vector<Step>& steps = Steps(r, c);
    const size_t end = std::min(steps.size(), ch.next + std::max<size_t>(1, executor_.recv_window));
    for (; ch.posted < end; ++ch.posted) {
      if (!StepReceives(steps[ch.posted].kind)) continue;
      const size_t slot = slots_[r][c][ch.posted].recv;
      Message& m = messages_[slot];
      m.recv_posted = true;
      if (m.posted && !m.started) Start(slot, now);
    }
  }

  // The message queues at its sender's port now.
  void Start(size_t slot, double now) {
    Message* m = &messages_[slot];
    const MessageKey& key = m->key;
    ChannelClock& sender = channels_[key.src][key.channel];
    m->started = true;
    double sent_us;
    const double leaves = ports_.Leave(key.src, key.dst, m->bytes, now, &sent_us);
    sender.sends_done_us = std::max(sender.sends_done_us, sent_us);
    Push(leaves, EventKind::kTransmit, key.src, key.channel, slot);
    if (m->rendezvous && --sender.unstarted == 0 && sender.fence_waiting) {
      sender.fence_waiting = false;
      Push(now, EventKind::kTry, key.src, key.channel);
    }
  }

  // The next step of (rank, channel) starts now if it can, or is retried when it can.
  Status Try(const Event& e, SimResult* out) {
    const std::vector<Step>& steps = Steps(e.rank, e.channel);
    ChannelClock& ch = channels_[e.rank][e.channel];
    if (ch.next == steps.size()) {
      out->rank_done_us[e.rank] = std::max(out->rank_done_us[e.rank], e.t);
      return Status::Ok();
    }
    const Step& st = steps[ch.next];
    double ready = e.t;
    if (StepReceives(st.kind)) {
      Message& m = messages_[slots_[e.rank][e.channel][ch.next].recv];
      if (!m.sent) {  // its transmission will wake this channel
        m.awaited = true;
        return Status::Ok();
      }
      WEFT_REQUIRE(m.bytes == WireBytes(st, elem_size_), weftInternalError,
                   "rank %d channel %d step %zu (%s) receives %zu bytes from rank %d, which "
                   "sent %zu",
                   e.rank, e.channel, ch.next, StepKindName(st.kind), WireBytes(st, elem_size_),
                   st.recv_peer, m.bytes);
      ready = std::max(ready, m.arrival_us);
    }
    if (st.fence) {
      if (ch.unstarted > 0) {  // the last of them to start will wake this channel
        ch.fence_waiting = true;
        return Status::Ok();
      }
      ready = std::max(ready, ch.sends_done_us);
    }
    // One progress thread runs every channel of a rank; on a GPU each channel is a block
    // of its own, and they share the memory's rate.
    double& free = net_.channels_in_parallel
                       ? channel_free_[static_cast<size_t>(e.rank)][static_cast<size_t>(e.channel)]
                       : rank_free_[static_cast<size_t>(e.rank)];
    ready = std::max(ready, free);
    if (ready > e.t) {
      Push(ready, EventKind::kTry, e.rank, e.channel);
      return Status::Ok();
    }
    free =
        e.t + WorkUs(st, elem_size_, net_,
                     net_.channels_in_parallel ? channels_[static_cast<size_t>(e.rank)].size() : 1);
    Push(free, EventKind::kFinish, e.rank, e.channel);
    return Status::Ok();
  }

  Status Finish(const Event& e) {
    ChannelClock& ch = channels_[e.rank][e.channel];
    const Step& st = Steps(e.rank, e.channel)[ch.next];
    if (StepReceives(st.kind)) {
      Message& m = messages_[slots_[e.rank][e.channel][ch.next].recv];
      WEFT_REQUIRE(!m.received, weftInternalError,
                   "rank %d receives message %u from rank %d on channel %d twice (step %zu)",
                   e.rank, st.recv_msg, st.recv_peer, e.channel, ch.next);
      m.received = true;
    }
    if (StepSends(st.kind)) {
      WEFT_REQUIRE(st.send_peer >= 0 && st.send_peer < net_.nranks() && st.send_peer != e.rank,
                   weftInternalError, "rank %d channel %d step %zu (%s) sends to rank %d", e.rank,
                   e.channel, ch.next, StepKindName(st.kind), st.send_peer);
      const size_t slot = slots_[e.rank][e.channel][ch.next].send;
      Message& m = messages_[slot];
      WEFT_REQUIRE(!m.posted, weftInternalError,
                   "rank %d sends message %u to rank %d on channel %d twice (step %zu)", e.rank,
                   st.send_msg, st.send_peer, e.channel, ch.next);
      m.posted = true;
      m.bytes = WireBytes(st, elem_size_);
      ++sent_;
      if (m.bytes < executor_.rndv_bytes || m.recv_posted) {
        Start(slot, e.t);
      } else {
        m.rendezvous = true;  // the receiver's PostReceives starts it
        ++ch.unstarted;
      }
    }
    ++ch.next;
    PostReceives(e.rank, e.channel, e.t);
    Push(e.t, EventKind::kTry, e.rank, e.channel);
    return Status::Ok();
  }

  void Transmit(const Event& e) {
    Message& m = messages_[e.message];
    m.sent = true;
    m.arrival_us = ports_.Arrive(m.key.src, m.key.dst, m.bytes, e.t);
    if (m.awaited) Push(m.arrival_us, EventKind::kTry, m.key.dst, m.key.channel);
  }

  // After the last event: every step ran and every message was received.
  Status Check(SimResult* out) const {
    for (int r = 0; r < net_.nranks(); ++r)
      for (size_t c = 0; c < channels_[r].size(); ++c) {
        const size_t next = channels_[r][c].next;
        const std::vector<Step>& steps = Steps(r, static_cast<int>(c));
        if (next == steps.size()) continue;
        const Step& st = steps[next];
        if (st.fence && channels_[r][c].unstarted > 0)
          return InternalError(
              Format("deadlock: rank %d channel %zu step %zu of %zu (%s) waits for sends whose "
                     "receives are never posted",
                     r, c, next, steps.size(), StepKindName(st.kind)));
        return InternalError(Format(
            "deadlock: rank %d channel %zu step %zu of %zu (%s) waits for message %u from rank "
            "%d, which never sends it%s",
            r, c, next, steps.size(), StepKindName(st.kind), st.recv_msg, st.recv_peer,
            slots_[r][c][next].recv != kNoSlot && messages_[slots_[r][c][next].recv].posted
                ? " (it waits for its receive to be posted)"
                : ""));
      }
    for (const Message& m : messages_)
      WEFT_REQUIRE(m.received || !m.posted, weftInternalError,
                   "rank %d sent message %u to rank %d on channel %d, which no step receives",
                   m.key.src, m.key.index, m.key.dst, m.key.channel);
    out->time_us = 0;
    for (double t : out->rank_done_us)
      out->time_us = std::max(out->time_us, t);
    out->messages = sent_;
    out->bytes_between_hosts = ports_.BytesBetweenHosts();
    out->busiest_nic_bytes = ports_.BusiestNicBytes();
    return Status::Ok();
  }

  const std::vector<Plan>& plans_;
  const size_t elem_size_;
  const SimNetwork& net_;
  const ExecutorModel executor_;
  PortClock ports_;
  std::vector<std::vector<ChannelClock>> channels_;
  std::vector<double> rank_free_;                           // one progress thread per rank
  std::vector<std::vector<double>> channel_free_;           // or a block per channel (GPUs)
  std::vector<Message> messages_;                           // by slot
  std::vector<std::vector<std::vector<StepSlots>>> slots_;  // [rank][channel][step]
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t seq_ = 0;
  size_t sent_ = 0;
};

}  // namespace

Status SimulatePlans(const std::vector<Plan>& plans, size_t elem_size, const SimNetwork& net,
                     const ExecutorModel& executor, SimResult* out) {
  WEFT_REQUIRE(net.nhosts >= 1 && net.ranks_per_host >= 1, weftInvalidArgument,
               "a network of %d hosts x %d ranks", net.nhosts, net.ranks_per_host);
  WEFT_REQUIRE(net.intra.gbps > 0 && net.inter.gbps > 0 && net.reduce_gbps > 0 && net.copy_gbps > 0,
               weftInvalidArgument, "every rate of the network must be positive");
  Simulation sim(plans, elem_size, net, executor);
  return sim.Run(out);
}

}  // namespace weft::sim
