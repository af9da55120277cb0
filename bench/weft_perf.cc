// weft-perf: nccl-tests-style bandwidth benchmark. Bootstraps through MPI under mpirun (when
// built with MPI), otherwise through weftCommInitFromEnv (weft-run, WEFT_* variables, srun,
// torchrun). Exits non-zero if any result is wrong or any call fails.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/perf_gloo.h"
#include "bench/perf_mpi.h"
#include "bench/perf_options.h"
#include "bench/perf_report.h"
#include "bench/perf_runner.h"
#include "bench/perf_tune.h"
#include "common/dtype.h"
#include "weft/weft.h"

using namespace weft::perf;
using weft::CollType;

namespace {

int Fail(const char* what, weftResult_t r) {
  std::fprintf(stderr, "weft-perf: %s: %s: %s\n", what, weftGetErrorString(r),
               weftGetLastError(nullptr));
  return 1;
}

// Everything one rank does on its communicator, which it destroys (or aborts) at the end;
// the exit code its part asks for.
int RunRank(weftComm_t comm, const Options& options) {
  weftResult_t r;
  int rank = 0, nranks = 1;
  weftCommUserRank(comm, &rank);
  weftCommCount(comm, &nranks);

  // One line per rank in the header, as nccl-tests prints its devices.
  char host[64] = {};
  gethostname(host, sizeof(host) - 1);
  std::string mine = "#  Rank " + std::to_string(rank) + " Pid " + std::to_string(getpid()) +
                     " on " + host + " host memory";
  std::vector<char> line(128, 0), all(128 * static_cast<size_t>(nranks), 0);
  mine.copy(line.data(), line.size() - 1);
  if ((r = weftAllGather(line.data(), all.data(), line.size(), weftInt8, comm, nullptr)) !=
      weftSuccess)
    return Fail("allgather", r);
  std::vector<std::string> rank_lines;
  for (int k = 0; k < nranks; ++k)
    rank_lines.emplace_back(all.data() + 128 * k);

  std::vector<int> roots = options.roots;
  if (roots.size() == 1 && roots[0] == -1) {
    roots.clear();
    for (int k = 0; k < nranks; ++k)
      roots.push_back(k);
  }
  for (int root : roots) {
    if (root >= nranks) {
      if (rank == 0) std::fprintf(stderr, "weft-perf: root %d >= nranks %d\n", root, nranks);
      return 2;
    }
  }
  if (!FactsOf(options.coll).rooted) roots = {0};
  std::vector<weftRedOp_t> ops =
      FactsOf(options.coll).reduces ? options.ops : std::vector<weftRedOp_t>{weftSum};

  if (!options.tune_file.empty() || options.compare_algos) {
    const bool tuned =
        options.compare_algos ? RunAlgoComparison(comm, options) : RunTuning(comm, options);
    if (tuned)
      weftCommDestroy(comm);
    else
      weftCommAbort(comm);
    return tuned ? 0 : 1;
  }

  Report report(options, nranks, stdout);
  if (!options.device && options.p2p == P2PPattern::kNone)
    report.SetBound(MeasureMemoryBound(comm, options.coll, options.max_bytes));
  if (rank == 0) report.Header(rank_lines);
  Runner runner(comm, options);
  std::unique_ptr<GlooBaseline> gloo;
  if (options.compare_gloo) {
    std::string error;
    gloo = GlooBaseline::Connect(comm, &error);
    if (!gloo) {
      std::fprintf(stderr, "weft-perf: rank %d: --compare gloo: %s\n", rank, error.c_str());
      weftCommAbort(comm);
      return 1;
    }
    runner.UseGloo(gloo.get());
  }
  std::string device_error;
  if (!runner.Ready(&device_error)) {
    std::fprintf(stderr, "weft-perf: rank %d: --mem device: %s\n", rank, device_error.c_str());
    weftCommAbort(comm);
    return 1;
  }
  bool ok = true;
  for (weftDataType_t type : options.types) {
    for (weftRedOp_t op : ops) {
      for (int root : roots) {
        for (size_t bytes : SweepSizes(options)) {
          Row row;
          if (!runner.Measure(bytes, type, op, root, &row)) {
            std::fprintf(stderr, "weft-perf: rank %d: %s %zu bytes failed: %s\n", rank,
                         weft::TypeName(type), bytes, weftGetLastError(comm));
            ok = false;
            break;
          }
          if (rank == 0) report.Line(row);
        }
        if (!ok) break;
      }
    }
  }
  int64_t wrong = 0;
  if (rank == 0) {
    wrong = report.Footer();
    std::string error;
    if (!options.json_file.empty() && !report.WriteJson(options.json_file, &error)) {
      std::fprintf(stderr, "weft-perf: %s\n", error.c_str());
      ok = false;
    }
  }
  if (ok) {
    r = weftCommDestroy(comm);
    if (r != weftSuccess) ok = false, Fail("destroy", r);
  } else {
    weftCommAbort(comm);
  }
  return ok && wrong == 0 ? 0 : 1;
}

// The id of the threads' communicator, and this process's place among the processes: under a
// launcher (mpirun, weft-run) process p of P runs ranks p*T .. p*T+T-1 of P*T, and process 0's
// id reaches the others over MPI or over a communicator of the processes, made for this.
bool ThreadsId(weftUniqueId* id, int* proc, int* procs) {
  *proc = 0;
  *procs = 1;
  const char* launched = std::getenv("WEFT_NRANKS");
  if (MpiLaunched()) {
    MpiInit(nullptr, nullptr);
    *proc = MpiRank();
    *procs = MpiSize();
    if (*proc == 0 && weftGetUniqueId(id) != weftSuccess) return false;
    MpiBcastId(id);
    return true;
  }
  if (launched == nullptr || std::atoi(launched) <= 1) return weftGetUniqueId(id) == weftSuccess;
  weftComm_t processes = nullptr;
  if (weftCommInitFromEnv(&processes) != weftSuccess) return false;
  weftCommUserRank(processes, proc);
  weftCommCount(processes, procs);
  bool ok = *proc != 0 || weftGetUniqueId(id) == weftSuccess;
  ok = weftBroadcast(id, id, sizeof(*id), weftUint8, 0, processes, nullptr) == weftSuccess && ok;
  return weftCommDestroy(processes) == weftSuccess && ok;
}

// Ranks as threads of this process (-t), each with its own communicator, as NCCL's
// one-process-many-GPUs use: rank t of T is thread t, or rank p*T+t where a launcher started
// P processes. The exit code is the worst rank's.
int RunThreads(const Options& options) {
  weftUniqueId id;
  int proc = 0, procs = 1;
  if (!ThreadsId(&id, &proc, &procs))
    return Fail("the threads' communicator id", weftInternalError);
  const int threads = options.threads;
  const int n = threads * procs;
  std::vector<int> codes(static_cast<size_t>(threads), 1);
  std::vector<std::thread> ranks;
  for (int t = 0; t < threads; ++t) {
    ranks.emplace_back([&, t] {
      weftComm_t comm = nullptr;
      const weftResult_t r = weftCommInitRank(&comm, n, id, proc * threads + t);
      codes[static_cast<size_t>(t)] = r == weftSuccess ? RunRank(comm, options) : Fail("init", r);
    });
  }
  for (std::thread& t : ranks)
    t.join();
  if (MpiLaunched()) MpiFinalize();
  return *std::max_element(codes.begin(), codes.end());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  int exit_code = 0;
  if (!ParseOptions(argc, argv, &options, &exit_code)) return exit_code;
  if (options.threads > 1) return RunThreads(options);

  const bool use_mpi = MpiLaunched();
  if (options.compare_mpi && !use_mpi) {
    std::fprintf(stderr, "weft-perf: --compare mpi needs mpirun%s\n",
                 MpiBuilt() ? "" : " and a build with MPI (WEFT_WITH_MPI)");
    return 2;
  }
  weftComm_t comm = nullptr;
  weftResult_t r;
  if (use_mpi) {
    MpiInit(&argc, &argv);
    weftUniqueId id;
    const int rank = MpiRank(), size = MpiSize();
    if (rank == 0 && (r = weftGetUniqueId(&id)) != weftSuccess) return Fail("weftGetUniqueId", r);
    MpiBcastId(&id);
    r = weftCommInitRank(&comm, size, id, rank);
  } else {
    r = weftCommInitFromEnv(&comm);
  }
  if (r != weftSuccess) return Fail("init", r);
  const int code = RunRank(comm, options);
  if (use_mpi) MpiFinalize();
  return code;
}
