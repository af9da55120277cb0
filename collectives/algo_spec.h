// WEFT_ALGO: which algorithms each collective may use.
//   ring | tree | rd            only these (for the collectives that have them)
//   ^tree                       all but these
//   allreduce:tree;allgather:ring    per collective
// A value that does not parse, names an unknown algorithm or collective, or leaves a named
// collective without any algorithm it has, is an error at init listing the valid values.
#pragma once

#include <cstdint>
#include <string>

#include "collectives/plan.h"
#include "common/status.h"

namespace weft {

// kDirect: one-copy reads of the peers' buffers (algorithms/one_copy.h), ranks of one host.
enum class Algo { kRing = 0, kTree = 1, kRecursiveDoubling = 2, kDirect = 3 };
constexpr int kNumAlgos = 4;
const char* AlgoName(Algo a);

// Algorithms a collective has: all-reduce ring, tree and recursive doubling; broadcast the
// chain, the tree and direct reads; all-gather the ring and direct reads; the others the
// ring (chain).
uint32_t SupportedAlgos(CollType c);

struct AlgoSpec {
  uint32_t allowed[5] = {~0u, ~0u, ~0u, ~0u, ~0u};  // bit per Algo, per CollType
  bool Allows(CollType c, Algo a) const {
    return (allowed[static_cast<int>(c)] & SupportedAlgos(c) & (1u << static_cast<int>(a))) != 0;
  }
};

Status ParseAlgoSpec(const std::string& text, AlgoSpec* out);

}  // namespace weft
