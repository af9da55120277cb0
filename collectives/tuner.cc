#include "collectives/tuner.h"

namespace weft {

Tuner::Tuner(const TunerInput& input, const AlgoSpec& allowed, TuneTable measured)
    : model_(input), allowed_(allowed), measured_(std::move(measured)) {
  job_.nranks = input.nranks;
  job_.nhosts = input.nhosts;
  job_.uniform_hosts = input.uniform_hosts;
  job_.one_copy = input.one_copy;
  job_.one_shot = input.one_shot_max_bytes > 0;
}

double Tuner::Predict(Algo algo, CollType coll, size_t bytes) const {
  if (model_.in.nranks <= 1) return 0;
  return AlgorithmOf(algo).predict(model_, coll, bytes);
}

bool Tuner::Usable(CollType coll, Algo algo) const {
  const AlgorithmInfo& a = AlgorithmOf(algo);
  return allowed_.Allows(coll, algo) && (a.refuses == nullptr || a.refuses(job_) == nullptr);
}

bool Tuner::Takes(CollType coll, Algo algo, size_t bytes, weftDataType_t type) const {
  return Usable(coll, algo) && AlgorithmOf(algo).Takes(model_, coll, bytes, type);
}

Algo Tuner::Choose(CollType coll, size_t bytes, std::vector<Prediction>* candidates,
                   bool* from_table, weftDataType_t type) const {
  if (from_table) *from_table = false;
  Algo best = Algo::kRing;
  double best_time = -1;
  for (const AlgorithmInfo* a : Algorithms()) {
    if (!Takes(coll, a->id, bytes, type)) continue;
    const double t = Predict(a->id, coll, bytes);
    if (candidates) candidates->push_back({a->id, t});
    if (best_time < 0 || t < best_time) best = a->id, best_time = t;
  }
  Algo measured;
  if (measured_.Lookup(coll, model_.in.nranks, bytes, &measured) &&
      Takes(coll, measured, bytes, type)) {
    if (from_table) *from_table = true;
    return measured;
  }
  return best;
}

}  // namespace weft
