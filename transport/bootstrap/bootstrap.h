// Bootstrap client: one TCP connection per rank to the root, used at init (peer-info
// allgather) and at teardown (barrier). Every call is bounded by the timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "transport/bootstrap/socket.h"
#include "transport/bootstrap/unique_id.h"
#include "transport/bootstrap/wire.h"

namespace weft {

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
  // A round among the ranks not in `excluded` (ascending), for weftCommShrink: everyone's
  // `mine` by rank (empty for the excluded ones). The root serves it even after the job
  // failed; its earlier failure report is skipped.
  Status Shrink(const std::vector<int32_t>& excluded, const std::vector<uint8_t>& mine,
                std::vector<std::vector<uint8_t>>* all);
  // Tells the root this rank leaves cleanly (so its closing is not reported as a failure).
  void Leave();

 private:
  Bootstrap() = default;
  Status ReadAnyMessage(MsgType* type, std::vector<uint8_t>* payload, Deadline deadline);
  Status ReadMessage(MsgType expected, std::vector<uint8_t>* payload, Deadline deadline);
  Status WriteMessage(MsgType type, const std::vector<uint8_t>& payload, Deadline deadline);

  Socket sock_;
  int rank_ = 0;
  int nranks_ = 0;
  int64_t timeout_ms_ = 0;
  bool left_ = false;
};

}  // namespace weft
