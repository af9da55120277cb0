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

enum class Algo { kRing = 0, kTree = 1, kRecursiveDoubling = 2 };
constexpr int kNumAlgos = 3;
const char* AlgoName(Algo a);

// Algorithms a collective has: all-reduce all three, broadcast the chain and the tree, the
// others the ring (chain).
uint32_t SupportedAlgos(CollType c);

struct AlgoSpec {
  uint32_t allowed[5] = {~0u, ~0u, ~0u, ~0u, ~0u};  // bit per Algo, per CollType
  bool Allows(CollType c, Algo a) const {
    return (allowed[static_cast<int>(c)] & SupportedAlgos(c) & (1u << static_cast<int>(a))) != 0;
  }
};

Status ParseAlgoSpec(const std::string& text, AlgoSpec* out);

}  // namespace weft
