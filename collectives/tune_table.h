// A measured tuning table: which algorithm to use for which sizes, as text a person can
// read and edit. `weft-perf --tune FILE` writes one; WEFT_TUNE_FILE=FILE makes the tuner
// use it instead of the cost model wherever it has a line for the call.
//
//   # collective  ranks  bytes       algorithm
//   allreduce     4      0-32K       rd
//   allreduce     4      32K-inf     ring
//
// Sizes take K/M/G suffixes (powers of two); ranges are [from, to); `inf` has no end.
#pragma once

#include <string>
#include <vector>

#include "collectives/algo_spec.h"
#include "collectives/plan.h"
#include "common/status.h"

namespace weft {

struct TuneEntry {
  CollType coll = CollType::kAllReduce;
  int nranks = 0;
  size_t from = 0, to = 0;  // to == SIZE_MAX: no end
  Algo algo = Algo::kRing;
};

struct TuneTable {
  std::vector<TuneEntry> entries;
  // The algorithm of the first line that covers the call, if any.
  bool Lookup(CollType coll, int nranks, size_t bytes, Algo* out) const;
  std::string ToText() const;
};

// `origin` names the text in errors (a file name).
Status ParseTuneTable(const std::string& text, const std::string& origin, TuneTable* out);
Status LoadTuneFile(const std::string& path, TuneTable* out);

}  // namespace weft
