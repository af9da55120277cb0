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
            st.message().find("leaves allgather without an algorithm (it has: ring, direct)"));
  st = ParseAlgoSpec("reduce:direct", &s);
  EXPECT_NE(std::string::npos,
            st.message().find("leaves reduce without an algorithm (it has: ring, tree)"));
}

TEST(AlgoSpec, DirectReadsAreForAllGatherAndBroadcast) {
  AlgoSpec s;
  ASSERT_TRUE(ParseAlgoSpec("direct", &s).ok());
  EXPECT_TRUE(s.Allows(CollType::kAllGather, Algo::kDirect));
  EXPECT_TRUE(s.Allows(CollType::kBroadcast, Algo::kDirect));
  EXPECT_FALSE(s.Allows(CollType::kAllReduce, Algo::kDirect));
  EXPECT_TRUE(s.Allows(CollType::kAllReduce, Algo::kRing));  // has no direct: unaffected
}

}  // namespace
}  // namespace weft
