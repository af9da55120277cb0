// weftCommShrink: a job goes on without a rank, after its death (WEFT_SHRINK_ABORT) or as
// planned; and the bootstrap's shrink round itself, in one process: the excluded ranks'
// bytes stay out, lists that differ are a usage error, a rank that left fails the round.
#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <thread>

#include "tests/integration/process_runner.h"
#include "transport/bootstrap/bootstrap.h"
#include "transport/bootstrap/root.h"

namespace weft::testing {
namespace {

CommandResult RunShrink(int n, const std::string& tls, const std::string& args) {
  return RunSurvivingRanks("shrink_check", n, tls, 20000, args);
}

class ShrinkJob : public ::testing::TestWithParam<const char*> {};

TEST_P(ShrinkJob, SurvivorsOfADeadRankGoOnWithoutIt) {
  CommandResult r = RunShrink(4, GetParam(), "after-death 2");
  for (const char* line : {"survivor 0: OK new rank 0 of 3", "survivor 1: OK new rank 1 of 3",
                           "survivor 3: OK new rank 2 of 3"})
    EXPECT_NE(std::string::npos, r.output.find(line)) << line << "\n" << r.output;
  EXPECT_EQ(std::string::npos, r.output.find("WRONG")) << r.output;
}

TEST_P(ShrinkJob, APlannedShrinkLeavesOutALiveRank) {
  CommandResult r = RunShrink(4, GetParam(), "planned 1");
  for (const char* line : {"survivor 0: OK new rank 0 of 3", "survivor 2: OK new rank 1 of 3",
                           "survivor 3: OK new rank 2 of 3"})
    EXPECT_NE(std::string::npos, r.output.find(line)) << line << "\n" << r.output;
  EXPECT_EQ(std::string::npos, r.output.find("WRONG")) << r.output;
  EXPECT_EQ(0, r.exit_code) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Transports, ShrinkJob, ::testing::Values("shm", "tcp"));

TEST(Shrink, ARevokedCommunicatorEndsItsWaitingCallAndShrinksToTheSameRanks) {
  CommandResult r = RunShrink(3, "shm", "revoke 1");
  for (const char* line : {"survivor 0: OK new rank 0 of 3", "survivor 1: OK new rank 1 of 3",
                           "survivor 2: OK new rank 2 of 3"})
    EXPECT_NE(std::string::npos, r.output.find(line)) << line << "\n" << r.output;
  EXPECT_EQ(0, r.exit_code) << r.output;
}

TEST(Shrink, ExcludingRankZeroIsRefusedClearly) {
  CommandResult r = RunShrink(3, "shm", "exclude-root 0");
  EXPECT_NE(std::string::npos,
            r.output.find("survivor 0: OK refused: weftCommShrink: rank 0 is in "
                          "excludeRanksList: excluded ranks do not call weftCommShrink"))
      << r.output;
  for (const char* line : {"survivor 1: OK refused: weftCommShrink: rank 0 cannot be excluded",
                           "survivor 2: OK refused: weftCommShrink: rank 0 cannot be excluded"})
    EXPECT_NE(std::string::npos, r.output.find(line)) << line << "\n" << r.output;
  EXPECT_EQ(0, r.exit_code) << r.output;
}

// The bootstrap alone: a root and `n` connected clients in this process.
struct Job {
  std::unique_ptr<RootServer> root;
  std::vector<std::unique_ptr<Bootstrap>> ranks;
};

Job Connect(int n) {
  Job job;
  UniqueIdData id;
  EXPECT_TRUE(RandomSecret(&id.secret).ok());
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_TRUE(RootServer::Start(any, id.secret, 5000, &job.root).ok());
  id.root = any;
  id.root.sin_port = htons(job.root->port());
  job.ranks.resize(n);
  for (int r = 0; r < n; ++r)
    EXPECT_TRUE(Bootstrap::Connect(id, r, n, 5000, &job.ranks[r]).ok());
  // Everyone has joined once a first round is over (as at a communicator's init).
  std::vector<std::future<Status>> joined;
  for (int r = 0; r < n; ++r)
    joined.push_back(std::async(std::launch::async, [&job, r] {
      std::vector<std::vector<uint8_t>> all;
      return job.ranks[r]->AllGather({}, &all);
    }));
  for (auto& f : joined)
    EXPECT_TRUE(f.get().ok());
  return job;
}

// Shrink on every listed rank at once; their results in that order.
std::vector<Status> ShrinkAll(Job* job, const std::vector<int>& ranks,
                              const std::vector<std::vector<int32_t>>& excluded,
                              std::vector<std::vector<std::vector<uint8_t>>>* parts) {
  parts->assign(ranks.size(), {});
  std::vector<std::future<Status>> results;
  for (size_t i = 0; i < ranks.size(); ++i)
    results.push_back(std::async(std::launch::async, [&, i] {
      const std::vector<uint8_t> mine(static_cast<size_t>(ranks[i]) + 1,
                                      static_cast<uint8_t>(ranks[i]));
      return job->ranks[ranks[i]]->Shrink(excluded[i], mine, &(*parts)[i]);
    }));
  std::vector<Status> out;
  for (auto& f : results)
    out.push_back(f.get());
  return out;
}

TEST(ShrinkRound, TheRanksNotExcludedGetEachOthersBytes) {
  Job job = Connect(4);
  std::vector<std::vector<std::vector<uint8_t>>> parts;
  const std::vector<Status> s = ShrinkAll(&job, {0, 1, 3}, {{2}, {2}, {2}}, &parts);
  for (size_t i = 0; i < s.size(); ++i) {
    ASSERT_TRUE(s[i].ok()) << s[i].message();
    ASSERT_EQ(4u, parts[i].size());
    EXPECT_EQ(std::vector<uint8_t>({0}), parts[i][0]);
    EXPECT_EQ(std::vector<uint8_t>({1, 1}), parts[i][1]);
    EXPECT_TRUE(parts[i][2].empty());
    EXPECT_EQ(std::vector<uint8_t>({3, 3, 3, 3}), parts[i][3]);
  }
  // A second round, with another rank excluded, works the same.
  const std::vector<Status> again = ShrinkAll(&job, {0, 3}, {{1, 2}, {1, 2}}, &parts);
  for (const Status& st : again)
    EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(parts[1][1].empty() && parts[1][2].empty());
  EXPECT_EQ(std::vector<uint8_t>({0}), parts[1][0]);
}

TEST(ShrinkRound, RanksThatDisagreeOnWhomToExcludeGetAUsageError) {
  Job job = Connect(4);
  std::vector<std::vector<std::vector<uint8_t>>> parts;
  const std::vector<Status> s = ShrinkAll(&job, {0, 1}, {{3}, {2}}, &parts);
  for (const Status& st : s) {
    EXPECT_EQ(weftInvalidUsage, st.code()) << st.message();
    EXPECT_NE(std::string::npos, st.message().find("disagree on whom to exclude")) << st.message();
  }
}

TEST(ShrinkRound, ARankThatLeftAndIsNotExcludedFailsTheRound) {
  Job job = Connect(3);
  job.ranks[2]->Leave();
  std::vector<std::vector<std::vector<uint8_t>>> parts;
  const std::vector<Status> s = ShrinkAll(&job, {0, 1}, {{}, {}}, &parts);
  for (const Status& st : s) {
    EXPECT_EQ(weftRemoteError, st.code()) << st.message();
    EXPECT_NE(std::string::npos, st.message().find("rank 2 is not excluded but has left"))
        << st.message();
  }
}

}  // namespace
}  // namespace weft::testing
