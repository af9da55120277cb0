#include "bench/perf_report.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/build_info.h"
#include "common/dtype.h"
#include "common/environment.h"

namespace weft::perf {
namespace {

// The settings that shape a run: every WEFT_*, UCX_* and NCCL_* variable set (WEFT_SECRET
// only as set, never its value).
nlohmann::json Environment() {
  nlohmann::json env = nlohmann::json::object();
  for (const auto& [name, value] : ProcessVariables({"WEFT_", "UCX_", "NCCL_"}))
    env[name] = name == "WEFT_SECRET" ? "(set)" : value;
  return env;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string TimeText(double us) {
  char buf[32];
  if (us >= 1e7)
    std::snprintf(buf, sizeof(buf), "%7.0f", us);
  else if (us >= 1e4)
    std::snprintf(buf, sizeof(buf), "%7.1f", us);
  else
    std::snprintf(buf, sizeof(buf), "%7.2f", us);
  return buf;
}

}  // namespace

Report::Report(const Options& options, int nranks, FILE* out)
    : options_(options), nranks_(nranks), out_(out) {}

void Report::Header(const std::vector<std::string>& rank_lines) {
  std::fprintf(out_, "# Collective test starting: weft-perf %s\n", BenchName(options_));
  std::fprintf(
      out_,
      "# nThread 1 nGpus 1 minBytes %zu maxBytes %zu step: %g(%s) warmup iters: %d "
      "iters: %d agg iters: 1 validation: %d graph: 0\n#\n# Using devices\n",
      options_.min_bytes, options_.max_bytes,
      options_.step_factor > 1 ? options_.step_factor : static_cast<double>(options_.step_bytes),
      options_.step_factor > 1 ? "factor" : "bytes", options_.warmup, options_.iters,
      options_.check);
  for (const std::string& l : rank_lines)
    std::fprintf(out_, "%s\n", l.c_str());
  if (bound_.copy_gbps > 0)
    std::fprintf(out_,
                 "#\n# Memory bound: memcpy %.2f GB/s per rank with all %d ranks copying at once; "
                 "each rank must copy %.2f B per byte of %s, so busbw <= %.2f GB/s\n",
                 bound_.copy_gbps, nranks_, CopyBytesPerByte(options_.coll, nranks_),
                 BenchName(options_), bound_.busbw_gbps);
  const char* baseline = BaselineName(options_);
  const bool mpi = baseline != nullptr;
  const std::string label =
      mpi ? std::string("  ") + baseline + " baseline (out-of-place)" : std::string();
  std::fprintf(out_, "#\n# %10s  %12s  %8s  %6s  %6s  %30s  %30s%s\n", "", "", "", "", "",
               "out-of-place", "in-place", label.c_str());
  // nccl-tests' columns, then Weft's: the algorithm used (out of place), then MPI's.
  std::fprintf(out_, "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s  %7s%s\n",
               "size", "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time",
               "algbw", "busbw", "#wrong", "algo", mpi ? "     time   algbw   busbw" : "");
  std::fprintf(out_, "# %10s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s  %7s%s\n",
               "(B)", "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)",
               "(GB/s)", "", "", mpi ? "     (us)  (GB/s)  (GB/s)" : "");
  std::fflush(out_);
}

void Report::Line(const Row& r) {
  rows_.push_back(r);
  std::fprintf(out_, "%12zu  %12zu  %8s  %6s  %6d", r.bytes, r.count, TypeName(r.type),
               FactsOf(options_.coll).reduces ? OpName(r.op) : "none", r.root);
  for (const Measurement* m : {&r.oop, &r.ip}) {
    if (!m->valid) {  // not measured (point to point has no in-place form)
      std::fprintf(out_, "  %7s  %6s  %6s  %6s", "-", "-", "-", "N/A");
      continue;
    }
    std::string wrong = m->wrong < 0 ? "N/A" : std::to_string(m->wrong);
    std::fprintf(out_, "  %7s  %6.2f  %6.2f  %6s", TimeText(m->time_us).c_str(), m->algbw, m->busbw,
                 wrong.c_str());
  }
  std::fprintf(out_, "  %7s", r.algo.empty() ? "-" : r.algo.c_str());
  if (BaselineName(options_) != nullptr) {
    if (r.baseline.valid)
      std::fprintf(out_, "  %7s  %6.2f  %6.2f", TimeText(r.baseline.time_us).c_str(),
                   r.baseline.algbw, r.baseline.busbw);
    else
      std::fprintf(out_, "  %7s  %6s  %6s", "n/a", "n/a", "n/a");
  }
  std::fprintf(out_, "\n");
  std::fflush(out_);
}

int64_t Report::Footer() {
  int64_t wrong = 0;
  double bw = 0;
  int n = 0;
  for (const Row& r : rows_) {
    for (const Measurement* m : {&r.oop, &r.ip}) {
      if (m->wrong > 0) wrong += m->wrong;
      if (m->valid) bw += m->busbw, ++n;
    }
  }
  std::fprintf(out_, "# Out of bounds values : %lld %s\n", static_cast<long long>(wrong),
               wrong == 0 ? "OK" : "FAILED");
  std::fprintf(out_, "# Avg bus bandwidth    : %g \n", n ? bw / n : 0.0);
  if (bound_.busbw_gbps > 0) {
    double best = 0;
    for (const Row& r : rows_)
      for (const Measurement* m : {&r.oop, &r.ip})
        if (m->valid) best = std::max(best, m->busbw);
    std::fprintf(out_, "# Best bus bandwidth   : %g (%.0f%% of the memory bound %.2f)\n", best,
                 100.0 * best / bound_.busbw_gbps, bound_.busbw_gbps);
  }
  // Device buffers: whether the host's CPU did any of the arithmetic (the staged path) or
  // kernels did it all.
  double host_reduced = -1;
  for (const Row& r : rows_)
    host_reduced = std::max(host_reduced, r.host_reduced);
  if (host_reduced >= 0)
    std::fprintf(
        out_,
        "# Host-reduced bytes   : %.0f per call at most (rank 0; 0: kernels did every reduction)\n",
        host_reduced);
  std::fprintf(out_, "#\n");
  std::fflush(out_);
  return wrong;
}

bool Report::WriteJson(const std::string& path, std::string* error) const {
  using nlohmann::json;
  auto measurement = [](const Measurement& m) {
    json j = {{"time_us", m.time_us}, {"algbw", m.algbw}, {"busbw", m.busbw}};
    if (m.wrong >= 0) j["wrong"] = m.wrong;
    return j;
  };
  json results = json::array();
  for (const Row& r : rows_) {
    json row = {{"size", r.bytes},        {"count", r.count}, {"type", TypeName(r.type)},
                {"redop", OpName(r.op)},  {"root", r.root},   {"oop", measurement(r.oop)},
                {"ip", measurement(r.ip)}};
    if (BaselineName(options_) != nullptr && r.baseline.valid)
      row[options_.compare_mpi ? "mpi" : "gloo"] = measurement(r.baseline);
    if (!r.algo.empty()) row["algo"] = r.algo;
    if (r.host_reduced >= 0) row["host_reduced_bytes"] = r.host_reduced;
    results.push_back(row);
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  json doc = {{"collective", BenchName(options_)},
              {"nranks", nranks_},
              {"weft", VersionName()},
              {"build", BuildDescription()},
              {"argv", options_.argv},
              {"env", Environment()},
              {"host", host},
              {"date", UtcNow()},
              {"mem", options_.device ? "device" : "host"},
              {"time", AverageName(options_.average)},
              {"blocking", options_.blocking != 0},
              {"results", results}};
  std::ofstream f(path);
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  f << doc.dump(2) << "\n";
  return static_cast<bool>(f);
}

}  // namespace weft::perf
