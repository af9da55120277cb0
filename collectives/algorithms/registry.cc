#include "collectives/algorithms/registry.h"

namespace weft {

// Each defined in its algorithm's file.
extern const AlgorithmInfo kRingAlgorithm;
extern const AlgorithmInfo kTreeAlgorithm;
extern const AlgorithmInfo kRecursiveDoublingAlgorithm;
extern const AlgorithmInfo kOneCopyAlgorithm;
extern const AlgorithmInfo kHierAlgorithm;
extern const AlgorithmInfo kOneShotAlgorithm;

const std::vector<const AlgorithmInfo*>& Algorithms() {
  static const std::vector<const AlgorithmInfo*> kAll = {
      &kRingAlgorithm,    &kTreeAlgorithm, &kRecursiveDoublingAlgorithm,
      &kOneCopyAlgorithm, &kHierAlgorithm, &kOneShotAlgorithm,
  };
  return kAll;
}

const AlgorithmInfo& AlgorithmOf(Algo a) {
  return *Algorithms()[static_cast<size_t>(a)];
}

const AlgorithmInfo* FindAlgorithm(const std::string& name) {
  for (const AlgorithmInfo* a : Algorithms())
    if (name == a->name) return a;
  return nullptr;
}

std::string AlgorithmNames(uint32_t mask) {
  std::string s;
  for (const AlgorithmInfo* a : Algorithms())
    if (mask & (1u << static_cast<int>(a->id))) s += std::string(s.empty() ? "" : ", ") + a->name;
  return s;
}

uint32_t SupportedAlgos(CollType c) {
  uint32_t mask = 0;
  for (const AlgorithmInfo* a : Algorithms())
    if (a->Serves(c)) mask |= 1u << static_cast<int>(a->id);
  return mask;
}

}  // namespace weft
