#include "transport/bootstrap/bootstrap.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "transport/bootstrap/wire.h"
#include "transport/bootstrap/wire_io.h"

namespace weft {

int LowestRankLeft(const std::vector<int32_t>& excluded) {
  int rank = 0;
  while (std::binary_search(excluded.begin(), excluded.end(), rank))
    ++rank;
  return rank;
}

Status Bootstrap::Connect(const UniqueIdData& id, int rank, int nranks, int64_t timeout_ms,
                          std::unique_ptr<Bootstrap>* out) {
  std::unique_ptr<Bootstrap> b(new Bootstrap());
  b->rank_ = rank;
  b->nranks_ = nranks;
  b->timeout_ms_ = timeout_ms;
  Deadline deadline = DeadlineIn(timeout_ms);
  WEFT_CHECK(Socket::Connect(id.root, deadline, &b->sock_).WithContext("the bootstrap root"));
  b->secret_ = id.secret;
  // The listener for a shrink without the root, on the address this host reaches the root
  // from: the one the other ranks can reach it on too.
  sockaddr_in local{};
  socklen_t len = sizeof(local);
  if (getsockname(b->sock_.fd(), reinterpret_cast<sockaddr*>(&local), &len) != 0)
    return SystemError(Format("getsockname on the bootstrap connection: %s", strerror(errno)));
  local.sin_port = 0;
  uint16_t port = 0;
  WEFT_CHECK(Socket::Listen(local, &b->listener_, &port)
                 .WithContext("the listener for a shrink without rank 0"));
  b->listen_address_ = local;
  b->listen_address_.sin_port = htons(port);
  Hello hello;
  hello.secret = id.secret;
  hello.rank = rank;
  hello.nranks = nranks;
  hello.version = id.version;
  WEFT_CHECK(b->WriteMessage(MsgType::kHello, EncodeHello(hello), deadline));
  *out = std::move(b);
  return Status::Ok();
}

Bootstrap::~Bootstrap() {
  Leave();
}

void Bootstrap::Leave() {
  if (left_ || !sock_.valid()) return;
  left_ = true;
  (void)WriteMessage(MsgType::kBye, {}, DeadlineIn(1000));
  sock_.Close();
}

Status Bootstrap::WriteMessage(MsgType type, const std::vector<uint8_t>& payload,
                               Deadline deadline) {
  return SendWireMessage(sock_, type, payload, deadline);
}

Status Bootstrap::ReadAnyMessage(MsgType* type, std::vector<uint8_t>* payload, Deadline deadline) {
  WireHeader h;
  Status s = sock_.RecvAll(&h, sizeof(h), deadline);
  if (!s.ok()) {
    if (s.code() == weftRemoteError)
      return RemoteError(
          "the bootstrap root closed the connection (a unique id of another "
          "job, or the job failed): " +
          s.message());
    return s.code() == weftTimeout
               ? TimeoutError(Format("rank %d: bootstrap waited %lld ms for the other ranks", rank_,
                                     static_cast<long long>(timeout_ms_)))
               : s;
  }
  WEFT_CHECK(CheckHeader(h));
  payload->resize(h.length);
  if (h.length > 0) WEFT_CHECK(sock_.RecvAll(payload->data(), h.length, deadline));
  *type = static_cast<MsgType>(h.type);
  return Status::Ok();
}

Status Bootstrap::ReadMessage(MsgType expected, std::vector<uint8_t>* payload, Deadline deadline) {
  MsgType type;
  WEFT_CHECK(ReadAnyMessage(&type, payload, deadline));
  if (type == MsgType::kError)
    return RemoteError("bootstrap root: " + std::string(payload->begin(), payload->end()));
  WEFT_REQUIRE(type == expected, weftRemoteError, "bootstrap: unexpected message type %u",
               static_cast<unsigned>(type));
  return Status::Ok();
}

Status Bootstrap::CheckForError() {
  if (!sock_.valid()) return Status::Ok();
  pollfd p{sock_.fd(), POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return Status::Ok();
  std::vector<uint8_t> payload;
  MsgType type;
  Status s = ReadAnyMessage(&type, &payload, DeadlineIn(100));
  // The root's report of a failure: the connection stays, for a shrink round among the
  // ranks that are left (weftCommShrink).
  if (s.ok() && type == MsgType::kError)
    return RemoteError("bootstrap root: " + std::string(payload.begin(), payload.end()));
  sock_.Close();  // anything else: this connection is done
  if (s.ok())
    return RemoteError(
        Format("bootstrap root sent message type %u between rounds", static_cast<unsigned>(type)));
  return s.code() == weftTimeout ? RemoteError("bootstrap root sent a partial message") : s;
}

Status Bootstrap::ReportStall(const StallReport& mine, std::string* verdict) {
  WEFT_REQUIRE(sock_.valid(), weftRemoteError, "the bootstrap connection is closed");
  WEFT_CHECK(WriteMessage(MsgType::kStalled, EncodeStall(mine), DeadlineIn(1000)));
  const Deadline deadline = DeadlineIn(StallWindowMs(timeout_ms_) + 2000);
  std::vector<uint8_t> payload;
  MsgType type;
  Status s = ReadAnyMessage(&type, &payload, deadline);
  if (!s.ok()) return s;
  const std::string text(payload.begin(), payload.end());
  if (type == MsgType::kError) return RemoteError("bootstrap root: " + text);
  WEFT_REQUIRE(type == MsgType::kStallVerdict, weftRemoteError,
               "bootstrap: unexpected message type %u", static_cast<unsigned>(type));
  *verdict = text;
  return Status::Ok();
}

Status Bootstrap::Shrink(const std::vector<int32_t>& excluded, const std::vector<uint8_t>& mine,
                         std::vector<std::vector<uint8_t>>* all) {
  WEFT_REQUIRE(mine.size() <= kMaxContribution, weftInternalError,
               "shrink contribution of %zu bytes is too large", mine.size());
  if (!excluded.empty() && excluded[0] == 0) {  // without the root: the lowest rank left leads
    const Deadline deadline = DeadlineIn(timeout_ms_ + 1000);
    const int leader = LowestRankLeft(excluded);
    all->assign(static_cast<size_t>(nranks_), {});
    if (rank_ == leader) {
      WEFT_CHECK(LeadShrink(excluded, mine, deadline));
      (*all)[static_cast<size_t>(leader)] = mine;
      return Status::Ok();
    }
    return FollowShrink(excluded, leader, deadline, &(*all)[static_cast<size_t>(leader)]);
  }
  WEFT_REQUIRE(sock_.valid(), weftRemoteError,
               "rank %d has lost its connection to the bootstrap root", rank_);
  const Deadline deadline = DeadlineIn(timeout_ms_ + 1000);
  ShrinkRequest request;
  request.excluded = excluded;
  request.data = mine;
  WEFT_CHECK(WriteMessage(MsgType::kShrink, EncodeShrink(request), deadline)
                 .WithContext("sending the shrink request to the bootstrap root"));
  while (true) {
    MsgType type;
    std::vector<uint8_t> payload;
    WEFT_CHECK(ReadAnyMessage(&type, &payload, deadline));
    switch (type) {
      case MsgType::kError:
        continue;  // the failure that made this shrink necessary, reported earlier
      case MsgType::kShrinkFailed: {  // a result code, then why
        Status verdict;
        WEFT_CHECK(DecodeVerdict(payload, &verdict));
        return verdict.ok() ? RemoteError("the bootstrap root failed the shrink round") : verdict;
      }
      case MsgType::kGathered:
        return DecodeGathered(payload, nranks_, all);
      default:
        return RemoteError(Format("bootstrap: unexpected message type %u during a shrink",
                                  static_cast<unsigned>(type)));
    }
  }
}

Status Bootstrap::AllGather(const std::vector<uint8_t>& mine,
                            std::vector<std::vector<uint8_t>>* all) {
  WEFT_REQUIRE(mine.size() <= kMaxContribution, weftInternalError,
               "bootstrap contribution of %zu bytes is too large", mine.size());
  // A second more than the root's own bound: when ranks are missing, the root's report
  // (which says how many arrived) comes before this rank gives up on its own.
  Deadline deadline = DeadlineIn(timeout_ms_ + 1000);
  std::vector<uint8_t> payload;
  Status sent = WriteMessage(MsgType::kContribute, mine, deadline);
  if (!sent.ok()) {
    // The root may have said why before closing: read that rather than report the reset.
    Status why = ReadMessage(MsgType::kGathered, &payload, DeadlineIn(200));
    return why.ok() ? sent : why;
  }
  WEFT_CHECK(ReadMessage(MsgType::kGathered, &payload, deadline));
  return DecodeGathered(payload, nranks_, all);
}

Status Bootstrap::Barrier() {
  std::vector<std::vector<uint8_t>> ignored;
  return AllGather({}, &ignored);
}

}  // namespace weft
