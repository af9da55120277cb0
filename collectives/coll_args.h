// One collective call, as validated by the API.
#pragma once

#include <cstddef>
#include <optional>

#include "collectives/plan.h"
#include "collectives/user_ops.h"
#include "weft/weft.h"

namespace weft {

struct CollArgs {
  CollType coll = CollType::kAllReduce;
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;  // the API's count (sendcount for allgather, recvcount for reducescatter)
  weftDataType_t type = weftFloat32;
  weftRedOp_t op = weftSum;
  int root = 0;
  void* stream = nullptr;
  // The PreMulSum behind a user-created `op`, taken when the call is made: NCCL lets the
  // caller destroy the op as soon as the call returns (PyTorch destroys it right after
  // enqueueing), before the queued device work or a group's ops run.
  std::optional<PreMulSum> premul = std::nullopt;
  // Every rank's buffers of this call are registered shared memory (the ranks agreed, see
  // Communicator::AgreeOnZeroCopy): the one-copy plan reads and writes them in place.
  bool zero_copy = false;
};

// One point-to-point call (weftSend / weftRecv). The k-th send from rank a to rank b meets
// the k-th receive at b from a, as in NCCL.
struct P2PArgs {
  bool send = true;
  void* buf = nullptr;  // read by a send, written by a receive
  size_t count = 0;
  weftDataType_t type = weftFloat32;
  int peer = 0;
  void* stream = nullptr;
};

}  // namespace weft
