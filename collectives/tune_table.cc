#include "collectives/tune_table.h"

#include <cstdint>
#include <fstream>
#include <sstream>

#include "common/config.h"

namespace weft {
namespace {

bool ParseBound(const std::string& text, size_t* out) {
  if (text == "inf") return *out = SIZE_MAX, true;
  return ParseSize(text, out);
}

std::string BoundText(size_t v) {
  if (v == SIZE_MAX) return "inf";
  if (v != 0 && v % (1u << 30) == 0) return std::to_string(v >> 30) + "G";
  if (v != 0 && v % (1u << 20) == 0) return std::to_string(v >> 20) + "M";
  if (v != 0 && v % (1u << 10) == 0) return std::to_string(v >> 10) + "K";
  return std::to_string(v);
}

}  // namespace

bool TuneTable::Lookup(CollType coll, int nranks, size_t bytes, Algo* out) const {
  for (const TuneEntry& e : entries) {
    if (e.coll == coll && e.nranks == nranks && bytes >= e.from &&
        (bytes < e.to || e.to == SIZE_MAX)) {
      *out = e.algo;
      return true;
    }
  }
  return false;
}

std::string TuneTable::ToText() const {
  std::string s =
      "# Weft tuning table (weft-perf --tune): collective, ranks, bytes [from-to), algorithm\n";
  for (const TuneEntry& e : entries) {
    s += Format("%-14s %5d  %-16s %s\n", CollName(e.coll), e.nranks,
                (BoundText(e.from) + "-" + BoundText(e.to)).c_str(), AlgoName(e.algo));
  }
  return s;
}

Status ParseTuneTable(const std::string& text, const std::string& origin, TuneTable* out) {
  TuneTable table;
  std::istringstream in(text);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::string coll, range, algo;
    int nranks = 0;
    if (!(fields >> coll)) continue;  // blank or comment
    auto bad = [&](const std::string& why) {
      return InvalidArgument(
          Format("%s:%d: %s (expected: collective ranks from-to algorithm, "
                 "e.g. 'allreduce 4 0-32K rd')",
                 origin.c_str(), lineno, why.c_str()));
    };
    std::string extra;
    if (!(fields >> nranks >> range >> algo) || (fields >> extra)) return bad("malformed line");
    TuneEntry e;
    bool found = ParseCollName(coll.c_str(), &e.coll);
    if (!found) return bad("unknown collective '" + coll + "'");
    if (nranks < 1) return bad("ranks must be at least 1");
    e.nranks = nranks;
    const size_t dash = range.find('-');
    if (dash == std::string::npos || !ParseBound(range.substr(0, dash), &e.from) ||
        !ParseBound(range.substr(dash + 1), &e.to) || (e.to != SIZE_MAX && e.to <= e.from))
      return bad("bad size range '" + range + "'");
    const AlgorithmInfo* named = FindAlgorithm(algo);
    if (named == nullptr)
      return bad("unknown algorithm '" + algo + "' (valid: " + AlgorithmNames() + ")");
    e.algo = named->id;
    if ((SupportedAlgos(e.coll) & (1u << static_cast<int>(e.algo))) == 0)
      return bad(std::string(CollName(e.coll)) + " has no " + algo + " algorithm");
    table.entries.push_back(e);
  }
  *out = std::move(table);
  return Status::Ok();
}

Status LoadTuneFile(const std::string& path, TuneTable* out) {
  std::ifstream f(path);
  if (!f) return InvalidArgument(Format("WEFT_TUNE_FILE=%s: cannot open the file", path.c_str()));
  std::stringstream text;
  text << f.rdbuf();
  return ParseTuneTable(text.str(), path, out);
}

}  // namespace weft
