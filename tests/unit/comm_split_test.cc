// weftCommSplit on ranks that are threads of this process: new communicators by color and
// key whose collectives are exact, WEFT_SPLIT_NOCOLOR, and a bad color failing every rank.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.h"

namespace {

// `n` thread-ranks of one communicator, each running `body(rank, comm)`, then destroying it.
void RunRanks(int n, const std::function<void(int, weftComm_t)>& body) {
  setenv("WEFT_TIMEOUT_MS", "30000", 1);
  weftUniqueId id;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  std::vector<std::thread> ranks;
  for (int r = 0; r < n; ++r)
    ranks.emplace_back([&, r] {
      weftComm_t comm = nullptr;
      ASSERT_EQ(weftSuccess, weftCommInitRank(&comm, n, id, r)) << weftGetLastError(nullptr);
      body(r, comm);
      EXPECT_EQ(weftSuccess, weftCommDestroy(comm));
    });
  for (std::thread& t : ranks)
    t.join();
}

TEST(CommSplit, RanksOfAColorFormACommunicatorOrderedByKey) {
  const int n = 5;
  RunRanks(n, [](int r, weftComm_t comm) {
    weftComm_t sub = nullptr;
    // Colors 0 (ranks 0, 2, 4) and 1 (1, 3); keys reverse the order.
    ASSERT_EQ(weftSuccess, weftCommSplit(comm, r % 2, -r, &sub, nullptr))
        << weftGetLastError(nullptr);
    ASSERT_NE(nullptr, sub);
    int size = 0, rank = -1;
    weftCommCount(sub, &size);
    weftCommUserRank(sub, &rank);
    const std::vector<int> members =
        r % 2 == 0 ? std::vector<int>{4, 2, 0} : std::vector<int>{3, 1};
    EXPECT_EQ(static_cast<int>(members.size()), size);
    EXPECT_EQ(members[static_cast<size_t>(rank)], r) << "new rank " << rank;
    // Exact: the sum of the members' parent ranks, and each member's rank at its new place.
    int64_t mine = r + 1, sum = 0;
    ASSERT_EQ(weftSuccess, weftAllReduce(&mine, &sum, 1, weftInt64, weftSum, sub, nullptr));
    int64_t expected = 0;
    for (int m : members)
      expected += m + 1;
    EXPECT_EQ(expected, sum);
    std::vector<int32_t> gathered(members.size(), -1);
    const int32_t me = r;
    ASSERT_EQ(weftSuccess, weftAllGather(&me, gathered.data(), 1, weftInt32, sub, nullptr));
    EXPECT_EQ(std::vector<int32_t>(members.begin(), members.end()), gathered);
    EXPECT_EQ(weftSuccess, weftCommDestroy(sub));
  });
}

TEST(CommSplit, NoColorTakesPartAndGetsNoCommunicator) {
  RunRanks(3, [](int r, weftComm_t comm) {
    weftComm_t sub = reinterpret_cast<weftComm_t>(&comm);  // must be cleared
    ASSERT_EQ(weftSuccess, weftCommSplit(comm, r == 1 ? WEFT_SPLIT_NOCOLOR : 7, r, &sub, nullptr));
    EXPECT_EQ(r == 1, sub == nullptr);
    if (sub == nullptr) return;
    int size = 0;
    weftCommCount(sub, &size);
    EXPECT_EQ(2, size);
    EXPECT_EQ(weftSuccess, weftCommDestroy(sub));
  });
}

TEST(CommSplit, ABadColorOnOneRankFailsEveryRankNamingIt) {
  RunRanks(3, [](int r, weftComm_t comm) {
    weftComm_t sub = nullptr;
    EXPECT_EQ(weftInvalidArgument, weftCommSplit(comm, r == 2 ? -5 : 0, 0, &sub, nullptr));
    EXPECT_EQ(nullptr, sub);
    EXPECT_NE(std::string::npos, std::string(weftGetLastError(comm)).find("rank 2 passed color -5"))
        << weftGetLastError(comm);
    // The parent is still whole.
    int32_t one = 1, sum = 0;
    EXPECT_EQ(weftSuccess, weftAllReduce(&one, &sum, 1, weftInt32, weftSum, comm, nullptr));
    EXPECT_EQ(3, sum);
  });
}

TEST(CommSplit, NullArgumentsAreRefused) {
  weftComm_t sub = nullptr;
  EXPECT_EQ(weftInvalidArgument, weftCommSplit(nullptr, 0, 0, &sub, nullptr));
  RunRanks(1, [](int, weftComm_t comm) {
    EXPECT_EQ(weftInvalidArgument, weftCommSplit(comm, 0, 0, nullptr, nullptr));
  });
}

}  // namespace
