#include "collectives/consistency.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/dtype.h"

namespace weft {
namespace {

struct Signature {
  int32_t coll;
  int32_t type;
  int32_t op;    // -1: not a reduction
  int32_t root;  // -1: not rooted
  uint64_t count;
};

std::vector<Signature> Decode(const std::vector<uint8_t>& bytes) {
  std::vector<Signature> out(bytes.size() / sizeof(Signature));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(Signature));
  return out;
}

}  // namespace

std::vector<uint8_t> EncodeCallSignature(const std::vector<CollArgs>& ops) {
  std::vector<Signature> sigs;
  for (const CollArgs& a : ops) {
    Signature s{};
    s.coll = static_cast<int32_t>(a.coll);
    s.type = static_cast<int32_t>(a.type);
    // Ops users create are numbered per rank (in the order each created them): all compare
    // as one PreMulSum.
    s.op = !FactsOf(a.coll).reduces ? -1 : std::min<int32_t>(static_cast<int32_t>(a.op), weftNumOps);
    s.root = FactsOf(a.coll).rooted ? a.root : -1;
    s.count = a.count;
    sigs.push_back(s);
  }
  std::vector<uint8_t> bytes(sigs.size() * sizeof(Signature));
  if (!sigs.empty()) std::memcpy(bytes.data(), sigs.data(), bytes.size());
  return bytes;
}

std::string DescribeCallSignature(const std::vector<uint8_t>& bytes) {
  std::string text;
  for (const Signature& s : Decode(bytes)) {
    if (!text.empty()) text += " + ";
    const auto coll = static_cast<CollType>(s.coll);
    text += Format("%s(count %llu, %s", CollName(coll), static_cast<unsigned long long>(s.count),
                   TypeName(static_cast<weftDataType_t>(s.type)));
    if (s.op >= 0)
      text +=
          Format(", %s", s.op == weftNumOps ? "premulsum" : OpName(static_cast<weftRedOp_t>(s.op)));
    if (s.root >= 0) text += Format(", root %d", s.root);
    text += ")";
  }
  return text.empty() ? "nothing" : text;
}

Status CompareCallSignatures(const std::vector<std::vector<uint8_t>>& all, int rank) {
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r] == all[static_cast<size_t>(rank)]) continue;
    return InvalidUsage(
        Format("WEFT_CHECK: ranks disagree: rank %d called %s but rank %zu called %s", rank,
               DescribeCallSignature(all[static_cast<size_t>(rank)]).c_str(), r,
               DescribeCallSignature(all[r]).c_str()));
  }
  return Status::Ok();
}

}  // namespace weft
