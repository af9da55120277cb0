// The router: one plan per call shape, built once and reused; the algorithm the tuner (or
// WEFT_ALGO) picks; tree chunks cut to the shared FIFOs' smaller slots.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "collectives/direct_links.h"
#include "collectives/router.h"

namespace weft {
namespace {

Router MakeRouter(const std::string& algo, bool shared_fifos, int nranks = 4) {
  AlgoSpec spec;
  EXPECT_TRUE(ParseAlgoSpec(algo, &spec).ok());
  TunerInput in;
  in.nranks = nranks;
  RouterOptions o;
  o.rank = 1;
  o.nranks = nranks;
  o.shared_fifos = shared_fifos;
  std::vector<int> ring(static_cast<size_t>(nranks)), host_of(static_cast<size_t>(nranks), 0);
  for (int r = 0; r < nranks; ++r)
    ring[static_cast<size_t>(r)] = r;
  return Router(o, MakePlanShapes(ring, host_of), std::make_unique<Tuner>(in, spec));
}

CollArgs AllReduce(size_t count) {
  CollArgs a;
  a.coll = CollType::kAllReduce;
  a.count = count;
  a.type = weftFloat32;
  return a;
}

TEST(Router, OnePlanPerCallShapeReused) {
  Router router = MakeRouter("ring", false);
  const Router::Route* first;
  const Router::Route* again;
  const Router::Route* other;
  ASSERT_TRUE(router.Get(AllReduce(1000), &first).ok());
  ASSERT_TRUE(router.Get(AllReduce(1000), &again).ok());
  EXPECT_EQ(first, again);
  EXPECT_EQ(Algo::kRing, first->algo);
  EXPECT_EQ(1000u, first->plan.output_count);
  ASSERT_TRUE(router.Get(AllReduce(2000), &other).ok());
  EXPECT_NE(first, other);
  EXPECT_EQ(2000u, other->plan.output_count);
}

TEST(Router, TreeChunksFitTheSharedFifosSlots) {
  const size_t big = 4u << 20;  // elements: 16 MiB, many chunks
  for (bool shared : {false, true}) {
    Router router = MakeRouter("tree", shared);
    const Router::Route* route;
    ASSERT_TRUE(router.Get(AllReduce(big), &route).ok());
    EXPECT_EQ(Algo::kTree, route->algo);
    size_t largest = 0;
    for (const PlanLink& link : route->plan.links)
      largest = std::max(largest, link.max_elems);
    if (shared)
      EXPECT_LE(largest * sizeof(float), kDirectOtherSlotBytes);
    else
      EXPECT_GT(largest * sizeof(float), kDirectOtherSlotBytes);
  }
}

}  // namespace
}  // namespace weft
