// Gloo for weft-perf --compare gloo: the baseline CPU PyTorch users have (torch.distributed's
// gloo backend calls these same functions): Gloo's ring all-reduce and all-gather, its
// broadcast and reduce, over its TCP transport, on the same buffers as Weft's in the same
// run. Built only where CMake finds Gloo (Debian: libgloo-dev); otherwise Connect reports it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "collectives/collective.h"
#include "weft/weft.h"

namespace weft::perf {

class GlooBaseline {
 public:
  // Connects a Gloo context between the ranks of `comm` (every rank calls it): Gloo's TCP
  // device on GLOO_SOCKET_IFNAME's interface if set, else on the address Weft's bootstrap
  // advertises (WEFT_SOCKET_ADDR, or the first non-loopback interface); the pairs' addresses
  // travel through `comm`. Null with *error if Gloo is not built in or cannot connect.
  static std::unique_ptr<GlooBaseline> Connect(weftComm_t comm, std::string* error);
  virtual ~GlooBaseline() = default;
  // Gloo's equivalent of one collective on the same buffers (API counts as in Weft); false
  // where Gloo has none (reduce-scatter, fp8/bf16 types, avg) or it failed (*error).
  virtual bool Collective(CollType coll, const void* send, void* recv, size_t count,
                          weftDataType_t type, weftRedOp_t op, int root) = 0;
  virtual const std::string& error() const = 0;
};

}  // namespace weft::perf
