// A shrink that leaves out rank 0: the bootstrap root lives in rank 0's process, so when
// rank 0 is dead (or simply not in the new communicator) the ranks left meet without it.
// The lowest of them leads: it connects to every other rank's listener (each rank opened
// one at init, and every rank learnt the others' addresses) and offers the round: the
// job's secret, the round's number, the excluded list and its bytes (the new unique id).
// Each rank checks the offer against its own call and answers; once every answer is in,
// the leader tells all of them whether the round holds. Two messages each way, every wait
// bounded by the deadline; no thread, since a connection made before its rank calls
// weftCommShrink waits in the listener's backlog.
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "transport/bootstrap/bootstrap.h"
#include "transport/bootstrap/unique_id.h"
#include "transport/bootstrap/wire.h"
#include "transport/bootstrap/wire_io.h"

namespace weft {
namespace {

constexpr int64_t kOfferWaitMs = 2000;
// Every rank has listened since init, so a refused connection means its process is gone;
// retries (for a moment of backlog trouble) stop after this.
constexpr int64_t kConnectWaitMs = 1000;
// How long the leader waits for its followers to close after the outcome.
constexpr int64_t kLingerMs = 2000;

Status ReceiveVerdict(const Socket& s, MsgType type, Deadline deadline, Status* verdict) {
  std::vector<uint8_t> payload;
  WEFT_CHECK(ReceiveWireMessage(s, type, &payload, deadline));
  return DecodeVerdict(payload, verdict);
}

// Reads and drops whatever `s` still receives, until the peer closes or `deadline`.
void DrainUntilClosed(const Socket& s, Deadline deadline) {
  (void)shutdown(s.fd(), SHUT_WR);
  uint8_t sink[4096];
  while (true) {
    pollfd p{s.fd(), POLLIN, 0};
    if (poll(&p, 1, RemainingMs(deadline)) <= 0) return;
    const ssize_t n = recv(s.fd(), sink, sizeof(sink), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
  }
}

std::string RankList(const std::vector<int32_t>& ranks) {
  std::string out = "{";
  for (size_t i = 0; i < ranks.size(); ++i)
    out += (i > 0 ? ", " : "") + std::to_string(ranks[i]);
  return out + "}";
}

}  // namespace

Status Bootstrap::LeadShrink(const std::vector<int32_t>& excluded, const std::vector<uint8_t>& mine,
                             Deadline deadline) {
  WEFT_REQUIRE(peers_.size() == static_cast<size_t>(nranks_), weftInternalError,
               "shrink without rank 0: the ranks' listeners are not known");
  const uint32_t round = peer_shrinks_++;
  PeerShrinkOffer offer;
  offer.secret = secret_;
  offer.round = round;
  offer.leader = rank_;
  offer.request.excluded = excluded;
  offer.request.data = mine;
  const std::vector<uint8_t> payload = EncodePeerShrinkOffer(offer);
  // Offer first to all, then collect the answers: the ranks check their offers in parallel.
  // A rank that cannot be reached fails the round, but every other is still offered it, so
  // that each learns the outcome below instead of waiting for its timeout.
  std::vector<Socket> followers;
  std::vector<int> ranks;
  Status round_status;
  for (int r = 0; r < nranks_; ++r) {
    if (r == rank_ || std::binary_search(excluded.begin(), excluded.end(), r)) continue;
    Socket s;
    Status st = Socket::Connect(peers_[static_cast<size_t>(r)],
                                std::min(deadline, DeadlineIn(kConnectWaitMs)), &s);
    if (st.ok()) st = SendWireMessage(s, MsgType::kPeerShrink, payload, deadline);
    if (st.ok()) {
      followers.push_back(std::move(s));
      ranks.push_back(r);
    } else if (round_status.ok()) {
      round_status =
          Status(weftRemoteError,
                 Format("rank %d is not excluded but cannot be reached (has it left?): ", r) +
                     st.message());
    }
  }
  for (size_t i = 0; i < followers.size() && round_status.ok(); ++i) {
    Status verdict;
    Status st = ReceiveVerdict(followers[i], MsgType::kPeerShrinkReply, deadline, &verdict);
    if (!st.ok())
      round_status =
          Status(weftRemoteError, Format("rank %d did not answer: ", ranks[i]) + st.message());
    else if (!verdict.ok())
      round_status = verdict;
  }
  // Everyone reached learns the outcome, so that no rank waits for a round that failed.
  const std::vector<uint8_t> done = EncodeVerdict(round_status);
  for (const Socket& s : followers)
    (void)SendWireMessage(s, MsgType::kPeerShrinkDone, done, DeadlineIn(1000));
  // Then each follower's end is awaited (briefly), reading an answer still on its way:
  // closing a socket with unread bytes resets the connection, and the reset can destroy
  // the outcome before the follower has read it.
  const Deadline linger = std::min(deadline, DeadlineIn(kLingerMs));
  for (const Socket& s : followers)
    DrainUntilClosed(s, linger);
  return round_status;
}

Status Bootstrap::FollowShrink(const std::vector<int32_t>& excluded, int leader, Deadline deadline,
                               std::vector<uint8_t>* leaders_bytes) {
  WEFT_REQUIRE(listener_.valid(), weftInternalError, "shrink without rank 0: no listener");
  const uint32_t round = peer_shrinks_++;
  while (true) {
    pollfd p{listener_.fd(), POLLIN, 0};
    const int ready = poll(&p, 1, RemainingMs(deadline));
    if (ready == 0)
      return TimeoutError(
          Format("rank %d waited %lld ms for rank %d, the lowest rank left, to lead the "
                 "shrink without rank 0",
                 rank_, static_cast<long long>(timeout_ms_), leader));
    if (ready < 0) {
      if (errno == EINTR) continue;  // the deadline still bounds the loop
      return SystemError(Format("poll on the shrink listener: %s", strerror(errno)));
    }
    Socket s;
    if (!listener_.Accept(&s).ok()) continue;
    std::vector<uint8_t> payload;
    PeerShrinkOffer offer;
    // A connection that is not a well-formed offer of this job is not ours: drop it and go
    // on waiting (the secret is what only this communicator's ranks know). A leader writes
    // its offer as soon as it connects, so a connection silent for long is not one either.
    const Deadline offer_deadline = std::min(deadline, DeadlineIn(kOfferWaitMs));
    if (!ReceiveWireMessage(s, MsgType::kPeerShrink, &payload, offer_deadline).ok() ||
        !DecodePeerShrinkOffer(payload, nranks_, &offer).ok() || !SameSecret(offer.secret, secret_))
      continue;
    if (offer.round < round) continue;  // an earlier round's leader, given up since
    Status answer;
    if (offer.round != round || offer.leader != leader || offer.request.excluded != excluded)
      answer = Status(weftInvalidUsage,
                      Format("the ranks disagree on whom to exclude: rank %d excludes %s (its "
                             "round %u), rank %d excludes %s (round %u)",
                             offer.leader, RankList(offer.request.excluded).c_str(), offer.round,
                             rank_, RankList(excluded).c_str(), round));
    // The outcome is read even if the answer cannot be sent: a leader that failed the
    // round may have sent it already and stopped listening.
    const Status sent =
        SendWireMessage(s, MsgType::kPeerShrinkReply, EncodeVerdict(answer), deadline);
    Status verdict;
    const Status got = ReceiveVerdict(s, MsgType::kPeerShrinkDone, deadline, &verdict);
    if (!got.ok())
      return (sent.ok() ? got : sent)
          .WithContext(Format("rank %d, leading the shrink", offer.leader));
    if (!answer.ok()) return answer;
    if (!verdict.ok()) return verdict;
    *leaders_bytes = std::move(offer.request.data);
    return Status::Ok();
  }
}

}  // namespace weft
