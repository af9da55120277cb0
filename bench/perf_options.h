// weft-perf's options: nccl-tests' flags and meanings.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collectives/plan.h"
#include "weft/weft.h"

namespace weft::perf {

struct Options {
  CollType coll = CollType::kAllReduce;
  size_t min_bytes = 32u << 20;                       // -b
  size_t max_bytes = 32u << 20;                       // -e
  size_t step_bytes = 1u << 20;                       // -i
  double step_factor = 0;                             // -f (0: use step_bytes)
  int iters = 20;                                     // -n
  int warmup = 1;                                     // -w
  int check = 1;                                      // -c
  int blocking = 0;                                   // -z (host collectives always block)
  int average = 1;                                    // -a
  std::vector<weftDataType_t> types = {weftFloat32};  // -d
  std::vector<weftRedOp_t> ops = {weftSum};           // -o
  std::vector<int> roots = {0};                       // -r
  std::string json_file;                              // -J
  std::string tune_file;                              // --tune: measure algorithms, write a table
  bool compare_mpi = false;                           // --compare mpi
  bool compare_algos = false;                         // --compare algos
  int rounds = 3;                                     // --rounds: interleaved, median kept
  bool device = false;                                // --mem device: buffers on the GPU
};

// Parses argv; on error or --help prints and returns false with *exit_code set.
bool ParseOptions(int argc, char** argv, Options* out, int* exit_code);

// The sizes of the sweep, nccl-tests style.
std::vector<size_t> SweepSizes(const Options& o);

}  // namespace weft::perf
