// Tuner: picks the algorithm for each call, NCCL-style: the smallest predicted time over the
// algorithms WEFT_ALGO allows and the job can run, each predicted by its own cost terms
// (the registry's AlgorithmInfo::predict over the shared CostModel), unless a measured
// tuning table (WEFT_TUNE_FILE) has a line for the call.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "collectives/algo_spec.h"
#include "collectives/algorithms/registry.h"
#include "collectives/cost_model.h"
#include "collectives/plan.h"
#include "collectives/tune_table.h"

namespace weft {

struct Prediction {
  Algo algo;
  double time_us;
};

class Tuner {
 public:
  // `measured` (WEFT_TUNE_FILE) wins over the model wherever it has a line for the call.
  Tuner(const TunerInput& input, const AlgoSpec& allowed, TuneTable measured = {});

  // The measured table's algorithm if it has one (and WEFT_ALGO allows it), else the
  // allowed algorithm with the smallest predicted time among those that take a call of
  // `bytes` in `type`; every candidate's prediction for logs, and whether the table decided.
  Algo Choose(CollType coll, size_t bytes, std::vector<Prediction>* candidates = nullptr,
              bool* from_table = nullptr, weftDataType_t type = weftUint8) const;
  double Predict(Algo algo, CollType coll, size_t bytes) const;
  // WEFT_ALGO allows it, and it can run in this job.
  bool Usable(CollType coll, Algo algo) const;
  // ... and it takes a call of `bytes` in `type` (AlgorithmInfo::takes).
  bool Takes(CollType coll, Algo algo, size_t bytes, weftDataType_t type) const;
  const CostModel& model() const { return model_; }

 private:
  CostModel model_;
  JobShape job_;
  AlgoSpec allowed_;
  TuneTable measured_;
};

}  // namespace weft
