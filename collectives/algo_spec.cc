#include "collectives/algo_spec.h"

#include <cstdint>
#include <vector>

namespace weft {
namespace {

const char* const kAlgoNames[kNumAlgos] = {"ring", "tree", "rd", "direct"};
const CollType kColls[] = {CollType::kAllReduce, CollType::kAllGather, CollType::kReduceScatter,
                           CollType::kBroadcast, CollType::kReduce};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string AlgoList(uint32_t mask) {
  std::string s;
  for (int a = 0; a < kNumAlgos; ++a)
    if (mask & (1u << a)) s += std::string(s.empty() ? "" : ", ") + kAlgoNames[a];
  return s;
}

}  // namespace

const char* AlgoName(Algo a) {
  return kAlgoNames[static_cast<int>(a)];
}

uint32_t SupportedAlgos(CollType c) {
  const uint32_t ring = 1u << static_cast<int>(Algo::kRing);
  const uint32_t tree = 1u << static_cast<int>(Algo::kTree);
  const uint32_t rd = 1u << static_cast<int>(Algo::kRecursiveDoubling);
  const uint32_t direct = 1u << static_cast<int>(Algo::kDirect);
  switch (c) {
    case CollType::kAllReduce:
      return ring | tree | rd;
    case CollType::kAllGather:
      return ring | direct;
    case CollType::kBroadcast:
      return ring | tree | direct;
    case CollType::kReduce:
      return ring | tree;
    case CollType::kReduceScatter:
      return ring;
  }
  return ring;
}

Status ParseAlgoSpec(const std::string& text, AlgoSpec* out) {
  AlgoSpec spec;
  const std::string valid =
      "valid algorithms: ring, tree, rd, direct; collectives: allreduce, "
      "allgather, reducescatter, broadcast, reduce";
  for (const std::string& raw : Split(text, ';')) {
    std::string entry = Trim(raw);
    if (entry.empty()) continue;
    // Which collectives the entry is for.
    std::vector<CollType> colls(std::begin(kColls), std::end(kColls));
    bool named = false;
    const size_t colon = entry.find(':');
    if (colon != std::string::npos) {
      const std::string coll = Trim(entry.substr(0, colon));
      colls.clear();
      for (CollType c : kColls)
        if (coll == CollName(c)) colls.push_back(c);
      WEFT_REQUIRE(!colls.empty(), weftInvalidArgument,
                   "WEFT_ALGO='%s': unknown collective '%s' (%s)", text.c_str(), coll.c_str(),
                   valid.c_str());
      named = true;
      entry = Trim(entry.substr(colon + 1));
    }
    const bool exclude = !entry.empty() && entry[0] == '^';
    if (exclude) entry = entry.substr(1);
    uint32_t mask = 0;
    for (const std::string& name : Split(entry, ',')) {
      const std::string n = Trim(name);
      int found = -1;
      for (int a = 0; a < kNumAlgos; ++a)
        if (n == kAlgoNames[a]) found = a;
      WEFT_REQUIRE(found >= 0, weftInvalidArgument, "WEFT_ALGO='%s': unknown algorithm '%s' (%s)",
                   text.c_str(), n.c_str(), valid.c_str());
      mask |= 1u << found;
    }
    const uint32_t allowed = exclude ? ~mask : mask;
    for (CollType c : colls) {
      const uint32_t usable = allowed & SupportedAlgos(c);
      if (usable == 0) {
        // A collective named explicitly must keep an algorithm; a global entry only applies
        // to the collectives that have one of its algorithms.
        WEFT_REQUIRE(!named, weftInvalidArgument,
                     "WEFT_ALGO='%s' leaves %s without an algorithm (it has: %s)", text.c_str(),
                     CollName(c), AlgoList(SupportedAlgos(c)).c_str());
        continue;
      }
      spec.allowed[static_cast<int>(c)] = usable;
    }
  }
  *out = spec;
  return Status::Ok();
}

}  // namespace weft
