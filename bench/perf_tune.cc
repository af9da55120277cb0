#include "bench/perf_tune.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "bench/perf_runner.h"
#include "collectives/algo_spec.h"
#include "collectives/tune_table.h"
#include "common/dtype.h"

namespace weft::perf {
namespace {

// A communicator over the same ranks whose only algorithm is `algo`.
weftResult_t CommWithAlgo(weftComm_t comm, int rank, int nranks, Algo algo, weftComm_t* out) {
  weftUniqueId id{};
  weftResult_t r = weftSuccess;
  if (rank == 0) r = weftGetUniqueId(&id);
  if (r != weftSuccess) return r;
  r = weftBroadcast(&id, &id, sizeof(id), weftInt8, 0, comm, nullptr);
  if (r != weftSuccess) return r;
  weftConfig_t config = WEFT_CONFIG_INITIALIZER;
  config.algo = AlgoName(algo);
  r = weftCommInitRankConfig(out, nranks, id, rank, &config);
  return r;
}

// Times in us (out of place) per communicator and size: the algorithms' own communicators,
// then, with `with_auto`, the job's. `picked[s]` is what the job's communicator used.
struct SideBySide {
  int rank = 0, nranks = 1;
  std::vector<Algo> algos;
  std::vector<size_t> sizes;
  std::vector<std::vector<double>> time;  // [communicator][size]
  std::vector<std::string> picked;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// A time of the table: "-" for one not measured (NaN).
void PrintTime(double us) {
  if (std::isnan(us))
    std::printf(" %10s", "-");
  else
    std::printf(" %10.2f", us);
}

bool MeasureSideBySide(weftComm_t comm, const Options& options, bool with_auto, SideBySide* out) {
  weftCommUserRank(comm, &out->rank);
  weftCommCount(comm, &out->nranks);
  const int rank = out->rank, nranks = out->nranks;
  out->sizes = SweepSizes(options);
  for (int a = 0; a < kNumAlgos; ++a)
    if (SupportedAlgos(options.coll) & (1u << a)) out->algos.push_back(static_cast<Algo>(a));
  std::vector<weftComm_t> comms;
  std::vector<std::string> names;
  bool ok = true;
  for (Algo algo : out->algos) {
    weftComm_t sub = nullptr;
    if (CommWithAlgo(comm, rank, nranks, algo, &sub) != weftSuccess) {
      std::fprintf(stderr, "weft-perf: a communicator for %s: %s\n", AlgoName(algo),
                   weftGetLastError(nullptr));
      ok = false;
      break;
    }
    comms.push_back(sub);
    names.push_back(AlgoName(algo));
  }
  if (ok && with_auto) {
    comms.push_back(comm);
    names.push_back("auto");
  }
  const int root = options.roots[0] < 0 ? 0 : options.roots[0];
  Runner runner(comm, options);
  out->time.assign(comms.size(), std::vector<double>(out->sizes.size(), 0));
  out->picked.assign(out->sizes.size(), "");
  // From kSettled bytes up every algorithm is bandwidth-bound and their order no longer
  // changes with size: one over kHopeless times the fastest there is not timed at larger
  // sizes (its time is NaN). It would not win, and its long runs only disturb the others'.
  constexpr double kHopeless = 4.0;
  constexpr size_t kSettled = size_t{1} << 20;
  std::vector<bool> dropped(comms.size(), false);
  for (size_t s = 0; ok && s < out->sizes.size(); ++s) {
    std::vector<std::vector<double>> rounds(comms.size());
    for (int k = 0; ok && k < options.rounds; ++k) {
      // Each round starts with another communicator: none is always first (or last).
      for (size_t i = 0; ok && i < comms.size(); ++i) {
        const size_t c = (i + static_cast<size_t>(k)) % comms.size();
        if (dropped[c]) continue;
        runner.UseComm(comms[c]);
        Row row;
        if (!runner.Measure(out->sizes[s], options.types[0], options.ops[0], root, &row) ||
            row.oop.wrong > 0) {
          std::fprintf(stderr, "weft-perf: %s at %zu bytes failed\n", names[c].c_str(),
                       out->sizes[s]);
          ok = false;
          break;
        }
        rounds[c].push_back(row.oop.time_us);
        if (with_auto && comms[c] == comm) out->picked[s] = row.algo;
      }
    }
    double best = std::numeric_limits<double>::infinity();
    for (size_t c = 0; ok && c < comms.size(); ++c) {
      out->time[c][s] = dropped[c] ? std::nan("") : Median(rounds[c]);
      if (!dropped[c]) best = std::min(best, out->time[c][s]);
    }
    // Every rank must drop the same ones (with -a 0 each rank has its own times): rank 0's
    // verdict, broadcast.
    for (size_t c = 0; ok && c < out->algos.size(); ++c) {
      int32_t drop =
          dropped[c] || (out->sizes[s] >= kSettled && out->time[c][s] > kHopeless * best) ? 1 : 0;
      ok = weftBroadcast(&drop, &drop, 1, weftInt32, 0, comm, nullptr) == weftSuccess;
      dropped[c] = drop != 0;
    }
  }
  for (size_t c = 0; c < out->algos.size() && c < comms.size(); ++c) {
    if (ok)
      weftCommDestroy(comms[c]);
    else
      weftCommAbort(comms[c]);
  }
  return ok;
}

}  // namespace

bool RunAlgoComparison(weftComm_t comm, const Options& options) {
  SideBySide m;
  if (!MeasureSideBySide(comm, options, /*with_auto=*/true, &m)) return false;
  if (m.rank != 0) return true;
  std::printf(
      "# %s over %d ranks, %s %s: time in us (out of place), median of %d interleaved "
      "rounds of %d iterations\n# %12s",
      CollName(options.coll), m.nranks, TypeName(options.types[0]), OpName(options.ops[0]),
      options.rounds, options.iters, "size");
  for (Algo a : m.algos)
    std::printf(" %10s", AlgoName(a));
  std::printf(" %10s %6s %9s\n", "auto", "picked", "auto/best");
  for (size_t s = 0; s < m.sizes.size(); ++s) {
    double best = std::numeric_limits<double>::infinity();
    for (size_t a = 0; a < m.algos.size(); ++a)
      if (!std::isnan(m.time[a][s])) best = std::min(best, m.time[a][s]);
    std::printf("  %12zu", m.sizes[s]);
    for (size_t a = 0; a <= m.algos.size(); ++a)
      PrintTime(m.time[a][s]);
    std::printf(" %6s %9.2f\n", m.picked[s].c_str(), m.time[m.algos.size()][s] / best);
  }
  return true;
}

bool RunTuning(weftComm_t comm, const Options& options) {
  SideBySide m;
  if (!MeasureSideBySide(comm, options, /*with_auto=*/false, &m)) return false;
  const int rank = m.rank, nranks = m.nranks;
  const std::vector<Algo>& algos = m.algos;
  const std::vector<size_t>& sizes = m.sizes;
  const std::vector<std::vector<double>>& time = m.time;
  if (rank != 0) return true;
  // The fastest per size; a change of winner between two sizes splits at their geometric mean.
  std::printf("# tuning %s over %d ranks (time in us, out of place)\n# %12s",
              CollName(options.coll), nranks, "size");
  for (Algo a : algos)
    std::printf(" %10s", AlgoName(a));
  std::printf("  best\n");
  TuneTable table;
  for (size_t s = 0; s < sizes.size(); ++s) {
    size_t best = 0;
    while (best + 1 < algos.size() && std::isnan(time[best][s]))
      ++best;
    for (size_t a = best + 1; a < algos.size(); ++a)
      if (time[a][s] < time[best][s]) best = a;  // false for NaN: a dropped one never wins
    std::printf("  %12zu", sizes[s]);
    for (size_t a = 0; a < algos.size(); ++a)
      PrintTime(time[a][s]);
    std::printf("  %s\n", AlgoName(algos[best]));
    const size_t from =
        s == 0 ? 0 : static_cast<size_t>(std::sqrt(static_cast<double>(sizes[s - 1]) * sizes[s]));
    if (!table.entries.empty() && table.entries.back().algo == algos[best]) continue;
    if (!table.entries.empty()) table.entries.back().to = from;
    TuneEntry e;
    e.coll = options.coll;
    e.nranks = nranks;
    e.from = from;
    e.to = SIZE_MAX;
    e.algo = algos[best];
    table.entries.push_back(e);
  }
  std::ofstream f(options.tune_file);
  f << table.ToText();
  if (!f) {
    std::fprintf(stderr, "weft-perf --tune: cannot write %s\n", options.tune_file.c_str());
    return false;
  }
  std::printf("# wrote %s: use it with WEFT_TUNE_FILE=%s\n", options.tune_file.c_str(),
              options.tune_file.c_str());
  return true;
}

}  // namespace weft::perf
