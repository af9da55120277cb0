// weftCommShrink: a job goes on without a rank, after its death (WEFT_SHRINK_ABORT) or as
// planned; and the bootstrap's shrink round itself, in one process: the excluded ranks'
// bytes stay out, lists that differ are a usage error, a rank that left fails the round.
#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <initializer_list>
#include <string>
#include <thread>

#include "tests/integration/process_runner.h"
#include "transport/bootstrap/bootstrap.h"
#include "transport/bootstrap/root.h"

namespace weft::testing {
namespace {

CommandResult RunShrink(int n, const std::string& tls, const std::string& args) {
  return RunSurvivingRanks("shrink_check", n, tls, 20000, args);
}

// Each line is in the job's output, and no survivor found anything WRONG.
void ExpectSurvivors(const CommandResult& r, std::initializer_list<const char*> lines) {
  for (const char* line : lines)
    EXPECT_NE(std::string::npos, r.output.find(line)) << line << "\n" << r.output;
  EXPECT_EQ(std::string::npos, r.output.find("WRONG")) << r.output;
}

class ShrinkJob : public ::testing::TestWithParam<const char*> {};

TEST_P(ShrinkJob, SurvivorsOfADeadRankGoOnWithoutIt) {
  CommandResult r = RunShrink(4, GetParam(), "after-death 2");
  ExpectSurvivors(r, {"survivor 0: OK new rank 0 of 3", "survivor 1: OK new rank 1 of 3",
                      "survivor 3: OK new rank 2 of 3"});
}

TEST_P(ShrinkJob, APlannedShrinkLeavesOutALiveRank) {
  CommandResult r = RunShrink(4, GetParam(), "planned 1");
  ExpectSurvivors(r, {"survivor 0: OK new rank 0 of 3", "survivor 2: OK new rank 1 of 3",
                      "survivor 3: OK new rank 2 of 3"});
  EXPECT_EQ(0, r.exit_code) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Transports, ShrinkJob, ::testing::Values("shm", "tcp"));

TEST(Shrink, ARevokedCommunicatorEndsItsWaitingCallAndShrinksToTheSameRanks) {
  CommandResult r = RunShrink(3, "shm", "revoke 1");
  ExpectSurvivors(r, {"survivor 0: OK new rank 0 of 3", "survivor 1: OK new rank 1 of 3",
                      "survivor 2: OK new rank 2 of 3"});
  EXPECT_EQ(0, r.exit_code) << r.output;
}

// Rank 0's process hosts the bootstrap root: its death takes the root too, and the ranks
// left meet without it (the lowest of them leads).
TEST_P(ShrinkJob, SurvivorsOfADeadRankZeroGoOnWithoutItAndItsRoot) {
  CommandResult r = RunShrink(4, GetParam(), "after-death 0");
  ExpectSurvivors(r, {"survivor 1: OK new rank 0 of 3", "survivor 2: OK new rank 1 of 3",
                      "survivor 3: OK new rank 2 of 3"});
}

TEST(Shrink, APlannedShrinkLeavesOutALiveRankZero) {
  CommandResult r = RunShrink(3, "shm", "planned 0");
  ExpectSurvivors(r, {"survivor 1: OK new rank 0 of 2", "survivor 2: OK new rank 1 of 2"});
  EXPECT_EQ(0, r.exit_code) << r.output;
}

// The bootstrap alone: a root and `n` connected clients in this process.
struct Job {
  std::unique_ptr<RootServer> root;
  std::vector<std::unique_ptr<Bootstrap>> ranks;
};

Job Connect(int n, int64_t timeout_ms = 5000) {
  Job job;
  UniqueIdData id;
  EXPECT_TRUE(RandomSecret(&id.secret).ok());
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_TRUE(RootServer::Start(any, id.secret, timeout_ms, &job.root).ok());
  id.root = any;
  id.root.sin_port = htons(job.root->port());
  job.ranks.resize(n);
  for (int r = 0; r < n; ++r)
    EXPECT_TRUE(Bootstrap::Connect(id, r, n, timeout_ms, &job.ranks[r]).ok());
  // Everyone has joined once a first round is over (as at a communicator's init).
  std::vector<std::future<Status>> joined;
  for (int r = 0; r < n; ++r)
    joined.push_back(std::async(std::launch::async, [&job, r] {
      std::vector<std::vector<uint8_t>> all;
      return job.ranks[r]->AllGather({}, &all);
    }));
  for (auto& f : joined)
    EXPECT_TRUE(f.get().ok());
  // Where each rank listens, as a communicator tells its ranks at init.
  std::vector<sockaddr_in> listeners;
  for (const auto& rank : job.ranks)
    listeners.push_back(rank->listen_address());
  for (auto& rank : job.ranks)
    rank->SetPeerListeners(listeners);
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

// Rank 0 gone, and the root with it.
void LoseRankZero(Job* job) {
  job->ranks[0].reset();
  job->root.reset();
}

TEST(ShrinkRound, WithoutRankZeroTheLowestRankLeftHandsOutItsBytes) {
  Job job = Connect(4);
  LoseRankZero(&job);
  std::vector<std::vector<std::vector<uint8_t>>> parts;
  const std::vector<Status> s = ShrinkAll(&job, {1, 2, 3}, {{0}, {0}, {0}}, &parts);
  for (size_t i = 0; i < s.size(); ++i) {
    ASSERT_TRUE(s[i].ok()) << s[i].message();
    ASSERT_EQ(4u, parts[i].size());
    EXPECT_EQ(std::vector<uint8_t>({1, 1}), parts[i][1]) << "the leader's bytes, at rank " << i;
    EXPECT_TRUE(parts[i][0].empty() && parts[i][2].empty() && parts[i][3].empty());
  }
  // A second round without rank 1 either: rank 2 leads it.
  const std::vector<Status> again = ShrinkAll(&job, {2, 3}, {{0, 1}, {0, 1}}, &parts);
  for (size_t i = 0; i < again.size(); ++i) {
    ASSERT_TRUE(again[i].ok()) << again[i].message();
    EXPECT_EQ(std::vector<uint8_t>({2, 2, 2}), parts[i][2]);
  }
}

TEST(ShrinkRound, WithoutRankZeroRanksThatDisagreeOnWhomToExcludeGetAUsageError) {
  Job job = Connect(4);
  LoseRankZero(&job);
  std::vector<std::vector<std::vector<uint8_t>>> parts;
  const std::vector<Status> s = ShrinkAll(&job, {1, 2, 3}, {{0}, {0}, {0, 2}}, &parts);
  for (const Status& st : s) {
    EXPECT_EQ(weftInvalidUsage, st.code()) << st.message();
    EXPECT_NE(std::string::npos, st.message().find("disagree on whom to exclude")) << st.message();
  }
}

TEST(ShrinkRound, WithoutRankZeroAStrangersConnectionToAListenerIsIgnored) {
  Job job = Connect(3);
  LoseRankZero(&job);
  // A well-formed offer with the wrong secret, left open: rank 2 must not take it, nor wait
  // on it, and must still follow rank 1.
  PeerShrinkOffer forged;
  forged.leader = 1;
  forged.request.excluded = {0};
  forged.request.data = {9, 9};
  const std::vector<uint8_t> payload = EncodePeerShrinkOffer(forged);
  WireHeader h{kWireMagic, static_cast<uint16_t>(MsgType::kPeerShrink), 0,
               static_cast<uint32_t>(payload.size())};
  Socket stranger;
  ASSERT_TRUE(Socket::Connect(job.ranks[2]->listen_address(), DeadlineIn(2000), &stranger).ok());
  ASSERT_TRUE(stranger.SendAll(&h, sizeof(h), DeadlineIn(2000)).ok());
  ASSERT_TRUE(stranger.SendAll(payload.data(), payload.size(), DeadlineIn(2000)).ok());
  std::vector<std::vector<std::vector<uint8_t>>> parts;
  const std::vector<Status> s = ShrinkAll(&job, {1, 2}, {{0}, {0}}, &parts);
  for (size_t i = 0; i < s.size(); ++i) {
    ASSERT_TRUE(s[i].ok()) << s[i].message();
    EXPECT_EQ(std::vector<uint8_t>({1, 1}), parts[i][1]);
  }
}

TEST(ShrinkRound, WithoutRankZeroARankThatLeftAndIsNotExcludedFailsTheRoundAtOnce) {
  Job job = Connect(4, /*timeout_ms=*/20000);
  LoseRankZero(&job);
  job.ranks[2].reset();  // gone too, but the others do not exclude it
  const auto start = Clock::now();
  std::vector<std::vector<std::vector<uint8_t>>> parts;
  const std::vector<Status> s = ShrinkAll(&job, {1, 3}, {{0}, {0}}, &parts);
  for (const Status& st : s) {  // rank 3 too, which the leader reaches after rank 2
    EXPECT_EQ(weftRemoteError, st.code()) << st.message();
    EXPECT_NE(std::string::npos, st.message().find("rank 2 is not excluded but cannot be reached"))
        << st.message();
  }
  // Far sooner than the 20 s timeout: the connection is refused, not waited for.
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
}

TEST(ShrinkRound, WithoutRankZeroARankWhoseLeaderNeverComesTimesOut) {
  Job job = Connect(3, /*timeout_ms=*/300);
  LoseRankZero(&job);
  std::vector<uint8_t> mine = {2};
  std::vector<std::vector<uint8_t>> all;
  const Status s = job.ranks[2]->Shrink({0}, mine, &all);  // rank 1 never calls
  EXPECT_EQ(weftTimeout, s.code()) << s.message();
  EXPECT_NE(std::string::npos, s.message().find("for rank 1, the lowest rank left")) << s.message();
}

}  // namespace
}  // namespace weft::testing
