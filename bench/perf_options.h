// weft-perf's options: nccl-tests' flags and meanings.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collectives/plan.h"
#include "weft/weft.h"

namespace weft::perf {

// Point-to-point patterns weft-perf measures besides the collectives (as nccl-tests'
// alltoall_perf and sendrecv_perf): groups of weftSend/weftRecv.
enum class P2PPattern { kNone, kAllToAll, kSendRecv };

struct Options {
  CollType coll = CollType::kAllReduce;  // with a pattern: kAllGather (no op, no root)
  P2PPattern p2p = P2PPattern::kNone;
  size_t min_bytes = 32u << 20;  // -b
  size_t max_bytes = 32u << 20;  // -e
  size_t step_bytes = 1u << 20;  // -i
  double step_factor = 0;        // -f (0: use step_bytes)
  int iters = 20;                // -n
  int warmup = 1;                // -w
  int check = 1;                 // -c
  int blocking = 0;              // -z (host collectives always block)
  int average = 1;  // -a: the time of rank 0 (0), the mean (1), min (2) or max (3) over ranks
  std::vector<weftDataType_t> types = {weftFloat32};  // -d
  std::vector<weftRedOp_t> ops = {weftSum};           // -o
  std::vector<int> roots = {0};                       // -r
  std::string json_file;                              // -J
  std::string tune_file;                              // --tune: measure algorithms, write a table
  bool compare_mpi = false;                           // --compare mpi
  bool compare_gloo = false;                          // --compare gloo
  bool compare_algos = false;                         // --compare algos
  int rounds = 3;                                     // --rounds: interleaved, median kept
  bool device = false;                                // --mem device: buffers on the GPU
  bool register_buffers = false;  // -R 1: host buffers from weftMemAlloc, registered
  int threads = 1;                // -t: ranks as threads of this one process
  std::vector<std::string> argv;  // the command line, for the JSON
};

// -a's name for each value: "rank0", "mean", "min", "max".
const char* AverageName(int average);

// The baseline measured beside Weft ("MPI", "Gloo"), or null.
const char* BaselineName(const Options& o);

// "allreduce", ..., "alltoall", "sendrecv".
const char* BenchName(const Options& o);

// Parses argv; on error or --help prints and returns false with *exit_code set.
bool ParseOptions(int argc, char** argv, Options* out, int* exit_code);

// The sizes of the sweep, nccl-tests style.
std::vector<size_t> SweepSizes(const Options& o);

}  // namespace weft::perf
