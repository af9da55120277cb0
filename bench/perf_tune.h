// weft-perf --tune FILE: measures each algorithm the collective has, over the sweep, on
// this job (one communicator per algorithm, forced with WEFT_ALGO), and writes the fastest
// per size as a tuning table for WEFT_TUNE_FILE.
#pragma once

#include "bench/perf_options.h"
#include "weft/weft.h"

namespace weft::perf {

// Collective over `comm`'s ranks; returns false if anything failed (message printed).
bool RunTuning(weftComm_t comm, const Options& options);

}  // namespace weft::perf
