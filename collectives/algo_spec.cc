#include "collectives/algo_spec.h"

#include <cstdint>
#include <vector>

namespace weft {
namespace {

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

}  // namespace

Status ParseAlgoSpec(const std::string& text, AlgoSpec* out, const std::string& source) {
  AlgoSpec spec;
  std::string colls_text;
  for (CollType c : kAllCollTypes)
    colls_text += std::string(colls_text.empty() ? "" : ", ") + CollName(c);
  const std::string valid =
      "valid algorithms: " + AlgorithmNames() + "; collectives: " + colls_text;
  for (const std::string& raw : Split(text, ';')) {
    std::string entry = Trim(raw);
    if (entry.empty()) continue;
    // Which collectives the entry is for.
    std::vector<CollType> colls(std::begin(kAllCollTypes), std::end(kAllCollTypes));
    bool named = false;
    const size_t colon = entry.find(':');
    if (colon != std::string::npos) {
      const std::string coll = Trim(entry.substr(0, colon));
      colls.clear();
      CollType c;
      if (ParseCollName(coll.c_str(), &c)) colls.push_back(c);
      WEFT_REQUIRE(!colls.empty(), weftInvalidArgument, "%s='%s': unknown collective '%s' (%s)",
                   source.c_str(), text.c_str(), coll.c_str(), valid.c_str());
      named = true;
      entry = Trim(entry.substr(colon + 1));
    }
    const bool exclude = !entry.empty() && entry[0] == '^';
    if (exclude) entry = entry.substr(1);
    uint32_t mask = 0;
    for (const std::string& name : Split(entry, ',')) {
      const std::string n = Trim(name);
      const AlgorithmInfo* found = FindAlgorithm(n);
      WEFT_REQUIRE(found != nullptr, weftInvalidArgument, "%s='%s': unknown algorithm '%s' (%s)",
                   source.c_str(), text.c_str(), n.c_str(), valid.c_str());
      mask |= 1u << static_cast<int>(found->id);
    }
    const uint32_t allowed = exclude ? ~mask : mask;
    for (CollType c : colls) {
      const uint32_t usable = allowed & SupportedAlgos(c);
      if (usable == 0) {
        // A collective named explicitly must keep an algorithm; a global entry only applies
        // to the collectives that have one of its algorithms.
        WEFT_REQUIRE(!named, weftInvalidArgument,
                     "%s='%s' leaves %s without an algorithm (it has: %s)", source.c_str(),
                     text.c_str(), CollName(c), AlgorithmNames(SupportedAlgos(c)).c_str());
        continue;
      }
      spec.allowed[static_cast<int>(c)] = usable;
    }
  }
  *out = spec;
  return Status::Ok();
}

}  // namespace weft
