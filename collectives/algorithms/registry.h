// Every algorithm, once. A new algorithm is a file of this folder defining its AlgorithmInfo
// (algorithm.h) plus its line in registry.cc (and its Algo value).
#pragma once

#include <string>
#include <vector>

#include "collectives/algorithms/algorithm.h"

namespace weft {

// In Algo order.
const std::vector<const AlgorithmInfo*>& Algorithms();
const AlgorithmInfo& AlgorithmOf(Algo a);
inline const char* AlgoName(Algo a) {
  return AlgorithmOf(a).name;
}
// By name; null if there is none.
const AlgorithmInfo* FindAlgorithm(const std::string& name);
// "ring, tree, rd, direct, hier, oneshot"
std::string AlgorithmNames(uint32_t mask = ~0u);
// Bit per Algo: the algorithms that serve `c`.
uint32_t SupportedAlgos(CollType c);

}  // namespace weft
