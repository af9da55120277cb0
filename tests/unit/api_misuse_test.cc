// Misuse of the C API returns the documented code and a message; nothing crashes.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.h"

namespace {

TEST(ApiMisuse, NullCommunicator) {
  float x = 0;
  EXPECT_EQ(weftInvalidArgument, weftAllReduce(&x, &x, 1, weftFloat32, weftSum, nullptr, nullptr));
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(nullptr)).find("NULL"));
  int n;
  EXPECT_EQ(weftInvalidArgument, weftCommCount(nullptr, &n));
  EXPECT_EQ(weftInvalidArgument, weftCommUserRank(nullptr, &n));
  weftResult_t r;
  EXPECT_EQ(weftInvalidArgument, weftCommGetAsyncError(nullptr, &r));
  EXPECT_EQ(weftSuccess, weftCommDestroy(nullptr));
}

TEST(ApiMisuse, InitRejectsBadArguments) {
  weftUniqueId id{};
  weftComm_t comm = reinterpret_cast<weftComm_t>(0x1);
  // An id not made by weftGetUniqueId.
  EXPECT_EQ(weftInvalidArgument, weftCommInitRank(&comm, 2, id, 0));
  EXPECT_EQ(nullptr, comm);
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(nullptr)).find("unique id"));
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  EXPECT_EQ(weftInvalidArgument, weftCommInitRank(&comm, 0, id, 0));
  EXPECT_EQ(weftInvalidArgument, weftCommInitRank(&comm, 2, id, 2));
  EXPECT_EQ(weftInvalidArgument, weftCommInitRank(&comm, 2, id, -1));
  EXPECT_EQ(weftInvalidArgument, weftCommInitRank(nullptr, 1, id, 0));
  EXPECT_EQ(weftInvalidArgument, weftGetUniqueId(nullptr));
}

TEST(ApiMisuse, GroupEndWithoutStart) {
  EXPECT_EQ(weftInvalidUsage, weftGroupEnd());
}

TEST(ApiMisuse, ErrorStringsAndVersion) {
  EXPECT_STREQ("no error", weftGetErrorString(weftSuccess));
  EXPECT_STREQ("operation timed out", weftGetErrorString(weftTimeout));
  EXPECT_STREQ("unknown result code", weftGetErrorString(static_cast<weftResult_t>(99)));
  int v = 0;
  ASSERT_EQ(weftSuccess, weftGetVersion(&v));
  EXPECT_EQ(WEFT_VERSION_CODE, v);
}

// A single-rank communicator needs no other process: misuse of a real communicator.
class SingleRank : public ::testing::Test {
 protected:
  void SetUp() override {
    weftUniqueId id;
    ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
    ASSERT_EQ(weftSuccess, weftCommInitRank(&comm_, 1, id, 0)) << weftGetLastError(nullptr);
  }
  void TearDown() override { EXPECT_EQ(weftSuccess, weftCommDestroy(comm_)); }
  weftComm_t comm_ = nullptr;
};

TEST_F(SingleRank, BadBuffersTypesOpsAndRoots) {
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {};
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(nullptr, b, 8, weftFloat32, weftSum, comm_, nullptr));
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(a, nullptr, 8, weftFloat32, weftSum, comm_, nullptr));
  EXPECT_EQ(weftSuccess, weftAllReduce(nullptr, nullptr, 0, weftFloat32, weftSum, comm_, nullptr));
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(a, b, 8, static_cast<weftDataType_t>(12), weftSum, comm_, nullptr));
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(a, b, 8, weftFloat32, static_cast<weftRedOp_t>(5), comm_, nullptr));
  // Any int a C caller passes, far outside the enums too (defined in C++: int-based enums;
  // UBSan checks that in CI).
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(a, b, 8, static_cast<weftDataType_t>(-3), weftSum, comm_, nullptr));
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(a, b, 8, weftFloat32, static_cast<weftRedOp_t>(1000), comm_, nullptr));
  EXPECT_EQ(weftInvalidArgument, weftBroadcast(a, b, 8, weftFloat32, 1, comm_, nullptr));
  EXPECT_EQ(weftInvalidArgument, weftReduce(a, b, 8, weftFloat32, weftSum, -1, comm_, nullptr));
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(comm_)).find("root"));
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(a, b, SIZE_MAX / 2, weftFloat32, weftSum, comm_, nullptr));
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(comm_)).find("overflows"));
  // Partial overlap is not an in-place layout.
  EXPECT_EQ(weftInvalidArgument, weftAllReduce(a, a + 1, 4, weftFloat32, weftSum, comm_, nullptr));
#if !WEFT_HAVE_CUDA
  // A stream without CUDA support.
  EXPECT_EQ(weftInvalidArgument,
            weftAllReduce(a, b, 8, weftFloat32, weftSum, comm_, reinterpret_cast<void*>(0x10)));
#endif
}

// Windows are device memory registered by every rank: host memory, a null window pointer,
// unknown flags and a window of nothing are refused with a message; nothing is left behind.
TEST_F(SingleRank, WindowArgumentsAreChecked) {
  float host[64] = {};
  weftWindow_t win = reinterpret_cast<weftWindow_t>(0x1);
  EXPECT_EQ(weftInvalidArgument,
            weftCommWindowRegister(comm_, host, sizeof(host), &win, WEFT_WIN_DEFAULT));
  EXPECT_EQ(nullptr, win);
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(comm_)).find("host memory"))
      << weftGetLastError(comm_);
  EXPECT_EQ(weftInvalidArgument, weftCommWindowRegister(comm_, host, sizeof(host), nullptr, 0));
  EXPECT_EQ(weftInvalidArgument, weftCommWindowRegister(comm_, host, sizeof(host), &win, 0x10));
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(comm_)).find("flags"));
  EXPECT_EQ(weftInvalidArgument, weftCommWindowRegister(comm_, nullptr, 64, &win, 0));
  EXPECT_EQ(weftInvalidArgument, weftCommWindowRegister(nullptr, host, 64, &win, 0));
  EXPECT_EQ(weftInvalidArgument, weftCommWindowDeregister(comm_, nullptr));
}

TEST_F(SingleRank, OneRankCollectivesCopyAndAverage) {
  int32_t a[5] = {1, 2, 3, 4, 5}, b[5] = {};
  ASSERT_EQ(weftSuccess, weftAllReduce(a, b, 5, weftInt32, weftAvg, comm_, nullptr));
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(a[i], b[i]);
  int count = 0, rank = -1;
  ASSERT_EQ(weftSuccess, weftCommCount(comm_, &count));
  ASSERT_EQ(weftSuccess, weftCommUserRank(comm_, &rank));
  EXPECT_EQ(1, count);
  EXPECT_EQ(0, rank);
  weftResult_t async = weftInternalError;
  ASSERT_EQ(weftSuccess, weftCommGetAsyncError(comm_, &async));
  EXPECT_EQ(weftSuccess, async);
}

// PreMulSum on one rank: the result is the input times the scalar; the op belongs to its
// communicator and datatype, and is gone once destroyed.
TEST_F(SingleRank, ShrinkArgumentsAreChecked) {
  weftComm_t out = reinterpret_cast<weftComm_t>(0x1);
  const int zero = 0, minus = -1;
  EXPECT_EQ(weftInvalidArgument, weftCommShrink(comm_, nullptr, 0, nullptr, WEFT_SHRINK_DEFAULT));
  EXPECT_EQ(weftInvalidArgument, weftCommShrink(nullptr, nullptr, 0, &out, WEFT_SHRINK_DEFAULT));
  EXPECT_EQ(weftInvalidArgument, weftCommShrink(comm_, nullptr, 0, &out, 7));
  EXPECT_EQ(nullptr, out);  // cleared on every failure after the arguments are known
  EXPECT_STREQ("weftCommShrink: shrinkFlags 7: WEFT_SHRINK_DEFAULT (0) or WEFT_SHRINK_ABORT (1)",
               weftGetLastError(nullptr));
  EXPECT_EQ(weftInvalidArgument, weftCommShrink(comm_, &zero, -1, &out, WEFT_SHRINK_DEFAULT));
  // One rank: excluding anyone would leave nobody.
  EXPECT_EQ(weftInvalidArgument, weftCommShrink(comm_, &zero, 1, &out, WEFT_SHRINK_DEFAULT));
  EXPECT_STREQ("weftCommShrink: excludeRanksCount 1 of 1 ranks (at least one must stay)",
               weftGetLastError(nullptr));
  EXPECT_EQ(weftInvalidArgument, weftCommShrink(comm_, &minus, 1, &out, WEFT_SHRINK_ABORT));
}

TEST_F(SingleRank, ShrinkingByNobodyGivesAWorkingCommunicator) {
  weftComm_t copy = nullptr;
  ASSERT_EQ(weftSuccess, weftCommShrink(comm_, nullptr, 0, &copy, WEFT_SHRINK_DEFAULT))
      << weftGetLastError(nullptr);
  int n = 0, rank = -1;
  EXPECT_EQ(weftSuccess, weftCommCount(copy, &n));
  EXPECT_EQ(weftSuccess, weftCommUserRank(copy, &rank));
  EXPECT_EQ(1, n);
  EXPECT_EQ(0, rank);
  int32_t x = 7, y = 0;
  EXPECT_EQ(weftSuccess, weftAllReduce(&x, &y, 1, weftInt32, weftSum, copy, nullptr));
  EXPECT_EQ(7, y);
  EXPECT_EQ(weftSuccess, weftCommDestroy(copy));
  // The parent is untouched, and can shrink again.
  EXPECT_EQ(weftSuccess, weftAllReduce(&x, &y, 1, weftInt32, weftProd, comm_, nullptr));
  EXPECT_EQ(7, y);
  ASSERT_EQ(weftSuccess, weftCommShrink(comm_, nullptr, 0, &copy, WEFT_SHRINK_ABORT));
  EXPECT_EQ(weftSuccess, weftCommDestroy(copy));
}

TEST_F(SingleRank, ARevokedCommunicatorRefusesCallsButShrinks) {
  EXPECT_EQ(weftInvalidArgument, weftCommRevoke(comm_, 1));
  EXPECT_EQ(weftInvalidArgument, weftCommRevoke(nullptr, WEFT_REVOKE_DEFAULT));
  ASSERT_EQ(weftSuccess, weftCommRevoke(comm_, WEFT_REVOKE_DEFAULT));
  int32_t x = 7, y = 0;
  EXPECT_EQ(weftInvalidUsage, weftAllReduce(&x, &y, 1, weftInt32, weftSum, comm_, nullptr));
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(nullptr)).find("revoked"))
      << weftGetLastError(nullptr);
  weftResult_t async = weftInternalError;
  EXPECT_EQ(weftSuccess, weftCommGetAsyncError(comm_, &async));
  EXPECT_EQ(weftSuccess, async);
  weftComm_t again = nullptr;
  ASSERT_EQ(weftSuccess, weftCommShrink(comm_, nullptr, 0, &again, WEFT_SHRINK_DEFAULT))
      << weftGetLastError(nullptr);
  EXPECT_EQ(weftSuccess, weftAllReduce(&x, &y, 1, weftInt32, weftSum, again, nullptr));
  EXPECT_EQ(7, y);
  EXPECT_EQ(weftSuccess, weftCommDestroy(again));
}

// NCCL: "an operator may be destroyed as soon as the last NCCL function which is given that
// operator returns". In a group the collective runs at weftGroupEnd, after the destroy.
TEST_F(SingleRank, PreMulSumOpMayBeDestroyedAsSoonAsTheCallReturns) {
  weftRedOp_t op;
  float quarter = 0.25f;
  ASSERT_EQ(weftSuccess,
            weftRedOpCreatePreMulSum(&op, &quarter, weftFloat32, weftScalarHostImmediate, comm_));
  float a[2] = {4, -8}, b[2] = {};
  ASSERT_EQ(weftSuccess, weftGroupStart());
  ASSERT_EQ(weftSuccess, weftAllReduce(a, b, 2, weftFloat32, op, comm_, nullptr));
  ASSERT_EQ(weftSuccess, weftRedOpDestroy(op, comm_));
  ASSERT_EQ(weftSuccess, weftGroupEnd()) << weftGetLastError(comm_);
  EXPECT_EQ(1.0f, b[0]);
  EXPECT_EQ(-2.0f, b[1]);
  // The destroyed op is gone for calls made after the destroy.
  EXPECT_EQ(weftInvalidArgument, weftAllReduce(a, b, 2, weftFloat32, op, comm_, nullptr));
}

TEST_F(SingleRank, PreMulSumOpsLiveOnTheirCommunicatorAndType) {
  weftRedOp_t op, second;
  float half = 0.5f;
  ASSERT_EQ(weftSuccess,
            weftRedOpCreatePreMulSum(&op, &half, weftFloat32, weftScalarHostImmediate, comm_));
  EXPECT_GE(static_cast<int>(op), static_cast<int>(weftNumOps));
  half = 8.0f;  // read at creation: changing it later changes nothing
  float a[3] = {1, 3, -5}, b[3] = {};
  ASSERT_EQ(weftSuccess, weftAllReduce(a, b, 3, weftFloat32, op, comm_, nullptr));
  EXPECT_EQ(0.5f, b[0]);
  EXPECT_EQ(1.5f, b[1]);
  EXPECT_EQ(-2.5f, b[2]);
  EXPECT_EQ(1.0f, a[0]) << "the input is not changed";
  // In place, and a reduce-scatter (its input, not its output, is multiplied).
  ASSERT_EQ(weftSuccess, weftAllReduce(a, a, 3, weftFloat32, op, comm_, nullptr));
  EXPECT_EQ(-2.5f, a[2]);
  ASSERT_EQ(weftSuccess, weftReduceScatter(b, a, 2, weftFloat32, op, comm_, nullptr));
  EXPECT_EQ(0.25f, a[0]);
  EXPECT_EQ(0.75f, a[1]);
  // Integers wrap, as their products do.
  int8_t three = 3;
  ASSERT_EQ(weftSuccess,
            weftRedOpCreatePreMulSum(&second, &three, weftInt8, weftScalarHostImmediate, comm_));
  EXPECT_NE(op, second);
  int8_t x[2] = {50, -2}, y[2] = {};
  ASSERT_EQ(weftSuccess, weftReduce(x, y, 2, weftInt8, second, 0, comm_, nullptr));
  EXPECT_EQ(static_cast<int8_t>(150), y[0]);
  EXPECT_EQ(-6, y[1]);
  // Another datatype than the op's.
  EXPECT_EQ(weftInvalidArgument, weftAllReduce(x, y, 2, weftUint8, second, comm_, nullptr));
  EXPECT_NE(std::string::npos, std::string(weftGetLastError(comm_)).find("created for int8"))
      << weftGetLastError(comm_);
  // Destroyed: unknown from then on, and not destroyed twice.
  ASSERT_EQ(weftSuccess, weftRedOpDestroy(second, comm_));
  EXPECT_EQ(weftInvalidArgument, weftReduce(x, y, 2, weftInt8, second, 0, comm_, nullptr));
  EXPECT_EQ(weftInvalidArgument, weftRedOpDestroy(second, comm_));
  EXPECT_EQ(weftInvalidArgument, weftRedOpDestroy(weftSum, comm_));
  // Bad arguments.
  EXPECT_EQ(weftInvalidArgument,
            weftRedOpCreatePreMulSum(nullptr, &half, weftFloat32, weftScalarHostImmediate, comm_));
  EXPECT_EQ(weftInvalidArgument, weftRedOpCreatePreMulSum(&second, nullptr, weftFloat32,
                                                          weftScalarHostImmediate, comm_));
  EXPECT_EQ(weftInvalidArgument,
            weftRedOpCreatePreMulSum(&second, &half, static_cast<weftDataType_t>(40),
                                     weftScalarHostImmediate, comm_));
  EXPECT_EQ(weftInvalidArgument,
            weftRedOpCreatePreMulSum(&second, &half, weftFloat32,
                                     static_cast<weftScalarResidence_t>(7), comm_));
  // A device scalar must be in device memory (here: no GPU at all, or a host pointer).
  EXPECT_EQ(weftInvalidArgument,
            weftRedOpCreatePreMulSum(&second, &half, weftFloat32, weftScalarDevice, comm_));
  // The op of one communicator means nothing on another.
  weftUniqueId id;
  weftComm_t other = nullptr;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  ASSERT_EQ(weftSuccess, weftCommInitRank(&other, 1, id, 0));
  EXPECT_EQ(weftInvalidArgument, weftAllReduce(a, b, 3, weftFloat32, op, other, nullptr));
  EXPECT_EQ(weftSuccess, weftCommDestroy(other));
  EXPECT_EQ(weftSuccess, weftRedOpDestroy(op, comm_));
}

}  // namespace

namespace {

// Two threads in calls on one communicator at once: the second is refused with
// weftInvalidUsage naming the communicator, and does nothing; the first runs exact once
// the peer takes part. (Rank 1 joins only after the refusal, so rank 0's first call is
// still in flight when the second comes.) Calls from both threads one after another work.
TEST(ApiMisuse, TwoThreadsInCallsOnOneCommunicatorAreRefused) {
  setenv("WEFT_TIMEOUT_MS", "30000", 1);
  weftUniqueId id;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  weftComm_t comms[2] = {nullptr, nullptr};
  {
    std::thread other([&] { weftCommInitRank(&comms[1], 2, id, 1); });
    ASSERT_EQ(weftSuccess, weftCommInitRank(&comms[0], 2, id, 0));
    other.join();
    ASSERT_NE(nullptr, comms[1]);
  }
  std::mutex mutex;
  std::condition_variable refused_cv;
  int refused = 0;
  struct Call {
    std::vector<float> in, out;
    weftResult_t result = weftInternalError;
    std::string error;
  };
  Call calls[2];
  auto on_rank0 = [&](Call* c, float value) {
    c->in.assign(1000, value);
    c->out.assign(1000, 0);
    c->result = weftAllReduce(c->in.data(), c->out.data(), c->in.size(), weftFloat32, weftSum,
                              comms[0], nullptr);
    if (c->result == weftInvalidUsage) {
      c->error = weftGetLastError(comms[0]);
      std::lock_guard<std::mutex> lock(mutex);
      ++refused;
      refused_cv.notify_all();
    }
  };
  std::vector<float> peer_in(1000, 10), peer_out(1000, 0);
  weftResult_t peer_result = weftInternalError;
  std::thread peer([&] {
    std::unique_lock<std::mutex> lock(mutex);
    if (!refused_cv.wait_for(lock, std::chrono::seconds(30), [&] { return refused > 0; })) return;
    lock.unlock();
    peer_result = weftAllReduce(peer_in.data(), peer_out.data(), peer_in.size(), weftFloat32,
                                weftSum, comms[1], nullptr);
  });
  std::thread first(on_rank0, &calls[0], 1.0f), second(on_rank0, &calls[1], 2.0f);
  first.join();
  second.join();
  peer.join();
  ASSERT_EQ(1, refused) << "exactly one of the two overlapping calls is refused";
  const Call& ran = calls[0].result == weftSuccess ? calls[0] : calls[1];
  const Call& refused_call = calls[0].result == weftSuccess ? calls[1] : calls[0];
  EXPECT_EQ(weftSuccess, ran.result);
  EXPECT_EQ(weftSuccess, peer_result);
  EXPECT_NE(
      std::string::npos,
      refused_call.error.find("another thread is in a call on this communicator (rank 0 of 2)"))
      << refused_call.error;
  const float expected = ran.in[0] + 10;
  for (size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(expected, ran.out[i]) << i;
    ASSERT_EQ(expected, peer_out[i]) << i;
  }
  EXPECT_EQ(std::vector<float>(1000, 0), refused_call.out) << "the refused call did nothing";
  // One after another, from two threads: fine.
  for (float value : {3.0f, 4.0f}) {
    Call c;
    std::thread t(on_rank0, &c, value);
    std::vector<float> out(1000, 0);
    ASSERT_EQ(weftSuccess, weftAllReduce(peer_in.data(), out.data(), 1000, weftFloat32, weftSum,
                                         comms[1], nullptr));
    t.join();
    EXPECT_EQ(weftSuccess, c.result);
    EXPECT_EQ(value + 10, c.out[999]);
    EXPECT_EQ(value + 10, out[0]);
  }
  weftResult_t destroyed1 = weftInternalError;
  std::thread destroy([&] { destroyed1 = weftCommDestroy(comms[1]); });  // collective
  EXPECT_EQ(weftSuccess, weftCommDestroy(comms[0]));
  destroy.join();
  EXPECT_EQ(weftSuccess, destroyed1);
  unsetenv("WEFT_TIMEOUT_MS");
}

}  // namespace
