// Rendezvous: what the bootstrap root knows about one job, and what it does with each
// message. The root's thread (root.cc) accepts connections, polls them and hands every
// readable one to Read; the rendezvous parses the messages and serves the job: hellos
// checked against the secret, allgather rounds (peer-info exchange, barriers), a shrink
// round among the ranks a weftCommShrink keeps (served even after a failure), and the
// failure report that ends the job when a rank vanishes.
//
// Strangers (connections that have not proved the secret) cost the root almost nothing: it
// reads at most one hello's bytes from each, drops any that sends something else or
// nothing within kStrangerDeadlineMs, and holds at most kMaxStrangers of them, dropping the
// longest-waiting to make room, so that neither memory nor descriptors run out however many
// connect. Ranks send their hello as they connect, and the root reads it as it accepts
// them, so a flood of strangers delays them by moments. Every send is bounded.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/bootstrap/socket.h"
#include "transport/bootstrap/wire.h"

struct pollfd;

namespace weft {

class Rendezvous {
 public:
  static constexpr int kMaxStrangers = 64;
  static constexpr int64_t kStrangerDeadlineMs = 5000;

  // `rejected` counts the connections dropped before they proved the secret (for tests).
  Rendezvous(const std::array<uint8_t, 16>& secret, int64_t timeout_ms, std::atomic<int>* rejected);

  // Takes a new connection and reads its hello if it has come.
  void Accept(Socket s);
  // Drops the stranger that has waited longest (to free a descriptor); false if none.
  bool DropOldestStranger(const char* why);
  // One pollfd per connection, in order; after poll, Read(i) for each readable one.
  std::vector<pollfd> PollFds() const;
  void Read(size_t i);
  // When the next deadline passes: a connection's hello, or everyone's arrival.
  Deadline NextWake() const;
  // Expires what is due and forgets closed strangers; true once the job is over (everyone
  // left, the ranks did not all arrive in time, or a failure and no one left to tell).
  bool Tick();

 private:
  struct Connection {
    Socket sock;
    std::vector<uint8_t> in;  // bytes received and not yet parsed
    int rank = -1;            // -1 until the hello is accepted
    bool said_bye = false;
    Deadline hello_deadline;
  };

  int Strangers() const;
  bool Handle(Connection& c, MsgType type, std::vector<uint8_t> payload);
  // A connection's first message: a hello with the job's secret and a rank not yet taken.
  bool Join(Connection& c, MsgType type, const std::vector<uint8_t>& payload);
  bool Contribute(Connection& c, std::vector<uint8_t> payload);
  void Drop(Connection& c, const char* why);
  void Closed(Connection& c);
  // The job cannot continue: every member is told why, once.
  void FailAll(const std::string& why);
  void TryFinishRound();

  // The shrink round (weftCommShrink): the first request sets the excluded ranks, every
  // other must match; once every rank not excluded has asked, each gets everyone's bytes.
  bool Shrink(Connection& c, const std::vector<uint8_t>& payload);
  void AdvanceShrink();
  void FailShrink(const std::string& why, weftResult_t code = weftRemoteError);
  bool Excluded(int rank) const;

  // A collective timed out somewhere (kStalled): reports are gathered for a short window,
  // then every rank that reported is told which ranks did not, and how far each got.
  bool Stalled(Connection& c, const std::vector<uint8_t>& payload);
  void FinishStall();

  const std::array<uint8_t, 16> secret_;
  const int64_t timeout_ms_;
  std::atomic<int>* rejected_;
  const Deadline gather_deadline_;
  std::vector<Connection> conns_;
  int nranks_ = -1;           // learned from the first accepted hello
  std::vector<bool> joined_;  // by rank: its hello was accepted
  int members_ = 0, left_ = 0;
  std::vector<std::optional<std::vector<uint8_t>>> round_;
  std::string failure_;  // once set, every member has been told and the job is over
  bool shrinking_ = false;
  std::vector<int32_t> shrink_excluded_;
  std::vector<std::optional<std::vector<uint8_t>>> shrink_parts_;
  std::vector<std::optional<StallReport>> stalls_;  // by rank; empty when none is open
  std::vector<bool> stalled_before_;  // reported in an earlier window: timed out, not stopped
  Deadline stall_deadline_;
};

}  // namespace weft
