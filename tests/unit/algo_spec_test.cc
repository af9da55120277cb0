#include <gtest/gtest.h>

#include "collectives/algo_spec.h"

namespace weft {
namespace {

TEST(AlgoSpec, EmptyAllowsEverythingACollectiveHas) {
  AlgoSpec s;
  ASSERT_TRUE(ParseAlgoSpec("", &s).ok());
  EXPECT_TRUE(s.Allows(CollType::kAllReduce, Algo::kTree));
  EXPECT_TRUE(s.Allows(CollType::kAllReduce, Algo::kRecursiveDoubling));
  EXPECT_TRUE(s.Allows(CollType::kAllGather, Algo::kRing));
  EXPECT_FALSE(s.Allows(CollType::kAllGather, Algo::kTree));
  EXPECT_TRUE(s.Allows(CollType::kBroadcast, Algo::kTree));
}

TEST(AlgoSpec, OnlyExcludeAndPerCollective) {
  AlgoSpec s;
  ASSERT_TRUE(ParseAlgoSpec("tree", &s).ok());
  EXPECT_TRUE(s.Allows(CollType::kAllReduce, Algo::kTree));
  EXPECT_FALSE(s.Allows(CollType::kAllReduce, Algo::kRing));
  EXPECT_TRUE(s.Allows(CollType::kAllGather, Algo::kRing));  // has no tree: unaffected
  ASSERT_TRUE(ParseAlgoSpec("^tree", &s).ok());
  EXPECT_FALSE(s.Allows(CollType::kAllReduce, Algo::kTree));
  EXPECT_TRUE(s.Allows(CollType::kAllReduce, Algo::kRing));
  ASSERT_TRUE(ParseAlgoSpec("allreduce:tree,rd; allgather:ring", &s).ok());
  EXPECT_TRUE(s.Allows(CollType::kAllReduce, Algo::kRecursiveDoubling));
  EXPECT_FALSE(s.Allows(CollType::kAllReduce, Algo::kRing));
}

TEST(AlgoSpec, BadValuesListTheValidOnes) {
  AlgoSpec s;
  Status st = ParseAlgoSpec("hypercube", &s);
  EXPECT_EQ(weftInvalidArgument, st.code());
  EXPECT_NE(std::string::npos, st.message().find("unknown algorithm 'hypercube'"));
  EXPECT_NE(std::string::npos, st.message().find("valid algorithms: ring, tree, rd, direct"));
  st = ParseAlgoSpec("alltoall:ring", &s);
  EXPECT_NE(std::string::npos, st.message().find("unknown collective 'alltoall'"));
  st = ParseAlgoSpec("allgather:tree", &s);
  EXPECT_NE(std::string::npos,
            st.message().find(
                "leaves allgather without an algorithm (it has: ring, direct, hier, oneshot)"));
  st = ParseAlgoSpec("reduce:direct", &s);
  EXPECT_NE(
      std::string::npos,
      st.message().find("leaves reduce without an algorithm (it has: ring, tree, hier, oneshot)"));
}

TEST(AlgoSpec, DirectIsForAllReduceAllGatherAndBroadcast) {
  AlgoSpec s;
  ASSERT_TRUE(ParseAlgoSpec("direct", &s).ok());
  EXPECT_TRUE(s.Allows(CollType::kAllGather, Algo::kDirect));
  EXPECT_TRUE(s.Allows(CollType::kBroadcast, Algo::kDirect));
  EXPECT_TRUE(s.Allows(CollType::kAllReduce, Algo::kDirect));
  EXPECT_FALSE(s.Allows(CollType::kReduce, Algo::kDirect));
  EXPECT_TRUE(s.Allows(CollType::kReduce, Algo::kRing));  // has no direct: unaffected
}

// Every algorithm is in the registry once, at its own index, with a builder and cost terms,
// and WEFT_ALGO knows it by its name.
TEST(Registry, EveryAlgorithmOnceWithItsParts) {
  ASSERT_EQ(static_cast<size_t>(kNumAlgos), Algorithms().size());
  for (int i = 0; i < kNumAlgos; ++i) {
    const AlgorithmInfo* a = Algorithms()[static_cast<size_t>(i)];
    EXPECT_EQ(i, static_cast<int>(a->id));
    EXPECT_NE(nullptr, a->build) << a->name;
    EXPECT_NE(nullptr, a->predict) << a->name;
    EXPECT_NE(0u, a->colls) << a->name;
    EXPECT_EQ(a, FindAlgorithm(a->name));
    AlgoSpec s;
    ASSERT_TRUE(ParseAlgoSpec(a->name, &s).ok()) << a->name;
    for (CollType c : kAllCollTypes)
      EXPECT_EQ(a->Serves(c), s.Allows(c, a->id)) << a->name << " " << CollName(c);
  }
  EXPECT_EQ(nullptr, FindAlgorithm("nope"));
  EXPECT_EQ("ring, tree, rd, direct, hier, oneshot", AlgorithmNames());
}

}  // namespace
}  // namespace weft
