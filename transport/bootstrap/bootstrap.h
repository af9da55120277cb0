// Bootstrap client: one TCP connection per rank to the root, used at init (peer-info
// allgather) and at teardown (barrier). Every call is bounded by the timeout. Each rank
// also listens on a port of its own, which the others learn at init: when a shrink leaves
// out rank 0, and with it the root in rank 0's process, the lowest rank left reaches the
// others there (peer_shrink.cc).
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "transport/bootstrap/socket.h"
#include "transport/bootstrap/unique_id.h"
#include "transport/bootstrap/wire.h"

namespace weft {

// The lowest rank not in `excluded` (ascending): the rank that leads a shrink and makes
// the new communicator's unique id.
int LowestRankLeft(const std::vector<int32_t>& excluded);

class Bootstrap {
 public:
  static Status Connect(const UniqueIdData& id, int rank, int nranks, int64_t timeout_ms,
                        std::unique_ptr<Bootstrap>* out);
  ~Bootstrap();

  int rank() const { return rank_; }
  int nranks() const { return nranks_; }

  // Everyone's `mine`, indexed by rank.
  Status AllGather(const std::vector<uint8_t>& mine, std::vector<std::vector<uint8_t>>* all);
  Status Barrier();
  // Between bootstrap operations: non-blocking; an error if the root reported a failure
  // (a rank left without saying goodbye) or the root itself is gone.
  Status CheckForError();
  // A round among the ranks not in `excluded` (ascending), for weftCommShrink. The root
  // serves it even after the job failed (its earlier failure report is skipped), and gives
  // everyone's `mine` by rank (empty for the excluded ones). Without rank 0 the lowest rank
  // left leads it through the others' listeners, and only its own `mine` comes back (the
  // others' are empty).
  Status Shrink(const std::vector<int32_t>& excluded, const std::vector<uint8_t>& mine,
                std::vector<std::vector<uint8_t>>* all);

  // Where this rank listens for a shrink without the root, and where every rank does (by
  // rank; set once the communicator has gathered them).
  const sockaddr_in& listen_address() const { return listen_address_; }
  void SetPeerListeners(std::vector<sockaddr_in> listeners) { peers_ = std::move(listeners); }
  // A collective timed out here: tells the root where this rank is and waits (the stall
  // window and a little more) for its verdict naming the ranks that stopped. A timeout
  // means the root's process did not answer: rank 0 itself may be the one that stopped.
  Status ReportStall(const StallReport& mine, std::string* verdict);
  // Tells the root this rank leaves cleanly (so its closing is not reported as a failure).
  void Leave();

 private:
  Bootstrap() = default;
  Status ReadAnyMessage(MsgType* type, std::vector<uint8_t>* payload, Deadline deadline);
  Status ReadMessage(MsgType expected, std::vector<uint8_t>* payload, Deadline deadline);
  Status WriteMessage(MsgType type, const std::vector<uint8_t>& payload, Deadline deadline);
  // The two sides of a shrink without rank 0 (peer_shrink.cc).
  Status LeadShrink(const std::vector<int32_t>& excluded, const std::vector<uint8_t>& mine,
                    Deadline deadline);
  Status FollowShrink(const std::vector<int32_t>& excluded, int leader, Deadline deadline,
                      std::vector<uint8_t>* leaders_bytes);

  Socket sock_;
  Socket listener_;
  sockaddr_in listen_address_{};
  std::vector<sockaddr_in> peers_;
  std::array<uint8_t, 16> secret_{};
  uint32_t peer_shrinks_ = 0;  // rounds without the root so far, in step on every rank
  int rank_ = 0;
  int nranks_ = 0;
  int64_t timeout_ms_ = 0;
  bool left_ = false;
};

}  // namespace weft
