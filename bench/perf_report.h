// weft-perf's output: nccl-tests' header, one table line per measured size (printed as
// soon as it is measured), the footer, and the -J JSON file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/perf_bound.h"
#include "bench/perf_options.h"
#include "bench/perf_runner.h"

namespace weft::perf {

class Report {
 public:
  Report(const Options& options, int nranks, FILE* out);
  // The memory bound to print in the header and hold the results against in the footer.
  void SetBound(const MemoryBound& bound) { bound_ = bound; }
  void Header(const std::vector<std::string>& rank_lines);
  void Line(const Row& row);
  // Footer; returns the number of wrong elements over all rows.
  int64_t Footer();
  bool WriteJson(const std::string& path, std::string* error) const;

 private:
  Options options_;
  int nranks_;
  FILE* out_;
  std::vector<Row> rows_;
  MemoryBound bound_;  // zeros: not measured (device buffers, point to point)
};

}  // namespace weft::perf
