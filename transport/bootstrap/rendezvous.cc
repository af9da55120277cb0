#include "transport/bootstrap/rendezvous.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/log.h"
#include "transport/bootstrap/unique_id.h"
#include "transport/bootstrap/wire_io.h"

namespace weft {
namespace {

std::vector<uint8_t> Text(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// "{2}" or "{1, 3}".
std::string RankList(const std::vector<int32_t>& ranks) {
  std::string text = "{";
  for (size_t k = 0; k < ranks.size(); ++k)
    text += Format("%s%d", k ? ", " : "", ranks[k]);
  return text + "}";
}

}  // namespace

Rendezvous::Rendezvous(const std::array<uint8_t, 16>& secret, int64_t timeout_ms,
                       std::atomic<int>* rejected)
    : secret_(secret),
      timeout_ms_(timeout_ms),
      rejected_(rejected),
      gather_deadline_(DeadlineIn(timeout_ms)) {}

int Rendezvous::Strangers() const {
  return static_cast<int>(std::count_if(conns_.begin(), conns_.end(), [](const Connection& c) {
    return c.rank < 0 && c.sock.valid();
  }));
}

bool Rendezvous::DropOldestStranger(const char* why) {
  for (Connection& c : conns_) {
    if (c.rank < 0 && c.sock.valid()) {
      Drop(c, why);
      return true;
    }
  }
  return false;
}

void Rendezvous::Accept(Socket s) {
  if (Strangers() >= kMaxStrangers) DropOldestStranger("too many connections without a hello");
  Connection c;
  c.sock = std::move(s);
  c.hello_deadline = DeadlineIn(std::min(timeout_ms_, kStrangerDeadlineMs));
  conns_.push_back(std::move(c));
  Read(conns_.size() - 1);  // a rank's hello is usually there already
}

std::vector<pollfd> Rendezvous::PollFds() const {
  std::vector<pollfd> fds;
  for (const Connection& c : conns_)
    fds.push_back({c.sock.fd(), POLLIN, 0});
  return fds;
}

Deadline Rendezvous::NextWake() const {
  Deadline wake = Clock::now() + std::chrono::seconds(3600);
  for (const Connection& c : conns_)
    if (c.rank < 0 && c.hello_deadline < wake) wake = c.hello_deadline;
  if ((nranks_ < 0 || members_ < nranks_) && gather_deadline_ < wake) wake = gather_deadline_;
  if (!stalls_.empty() && stall_deadline_ < wake) wake = stall_deadline_;
  return wake;
}

void Rendezvous::Read(size_t i) {
  Connection& c = conns_[i];
  if (!c.sock.valid()) return;
  uint8_t tmp[65536];
  // From a stranger, no more than a hello: what it sends cannot grow the root.
  const size_t want = c.rank >= 0 ? sizeof(tmp) : sizeof(WireHeader) + kHelloBytes - c.in.size();
  const ssize_t n = recv(c.sock.fd(), tmp, want, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    Closed(c);
    return;
  }
  if (n < 0) return;
  c.in.insert(c.in.end(), tmp, tmp + n);
  // Every complete message in the buffer.
  while (c.sock.valid() && c.in.size() >= sizeof(WireHeader)) {
    WireHeader h;
    std::memcpy(&h, c.in.data(), sizeof(h));
    if (!CheckHeader(h).ok()) {
      Drop(c, "bad header");
      break;
    }
    if (c.rank < 0 &&
        (h.type != static_cast<uint16_t>(MsgType::kHello) || h.length != kHelloBytes)) {
      Drop(c, "a first message that is not a hello");
      break;
    }
    if (c.in.size() < sizeof(h) + h.length) break;
    std::vector<uint8_t> payload(c.in.begin() + sizeof(h), c.in.begin() + sizeof(h) + h.length);
    c.in.erase(c.in.begin(), c.in.begin() + sizeof(h) + h.length);
    if (!Handle(c, static_cast<MsgType>(h.type), std::move(payload))) Drop(c, "unexpected message");
  }
}

bool Rendezvous::Tick() {
  for (Connection& c : conns_)
    if (c.sock.valid() && c.rank < 0 && Clock::now() >= c.hello_deadline)
      Drop(c, "no hello in time");
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(),
                              [](const Connection& c) { return !c.sock.valid() && c.rank < 0; }),
               conns_.end());
  if ((nranks_ < 0 || members_ < nranks_) && Clock::now() >= gather_deadline_) {
    FailAll(Format("only %d of %d ranks arrived within WEFT_TIMEOUT_MS=%lld", members_, nranks_,
                   static_cast<long long>(timeout_ms_)));
    return true;
  }
  if (!stalls_.empty() && Clock::now() >= stall_deadline_) FinishStall();
  if (nranks_ > 0 && left_ == nranks_) return true;  // everyone left cleanly
  if (failure_.empty()) return false;
  return std::none_of(conns_.begin(), conns_.end(),
                      [](const Connection& c) { return c.sock.valid(); });
}

void Rendezvous::Drop(Connection& c, const char* why) {
  WEFT_INFO(kLogInit, "bootstrap root: dropping connection (%s)", why);
  if (c.rank < 0) ++*rejected_;
  c.sock.Close();
}

void Rendezvous::Closed(Connection& c) {
  if (c.rank >= 0 && !c.said_bye) {
    c.sock.Close();
    FailAll(Format("rank %d disconnected from the bootstrap without leaving", c.rank));
  } else {
    if (c.rank >= 0) ++left_;
    Drop(c, "closed");
  }
  AdvanceShrink();
}

void Rendezvous::FailAll(const std::string& why) {
  if (!failure_.empty()) return;
  failure_ = why;
  // Every member is told and reports it; the root's own line is for tracing.
  WEFT_INFO(kLogInit, "bootstrap root: %s", why.c_str());
  for (Connection& c : conns_)
    if (c.rank >= 0 && c.sock.valid())
      (void)SendWireMessage(c.sock, MsgType::kError, Text(why), DeadlineIn(1000));
}

bool Rendezvous::Handle(Connection& c, MsgType type, std::vector<uint8_t> payload) {
  if (c.rank < 0) return Join(c, type, payload);
  switch (type) {
    case MsgType::kBye:
      c.said_bye = true;
      return true;
    case MsgType::kShrink:
      return Shrink(c, payload);
    case MsgType::kContribute:
      return Contribute(c, std::move(payload));
    case MsgType::kStalled:
      return Stalled(c, payload);
    default:
      return false;
  }
}

bool Rendezvous::Join(Connection& c, MsgType type, const std::vector<uint8_t>& payload) {
  Hello hello;
  if (type != MsgType::kHello || !DecodeHello(payload, &hello).ok()) return false;
  if (!SameSecret(hello.secret, secret_) || hello.version != kBootstrapProtocolVersion) {
    (void)SendWireMessage(c.sock, MsgType::kError,
                          Text("the unique id's secret does not match: it belongs to another job"),
                          DeadlineIn(100));
    return false;
  }
  std::string problem;
  if (hello.nranks < 1)
    problem = Format("nranks %d", hello.nranks);
  else if (nranks_ >= 0 && hello.nranks != nranks_)
    problem = Format("rank %d says nranks=%d, others %d", hello.rank, hello.nranks, nranks_);
  else if (hello.rank < 0 || hello.rank >= hello.nranks)
    problem = Format("rank %d out of range for nranks=%d", hello.rank, hello.nranks);
  for (const Connection& o : conns_)
    if (problem.empty() && o.rank == hello.rank && o.sock.valid())
      problem = Format("rank %d joined twice", hello.rank);
  if (!problem.empty()) {
    (void)SendWireMessage(c.sock, MsgType::kError, Text(problem), DeadlineIn(1000));
    return false;
  }
  if (nranks_ < 0) {
    nranks_ = hello.nranks;
    round_.assign(nranks_, std::nullopt);
    joined_.assign(nranks_, false);
  }
  c.rank = hello.rank;
  joined_[c.rank] = true;
  ++members_;
  return true;
}

bool Rendezvous::Contribute(Connection& c, std::vector<uint8_t> payload) {
  if (round_[c.rank]) return false;  // twice in one round
  if (!failure_.empty()) {
    (void)SendWireMessage(c.sock, MsgType::kError, Text(failure_), DeadlineIn(1000));
    return true;
  }
  round_[c.rank] = std::move(payload);
  TryFinishRound();
  return true;
}

void Rendezvous::TryFinishRound() {
  if (nranks_ < 0 || members_ < nranks_ || !failure_.empty()) return;
  for (const auto& part : round_)
    if (!part) return;
  std::vector<std::vector<uint8_t>> parts;
  for (auto& part : round_)
    parts.push_back(std::move(*part)), part.reset();
  const std::vector<uint8_t> payload = EncodeGathered(parts);
  for (Connection& c : conns_) {
    if (c.rank < 0 || !c.sock.valid()) continue;
    Status s = SendWireMessage(c.sock, MsgType::kGathered, payload, DeadlineIn(timeout_ms_));
    if (!s.ok()) FailAll(Format("cannot reach rank %d: %s", c.rank, s.message().c_str()));
  }
}

bool Rendezvous::Excluded(int rank) const {
  return std::binary_search(shrink_excluded_.begin(), shrink_excluded_.end(), rank);
}

bool Rendezvous::Shrink(Connection& c, const std::vector<uint8_t>& payload) {
  ShrinkRequest request;
  if (!DecodeShrink(payload, nranks_, &request).ok()) return false;
  if (!shrinking_) {
    shrinking_ = true;
    shrink_excluded_ = request.excluded;
    shrink_parts_.assign(nranks_, std::nullopt);
  }
  if (shrink_parts_[c.rank]) return false;  // asked twice in one round
  shrink_parts_[c.rank] = std::move(request.data);
  if (request.excluded != shrink_excluded_)
    FailShrink(
        Format("the ranks disagree on whom to exclude: rank %d excludes %s, another "
               "rank %s",
               c.rank, RankList(request.excluded).c_str(), RankList(shrink_excluded_).c_str()),
        weftInvalidUsage);
  else if (Excluded(c.rank))
    FailShrink(Format("rank %d asked to shrink but is one of the excluded ranks %s", c.rank,
                      RankList(shrink_excluded_).c_str()),
               weftInvalidUsage);
  else
    AdvanceShrink();
  return true;
}

// Every rank that is not excluded must still be connected; once all have asked, each gets
// everyone's bytes (nothing for the excluded ranks).
void Rendezvous::AdvanceShrink() {
  if (!shrinking_) return;
  std::vector<bool> connected(nranks_, false);
  for (const Connection& c : conns_)
    if (c.rank >= 0 && c.sock.valid()) connected[c.rank] = true;
  bool all_asked = true;
  for (int r = 0; r < nranks_; ++r) {
    if (Excluded(r)) continue;
    if (joined_[r] && !connected[r])
      return FailShrink(Format("rank %d is not excluded but has left the job", r));
    all_asked = all_asked && shrink_parts_[r].has_value();
  }
  if (!all_asked) return;
  std::vector<std::vector<uint8_t>> parts(nranks_);
  for (int r = 0; r < nranks_; ++r)
    if (shrink_parts_[r]) parts[r] = std::move(*shrink_parts_[r]);
  const std::vector<uint8_t> payload = EncodeGathered(parts);
  for (Connection& c : conns_)
    if (c.rank >= 0 && c.sock.valid() && !Excluded(c.rank))
      (void)SendWireMessage(c.sock, MsgType::kGathered, payload, DeadlineIn(timeout_ms_));
  shrinking_ = false;
}

// Ends the shrink round: tells every rank that asked to be in it, then forgets it.
void Rendezvous::FailShrink(const std::string& why, weftResult_t code) {
  WEFT_WARN(kLogInit, "bootstrap root: shrink: %s", why.c_str());
  const std::vector<uint8_t> verdict = EncodeVerdict(Status(code, why));
  for (Connection& c : conns_)
    if (c.rank >= 0 && c.sock.valid() && shrink_parts_[c.rank])
      (void)SendWireMessage(c.sock, MsgType::kShrinkFailed, verdict, DeadlineIn(1000));
  shrinking_ = false;
}

bool Rendezvous::Stalled(Connection& c, const std::vector<uint8_t>& payload) {
  StallReport report;
  if (!DecodeStall(payload, &report).ok()) return false;
  if (stalls_.empty()) {
    stalls_.assign(static_cast<size_t>(nranks_), std::nullopt);
    stall_deadline_ = DeadlineIn(StallWindowMs(timeout_ms_));
  }
  stalls_[static_cast<size_t>(c.rank)] = std::move(report);
  if (std::all_of(stalls_.begin(), stalls_.end(), [](const auto& s) { return s.has_value(); }))
    FinishStall();
  return true;
}

// The verdict: the ranks that did not report are the ones that stopped (stopped, frozen,
// or busy elsewhere and not calling); if every rank reported, those that had issued fewer
// calls are behind the others; else no rank stopped, and the calls themselves disagree.
void Rendezvous::FinishStall() {
  auto list = [](const std::vector<int32_t>& ranks) {  // "2", "1, 3"
    std::string text;
    for (int32_t r : ranks)
      text += Format("%s%d", text.empty() ? "" : ", ", r);
    return text;
  };
  std::vector<int32_t> silent, reported;
  uint64_t most = 0;
  stalled_before_.resize(static_cast<size_t>(nranks_), false);
  for (int r = 0; r < nranks_; ++r) {
    if (stalls_[static_cast<size_t>(r)])
      reported.push_back(r),
          most = std::max(most, stalls_[static_cast<size_t>(r)]->completed_calls);
    else if (!stalled_before_[static_cast<size_t>(r)])
      silent.push_back(r);
  }
  for (int32_t r : reported)
    stalled_before_[static_cast<size_t>(r)] = true;
  std::string verdict;
  if (!silent.empty()) {
    verdict = Format(
        "%s %s stopped making progress: %s not report within %lld ms when the others timed out",
        silent.size() == 1 ? "rank" : "ranks", list(silent).c_str(),
        silent.size() == 1 ? "it did" : "they did",
        static_cast<long long>(StallWindowMs(timeout_ms_)));
  } else {
    std::vector<int32_t> behind;
    for (int32_t r : reported)
      if (stalls_[static_cast<size_t>(r)]->completed_calls < most) behind.push_back(r);
    verdict = behind.empty() ? std::string(
                                   "every rank timed out in the same call and none stopped: the "
                                   "ranks' calls may not match (WEFT_CHECK=1 names a mismatch)")
                             : Format("%s %s behind: fewer calls issued than the others (%llu)",
                                      behind.size() == 1 ? "rank" : "ranks", list(behind).c_str(),
                                      static_cast<unsigned long long>(most));
  }
  // Where each rank that reported was, as far as the message allows.
  for (int32_t r : reported) {
    const StallReport& s = *stalls_[static_cast<size_t>(r)];
    const std::string where =
        Format("; rank %d (%llu calls issued): %s", r,
               static_cast<unsigned long long>(s.completed_calls), s.waiting.c_str());
    if (verdict.size() + where.size() > 4000) break;
    verdict += where;
  }
  WEFT_INFO(kLogInit, "bootstrap root: %s", verdict.c_str());
  const std::vector<uint8_t> text(verdict.begin(), verdict.end());
  for (Connection& c : conns_)
    if (c.rank >= 0 && c.sock.valid() && stalls_[static_cast<size_t>(c.rank)])
      (void)SendWireMessage(c.sock, MsgType::kStallVerdict, text, DeadlineIn(1000));
  stalls_.clear();
}

}  // namespace weft
