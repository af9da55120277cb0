#include <gtest/gtest.h>

#include <cstdint>

#include "collectives/tune_table.h"
#include "collectives/tuner.h"

namespace weft {
namespace {

TEST(TuneTable, ParsesLooksUpAndRoundTrips) {
  TuneTable t;
  ASSERT_TRUE(
      ParseTuneTable("# comment\n\nallreduce 4 0-32K rd   # small\nallreduce 4 32K-inf ring\n"
                     "allgather 2 0-inf ring\n",
                     "t.txt", &t)
          .ok());
  ASSERT_EQ(3u, t.entries.size());
  Algo a;
  ASSERT_TRUE(t.Lookup(CollType::kAllReduce, 4, 100, &a));
  EXPECT_EQ(Algo::kRecursiveDoubling, a);
  ASSERT_TRUE(t.Lookup(CollType::kAllReduce, 4, 32 << 10, &a));
  EXPECT_EQ(Algo::kRing, a);
  EXPECT_FALSE(t.Lookup(CollType::kAllReduce, 8, 100, &a));  // other job size: the model
  TuneTable back;
  ASSERT_TRUE(ParseTuneTable(t.ToText(), "back", &back).ok());
  ASSERT_EQ(t.entries.size(), back.entries.size());
  for (size_t i = 0; i < t.entries.size(); ++i) {
    EXPECT_EQ(t.entries[i].from, back.entries[i].from);
    EXPECT_EQ(t.entries[i].to, back.entries[i].to);
    EXPECT_EQ(t.entries[i].algo, back.entries[i].algo);
  }
}

TEST(TuneTable, ErrorsNameTheFileAndLine) {
  TuneTable t;
  Status s = ParseTuneTable("allreduce 4 0-32K rd\nallreduce 4 32K-inf hypercube\n", "my.txt", &t);
  EXPECT_EQ(weftInvalidArgument, s.code());
  EXPECT_NE(std::string::npos, s.message().find("my.txt:2: unknown algorithm 'hypercube'"));
  s = ParseTuneTable("allreduce 4 9-3 rd\n", "x", &t);
  EXPECT_NE(std::string::npos, s.message().find("bad size range"));
  s = ParseTuneTable("allgather 4 0-inf tree\n", "x", &t);
  EXPECT_NE(std::string::npos, s.message().find("allgather has no tree"));
  s = ParseTuneTable("allreduce four 0-inf ring\n", "x", &t);
  EXPECT_NE(std::string::npos, s.message().find("malformed"));
  EXPECT_EQ(weftInvalidArgument, LoadTuneFile("/nonexistent/tune.txt", &t).code());
}

TEST(TuneTable, MeasuredTableWinsOverTheModelUnlessWeftAlgoForbids) {
  TuneTable t;
  ASSERT_TRUE(ParseTuneTable("allreduce 4 0-inf tree\n", "t", &t).ok());
  TunerInput in;
  in.nranks = 4;
  AlgoSpec any;
  bool from_table = false;
  EXPECT_EQ(Algo::kTree,
            Tuner(in, any, t).Choose(CollType::kAllReduce, 1 << 20, nullptr, &from_table));
  EXPECT_TRUE(from_table);
  AlgoSpec no_tree;
  ASSERT_TRUE(ParseAlgoSpec("^tree", &no_tree).ok());
  EXPECT_NE(Algo::kTree, Tuner(in, no_tree, t).Choose(CollType::kAllReduce, 1 << 20));
}

}  // namespace
}  // namespace weft
