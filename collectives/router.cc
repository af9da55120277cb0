#include "collectives/router.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "collectives/collective.h"
#include "collectives/direct_links.h"
#include "common/dtype.h"
#include "common/log.h"

namespace weft {

Router::Router(const RouterOptions& options, PlanShapes shapes, std::unique_ptr<Tuner> tuner)
    : options_(options), shapes_(std::move(shapes)), tuner_(std::move(tuner)) {}

Algo Router::Choose(CollType coll, size_t bytes, weftDataType_t type) const {
  std::vector<Prediction> candidates;
  bool from_table = false;
  const Algo algo = tuner_->Choose(coll, bytes, &candidates, &from_table, type);
  if (LogEnabled(LogLevel::kInfo, kLogTune)) {
    std::string text;
    for (const Prediction& p : candidates)
      text += Format(" %s %.1f us", AlgoName(p.algo), p.time_us);
    WEFT_INFO(kLogTune, "%s of %zu bytes: %s%s (predicted:%s)", CollName(coll), bytes,
              AlgoName(algo), from_table ? " from WEFT_TUNE_FILE" : "", text.c_str());
  }
  return algo;
}

Algo Router::ChooseForDevice(CollType coll, size_t bytes, weftDataType_t type) {
  const auto key = std::make_tuple(static_cast<int>(coll), bytes, static_cast<int>(type));
  auto it = device_choices_.find(key);
  if (it != device_choices_.end()) return it->second;
  if (!device_tuner_) return Choose(coll, bytes, type);
  std::vector<Prediction> candidates;
  const Algo algo = device_tuner_->Choose(coll, bytes, &candidates, nullptr, type);
  if (LogEnabled(LogLevel::kInfo, kLogTune)) {
    std::string text;
    for (const Prediction& p : candidates)
      text += Format(" %s %.1f us", AlgoName(p.algo), p.time_us);
    WEFT_INFO(kLogTune, "device %s of %zu bytes: %s (predicted:%s)", CollName(coll), bytes,
              AlgoName(algo), text.c_str());
  }
  if (device_choices_.size() >= kMaxCachedPlans) device_choices_.clear();
  return device_choices_.emplace(key, algo).first->second;
}

Status Router::Get(const CollArgs& a, const Route** out) {
  const size_t esz = TypeSize(a.type);
  const size_t bytes = CallBytes(a.coll, a.count, esz, options_.nranks);
  Chunking chunking =
      ChunkingFor(options_.chunk_size, options_.nchannels_setting, options_.nhosts, esz);
  Key key{
      static_cast<int>(a.coll), a.count,    static_cast<int>(a.type), a.root, chunking.nchannels,
      chunking.chunk_elems,     a.zero_copy};
  auto it = routes_.find(key);
  if (it == routes_.end()) {
    auto route = std::make_unique<Route>();
    const Algo algo = a.zero_copy ? Algo::kDirect : Choose(a.coll, bytes, a.type);
    route->algo = algo;
    // Tree chunks and recursive doubling's messages travel on the shallower FIFOs of tree
    // edges and pairs: cut them to fit (links that cannot carry a message go over the
    // network, which is slower inside a host).
    if ((algo == Algo::kTree || algo == Algo::kRecursiveDoubling) && options_.shared_fifos)
      chunking.chunk_elems =
          std::min(chunking.chunk_elems, std::max<size_t>(1, kDirectOtherSlotBytes / esz));
    WEFT_CHECK(
        BuildPlan(algo, a.coll, options_.rank, shapes_, a.count, a.root, chunking, &route->plan));
    route->plan.serial = ++plans_built_;
    if (routes_.size() >= kMaxCachedPlans) routes_.clear();
    it = routes_.emplace(key, std::move(route)).first;
    WEFT_TRACE(kLogColl, "plan:\n%s", it->second->plan.Describe().c_str());
  }
  *out = it->second.get();
  return Status::Ok();
}

}  // namespace weft
