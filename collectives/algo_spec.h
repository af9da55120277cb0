// WEFT_ALGO: which algorithms each collective may use (names from the registry,
// collectives/algorithms/registry.h).
//   ring | tree | rd | hier     only these (for the collectives that have them)
//   ^tree                       all but these
//   allreduce:tree;allgather:ring    per collective
// A value that does not parse, names an unknown algorithm or collective, or leaves a named
// collective without any algorithm it has, is an error at init listing the valid values.
#pragma once

#include <cstdint>
#include <string>

#include "collectives/algorithms/registry.h"
#include "collectives/plan.h"
#include "common/status.h"

namespace weft {

struct AlgoSpec {
  uint32_t allowed[5] = {~0u, ~0u, ~0u, ~0u, ~0u};  // bit per Algo, per CollType
  bool Allows(CollType c, Algo a) const {
    return (allowed[static_cast<int>(c)] & SupportedAlgos(c) & (1u << static_cast<int>(a))) != 0;
  }
};

// `source` names the setting in errors (the variable, or the weftConfig_t field).
Status ParseAlgoSpec(const std::string& text, AlgoSpec* out,
                     const std::string& source = "WEFT_ALGO");

}  // namespace weft
