#include "bench/perf_tune.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "bench/perf_runner.h"
#include "collectives/algo_spec.h"
#include "collectives/tune_table.h"

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
  const char* old = std::getenv("WEFT_ALGO");
  const std::string saved = old ? old : "";
  setenv("WEFT_ALGO", AlgoName(algo), 1);
  r = weftCommInitRank(out, nranks, id, rank);
  if (old)
    setenv("WEFT_ALGO", saved.c_str(), 1);
  else
    unsetenv("WEFT_ALGO");
  return r;
}

}  // namespace

bool RunTuning(weftComm_t comm, const Options& options) {
  int rank = 0, nranks = 1;
  weftCommUserRank(comm, &rank);
  weftCommCount(comm, &nranks);
  const std::vector<size_t> sizes = SweepSizes(options);
  std::vector<Algo> algos;
  for (int a = 0; a < kNumAlgos; ++a)
    if (SupportedAlgos(options.coll) & (1u << a)) algos.push_back(static_cast<Algo>(a));
  // time[algo][size], microseconds
  std::vector<std::vector<double>> time(algos.size(), std::vector<double>(sizes.size(), 0));
  for (size_t a = 0; a < algos.size(); ++a) {
    weftComm_t sub = nullptr;
    weftResult_t r = CommWithAlgo(comm, rank, nranks, algos[a], &sub);
    if (r != weftSuccess) {
      std::fprintf(stderr, "weft-perf --tune: %s: %s\n", AlgoName(algos[a]),
                   weftGetLastError(nullptr));
      return false;
    }
    Runner runner(sub, options);
    for (size_t s = 0; s < sizes.size(); ++s) {
      Row row;
      if (!runner.Measure(sizes[s], options.types[0], options.ops[0],
                          options.roots[0] < 0 ? 0 : options.roots[0], &row) ||
          row.oop.wrong > 0) {
        std::fprintf(stderr, "weft-perf --tune: %s at %zu bytes failed\n", AlgoName(algos[a]),
                     sizes[s]);
        weftCommAbort(sub);
        return false;
      }
      time[a][s] = row.oop.time_us;
    }
    weftCommDestroy(sub);
  }
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
    for (size_t a = 1; a < algos.size(); ++a)
      if (time[a][s] < time[best][s]) best = a;
    std::printf("  %12zu", sizes[s]);
    for (size_t a = 0; a < algos.size(); ++a)
      std::printf(" %10.2f", time[a][s]);
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
