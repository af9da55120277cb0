// Router: the routing job of a communicator. For each call, which algorithm (the tuner) and
// which plan (built once per call shape and cached) it runs. Pure data and computation: no
// network, no threads, no locks (the communicator serializes calls).
#pragma once

#include <map>
#include <memory>
#include <tuple>

#include "collectives/coll_args.h"
#include "collectives/plan.h"
#include "collectives/plan_builder.h"
#include "collectives/tuner.h"
#include "common/status.h"

namespace weft {

struct RouterOptions {
  int rank = 0;
  int nranks = 1;
  int nhosts = 1;
  size_t chunk_size = 256 << 10;  // WEFT_CHUNK_SIZE
  int nchannels_setting = 0;      // WEFT_NCHANNELS (0: AutoChannels)
  // Ranks of a host share FIFOs: tree and recursive-doubling messages are cut to fit the
  // shallower FIFOs of their edges.
  bool shared_fifos = false;
};

class Router {
 public:
  struct Route {
    Plan plan;
    Algo algo = Algo::kRing;
  };

  Router(const RouterOptions& options, PlanShapes shapes, std::unique_ptr<Tuner> tuner);

  // The algorithm for a call of `bytes` in `type` (logged at WEFT_DEBUG=INFO with the
  // predictions).
  Algo Choose(CollType coll, size_t bytes, weftDataType_t type) const;
  // For device buffers across hosts: the device tuner's choice (device_tuning.h; without
  // one, Choose's), remembered: for one communicator the answer depends on the call's shape
  // alone (asked on every device call that the device hierarchy could serve).
  Algo ChooseForDevice(CollType coll, size_t bytes, weftDataType_t type);
  void SetDeviceTuner(std::unique_ptr<Tuner> tuner) { device_tuner_ = std::move(tuner); }
  // The route of a call; valid until the next call of Get. A call marked zero_copy takes
  // the one-copy plan (Algo::kDirect).
  Status Get(const CollArgs& a, const Route** out);
  const PlanShapes& shapes() const { return shapes_; }

 private:
  // (collective, count, type, root, channels, chunk elements, zero copy): the algorithm is a
  // function of (collective, size, type, zero copy) for a communicator, so it needs no place
  // in the key.
  using Key = std::tuple<int, size_t, int, int, int, size_t, bool>;
  static constexpr size_t kMaxCachedPlans = 64;  // plans are cheap to rebuild

  RouterOptions options_;
  PlanShapes shapes_;
  std::unique_ptr<Tuner> tuner_;
  std::unique_ptr<Tuner> device_tuner_;
  std::map<Key, std::unique_ptr<Route>> routes_;
  std::map<std::tuple<int, size_t, int>, Algo> device_choices_;  // ChooseForDevice's
  uint64_t plans_built_ = 0;  // serials for the plans (Plan::serial)
};

}  // namespace weft
