// One collective call, as validated by the API.
#pragma once

#include <cstddef>

#include "collectives/plan.h"
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
};

}  // namespace weft
