// weft-perf --tune FILE and --compare algos: each algorithm the collective has runs on a
// communicator of its own over the same ranks (forced with WEFT_ALGO), beside the job's
// communicator (the automatic choice), interleaved size by size and round by round so that
// a noisy machine slows them all alike; the median of the rounds is kept.
//   --tune FILE      writes the fastest algorithm per size as a tuning table (WEFT_TUNE_FILE);
//   --compare algos  prints the times side by side, what the automatic choice picked, and
//                    how far it is from the fastest.
#pragma once

#include "bench/perf_options.h"
#include "weft/weft.h"

namespace weft::perf {

// Collective over `comm`'s ranks; return false if anything failed (message printed).
bool RunTuning(weftComm_t comm, const Options& options);
bool RunAlgoComparison(weftComm_t comm, const Options& options);

}  // namespace weft::perf
