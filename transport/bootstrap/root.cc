#include "transport/bootstrap/root.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "transport/bootstrap/unique_id.h"
#include "transport/bootstrap/wire.h"

namespace weft {
namespace {

struct Connection {
  Socket sock;
  std::vector<uint8_t> in;  // bytes received and not yet parsed
  int rank = -1;            // -1 until the hello is accepted
  bool said_bye = false;
  Deadline hello_deadline;
};

// Secrets compared without an early exit.
bool SameSecret(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

Status SendMessage(const Socket& s, MsgType type, const std::vector<uint8_t>& payload,
                   Deadline deadline) {
  WireHeader h{kWireMagic, static_cast<uint16_t>(type), 0, static_cast<uint32_t>(payload.size())};
  WEFT_CHECK(s.SendAll(&h, sizeof(h), deadline));
  if (!payload.empty()) WEFT_CHECK(s.SendAll(payload.data(), payload.size(), deadline));
  return Status::Ok();
}

}  // namespace

Status RootServer::Start(const sockaddr_in& addr, const std::array<uint8_t, 16>& secret,
                         int64_t timeout_ms, std::unique_ptr<RootServer>* out) {
  Socket listener;
  uint16_t port = 0;
  WEFT_CHECK(Socket::Listen(addr, &listener, &port));
  return Start(std::move(listener), secret, timeout_ms, out);
}

Status RootServer::Start(Socket listener, const std::array<uint8_t, 16>& secret, int64_t timeout_ms,
                         std::unique_ptr<RootServer>* out) {
  std::unique_ptr<RootServer> root(new RootServer());
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  if (getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    return ErrnoStatus("getsockname");
  root->port_ = ntohs(bound.sin_port);
  root->listener_ = std::move(listener);
  fcntl(root->listener_.fd(), F_SETFL, O_NONBLOCK);
  if (pipe2(root->stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus("pipe2");
  root->secret_ = secret;
  root->timeout_ms_ = timeout_ms;
  root->thread_ = std::thread([r = root.get()] { r->Run(); });
  *out = std::move(root);
  return Status::Ok();
}

RootServer::~RootServer() {
  if (stop_pipe_[1] >= 0) {
    char c = 1;
    (void)!write(stop_pipe_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : stop_pipe_)
    if (fd >= 0) close(fd);
}

void RootServer::Run() {
  std::vector<Connection> conns;
  int nranks = -1;  // learned from the first accepted hello
  std::vector<std::optional<std::vector<uint8_t>>> round;
  int members = 0, left = 0;
  std::string failure;  // once set, every member is told and the job is over
  const Deadline gather_deadline = DeadlineIn(timeout_ms_);
  // A shrink round (weftCommShrink): served even after a failure, among the ranks that are
  // not excluded; the first request sets the excluded ranks, every other must match.
  bool shrinking = false;
  std::vector<int32_t> shrink_excluded;
  std::vector<std::optional<std::vector<uint8_t>>> shrink_parts;
  std::vector<bool> joined;  // by rank: its hello was accepted

  auto drop = [&](size_t i, const char* why) {
    WEFT_INFO(kLogInit, "bootstrap root: dropping connection (%s)", why);
    if (conns[i].rank < 0) rejected_++;
    conns[i].sock.Close();
  };
  auto fail_all = [&](const std::string& why) {
    if (!failure.empty()) return;
    failure = why;
    WEFT_WARN(kLogInit, "bootstrap root: %s", why.c_str());
    std::vector<uint8_t> text(why.begin(), why.end());
    for (Connection& c : conns) {
      if (c.rank >= 0 && c.sock.valid())
        (void)SendMessage(c.sock, MsgType::kError, text, DeadlineIn(1000));
    }
  };
  auto try_finish_round = [&]() {
    if (nranks < 0 || members < nranks || !failure.empty()) return;
    for (const auto& part : round)
      if (!part) return;
    std::vector<std::vector<uint8_t>> parts;
    for (auto& part : round)
      parts.push_back(std::move(*part)), part.reset();
    std::vector<uint8_t> payload = EncodeGathered(parts);
    for (Connection& c : conns) {
      if (c.rank < 0 || !c.sock.valid()) continue;
      Status s = SendMessage(c.sock, MsgType::kGathered, payload, DeadlineIn(timeout_ms_));
      if (!s.ok()) fail_all(Format("cannot reach rank %d: %s", c.rank, s.message().c_str()));
    }
  };

  auto excluded = [&](int rank) {
    return std::binary_search(shrink_excluded.begin(), shrink_excluded.end(), rank);
  };
  // Ends the shrink round: tells every rank that asked to be in it, then forgets it.
  auto fail_shrink = [&](const std::string& why, weftResult_t code = weftRemoteError) {
    WEFT_WARN(kLogInit, "bootstrap root: shrink: %s", why.c_str());
    std::vector<uint8_t> text(why.size() + 1);  // the code, then the reason
    text[0] = static_cast<uint8_t>(code);
    std::copy(why.begin(), why.end(), text.begin() + 1);
    for (Connection& c : conns)
      if (c.rank >= 0 && c.sock.valid() && shrink_parts[c.rank])
        (void)SendMessage(c.sock, MsgType::kShrinkFailed, text, DeadlineIn(1000));
    shrinking = false;
  };
  // Every rank that is not excluded must still be connected, and once all have asked, each
  // gets everyone's bytes (nothing for the excluded ranks).
  auto advance_shrink = [&]() {
    if (!shrinking) return;
    std::vector<bool> connected(nranks, false);
    for (const Connection& c : conns)
      if (c.rank >= 0 && c.sock.valid()) connected[c.rank] = true;
    bool all_asked = true;
    for (int r = 0; r < nranks; ++r) {
      if (excluded(r)) continue;
      if (joined[r] && !connected[r])
        return fail_shrink(Format("rank %d is not excluded but has left the job", r));
      all_asked = all_asked && shrink_parts[r].has_value();
    }
    if (!all_asked) return;
    std::vector<std::vector<uint8_t>> parts(nranks);
    for (int r = 0; r < nranks; ++r)
      if (shrink_parts[r]) parts[r] = std::move(*shrink_parts[r]);
    const std::vector<uint8_t> payload = EncodeGathered(parts);
    for (Connection& c : conns)
      if (c.rank >= 0 && c.sock.valid() && !excluded(c.rank))
        (void)SendMessage(c.sock, MsgType::kGathered, payload, DeadlineIn(timeout_ms_));
    shrinking = false;
  };
  auto handle_shrink = [&](Connection& c, const std::vector<uint8_t>& payload) -> bool {
    ShrinkRequest request;
    if (!DecodeShrink(payload, nranks, &request).ok()) return false;
    if (!shrinking) {
      shrinking = true;
      shrink_excluded = request.excluded;
      shrink_parts.assign(nranks, std::nullopt);
    }
    auto list = [](const std::vector<int32_t>& ranks) {
      std::string text = "{";
      for (size_t k = 0; k < ranks.size(); ++k)
        text += Format("%s%d", k ? ", " : "", ranks[k]);
      return text + "}";
    };
    if (shrink_parts[c.rank]) return false;  // asked twice in one round
    shrink_parts[c.rank] = std::move(request.data);
    if (request.excluded != shrink_excluded) {
      fail_shrink(Format("the ranks disagree on whom to exclude: rank %d excludes %s, "
                         "another rank %s",
                         c.rank, list(request.excluded).c_str(), list(shrink_excluded).c_str()),
                  weftInvalidUsage);
    } else if (excluded(c.rank)) {
      fail_shrink(Format("rank %d asked to shrink but is one of the excluded ranks %s", c.rank,
                         list(shrink_excluded).c_str()),
                  weftInvalidUsage);
    } else {
      advance_shrink();
    }
    return true;
  };

  auto handle = [&](size_t i, const WireHeader& h, std::vector<uint8_t> payload) -> bool {
    Connection& c = conns[i];
    const MsgType type = static_cast<MsgType>(h.type);
    if (c.rank < 0) {
      Hello hello;
      if (type != MsgType::kHello || !DecodeHello(payload, &hello).ok()) return false;
      if (!SameSecret(hello.secret, secret_) || hello.version != kBootstrapProtocolVersion) {
        const std::string why = "the unique id's secret does not match: it belongs to another job";
        (void)SendMessage(c.sock, MsgType::kError, std::vector<uint8_t>(why.begin(), why.end()),
                          DeadlineIn(100));
        return false;
      }
      std::string problem;
      if (hello.nranks < 1)
        problem = Format("nranks %d", hello.nranks);
      else if (nranks >= 0 && hello.nranks != nranks)
        problem = Format("rank %d says nranks=%d, others %d", hello.rank, hello.nranks, nranks);
      else if (hello.rank < 0 || hello.rank >= hello.nranks)
        problem = Format("rank %d out of range for nranks=%d", hello.rank, hello.nranks);
      if (problem.empty()) {
        for (const Connection& o : conns)
          if (o.rank == hello.rank && o.sock.valid())
            problem = Format("rank %d joined twice", hello.rank);
      }
      if (!problem.empty()) {
        std::vector<uint8_t> text(problem.begin(), problem.end());
        (void)SendMessage(c.sock, MsgType::kError, text, DeadlineIn(1000));
        return false;
      }
      if (nranks < 0) {
        nranks = hello.nranks;
        round.assign(nranks, std::nullopt);
        joined.assign(nranks, false);
      }
      c.rank = hello.rank;
      joined[c.rank] = true;
      ++members;
      return true;
    }
    if (type == MsgType::kBye) {
      c.said_bye = true;
      return true;
    }
    if (type == MsgType::kShrink) return handle_shrink(c, payload);
    if (type != MsgType::kContribute || round[c.rank]) return false;
    if (!failure.empty()) {
      std::vector<uint8_t> text(failure.begin(), failure.end());
      (void)SendMessage(c.sock, MsgType::kError, text, DeadlineIn(1000));
      return true;
    }
    round[c.rank] = std::move(payload);
    try_finish_round();
    return true;
  };

  while (true) {
    std::vector<pollfd> fds;
    fds.push_back({stop_pipe_[0], POLLIN, 0});
    fds.push_back({listener_.fd(), POLLIN, 0});
    for (const Connection& c : conns)
      fds.push_back({c.sock.fd(), POLLIN, 0});
    // Wake for the earliest deadline: unfinished hellos and, before everyone has arrived,
    // the gathering deadline.
    Deadline wake = Clock::now() + std::chrono::seconds(3600);
    for (const Connection& c : conns)
      if (c.rank < 0 && c.hello_deadline < wake) wake = c.hello_deadline;
    if ((nranks < 0 || members < nranks) && gather_deadline < wake) wake = gather_deadline;
    int rc = poll(fds.data(), fds.size(), RemainingMs(wake));
    if (rc < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;  // owner asked us to stop
    if (fds[1].revents & POLLIN) {
      Socket s;
      while (listener_.Accept(&s).ok()) {
        Connection c;
        c.sock = std::move(s);
        c.hello_deadline = DeadlineIn(timeout_ms_);
        conns.push_back(std::move(c));
      }
    }
    for (size_t i = 0; i < conns.size(); ++i) {
      if (i + 2 >= fds.size() || fds[i + 2].revents == 0 || !conns[i].sock.valid()) continue;
      uint8_t tmp[65536];
      ssize_t n = recv(conns[i].sock.fd(), tmp, sizeof(tmp), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        Connection& c = conns[i];
        if (c.rank >= 0 && !c.said_bye) {
          c.sock.Close();
          fail_all(Format("rank %d disconnected from the bootstrap without leaving", c.rank));
        } else {
          if (c.rank >= 0) ++left;
          drop(i, "closed");
        }
        advance_shrink();
        continue;
      }
      if (n < 0) continue;
      conns[i].in.insert(conns[i].in.end(), tmp, tmp + n);
      // Parse every complete message in the buffer.
      while (conns[i].sock.valid() && conns[i].in.size() >= sizeof(WireHeader)) {
        WireHeader h;
        std::memcpy(&h, conns[i].in.data(), sizeof(h));
        if (!CheckHeader(h).ok()) {
          drop(i, "bad header");
          break;
        }
        if (conns[i].in.size() < sizeof(h) + h.length) break;
        std::vector<uint8_t> payload(conns[i].in.begin() + sizeof(h),
                                     conns[i].in.begin() + sizeof(h) + h.length);
        conns[i].in.erase(conns[i].in.begin(), conns[i].in.begin() + sizeof(h) + h.length);
        if (!handle(i, h, std::move(payload))) drop(i, "unexpected message");
      }
    }
    // Expire connections that never proved the secret.
    for (size_t i = 0; i < conns.size(); ++i)
      if (conns[i].sock.valid() && conns[i].rank < 0 && Clock::now() >= conns[i].hello_deadline)
        drop(i, "no hello in time");
    // Forget closed connections that are not members.
    for (size_t i = conns.size(); i-- > 0;)
      if (!conns[i].sock.valid() && conns[i].rank < 0) conns.erase(conns.begin() + i);
    if ((nranks < 0 || members < nranks) && Clock::now() >= gather_deadline) {
      fail_all(Format("only %d of %d ranks arrived within WEFT_TIMEOUT_MS=%lld", members, nranks,
                      static_cast<long long>(timeout_ms_)));
      break;
    }
    if (nranks > 0 && left == nranks) break;  // everyone left cleanly
    if (!failure.empty()) {
      bool any = false;
      for (const Connection& c : conns)
        any = any || c.sock.valid();
      if (!any) break;
    }
  }
}

}  // namespace weft
