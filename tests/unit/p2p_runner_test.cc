// P2PRunner over the loopback fabric: N virtual ranks driven in turn by one thread. Checks
// pairing by sequence, the local copy of a rank's messages to itself (and that they never
// reach the transport when both ends are in one batch), and the size rule.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "collectives/p2p_runner.h"
#include "transport/loopback/loopback.h"

namespace weft {
namespace {

// Forwards to a loopback rank and counts what reached it.
class CountingTransport : public Transport {
 public:
  explicit CountingTransport(Transport* inner) : inner_(inner) {}
  int rank() const override { return inner_->rank(); }
  int nranks() const override { return inner_->nranks(); }
  const std::vector<uint8_t>& address() const override { return inner_->address(); }
  Status Connect(std::vector<std::vector<uint8_t>> a, std::vector<bool> h) override {
    return inner_->Connect(std::move(a), std::move(h));
  }
  void CloseEndpoints(int64_t ms) override { inner_->CloseEndpoints(ms); }
  Status RegisterShared(size_t bytes, const RegisteredMemory** out) override {
    return inner_->RegisterShared(bytes, out);
  }
  Status MapPeerMemory(int peer, const std::vector<uint8_t>& d, void** local) override {
    return inner_->MapPeerMemory(peer, d, local);
  }
  Status Send(int peer, const void* buf, size_t bytes, MemoryType mem, uint64_t tag,
              Completion* c) override {
    if (peer == rank()) ++self_messages;
    return inner_->Send(peer, buf, bytes, mem, tag, c);
  }
  Status Recv(int peer, void* buf, size_t bytes, MemoryType mem, uint64_t tag,
              Completion* c) override {
    if (peer == rank()) ++self_messages;
    return inner_->Recv(peer, buf, bytes, mem, tag, c);
  }
  void Cancel(Completion* c) override { inner_->Cancel(c); }
  bool Progress() override { return inner_->Progress(); }
  void WaitForEvent(int ms) override { inner_->WaitForEvent(ms); }
  Status Health() const override { return inner_->Health(); }

  int self_messages = 0;

 private:
  Transport* inner_;
};

struct Ranks {
  explicit Ranks(int n) : fabric(n, /*eager_limit=*/16), batches(static_cast<size_t>(n)) {
    for (int r = 0; r < n; ++r) {
      transports.push_back(std::make_unique<CountingTransport>(fabric.transport(r)));
      runners.push_back(std::make_unique<P2PRunner>());
    }
  }
  void Post(int r, std::vector<P2POp> ops) {
    batches[r] = std::move(ops);
    runners[r]->Reset(transports[r].get(), MemoryType::kHost, &batches[r]);
  }
  // Advances every rank in turn until all are done or one fails (bounded: loopback
  // completes everything inside Send/Recv, so a few rounds always suffice).
  Status RunAll() {
    std::vector<bool> done(runners.size(), false);
    for (int round = 0; round < 8; ++round) {
      bool all = true;
      for (size_t r = 0; r < runners.size(); ++r) {
        if (done[r]) continue;
        bool d = false;
        Status s = runners[r]->Advance(&d);
        if (!s.ok()) return s;
        done[r] = d;
        all = all && d;
      }
      if (all) return Status::Ok();
    }
    return TimeoutError("not done after 8 rounds");
  }
  LoopbackFabric fabric;
  std::vector<std::unique_ptr<CountingTransport>> transports;
  std::vector<std::unique_ptr<P2PRunner>> runners;
  std::vector<std::vector<P2POp>> batches;  // what each rank posts next
};

std::vector<uint32_t> Block(int src, int dst, size_t n) {
  std::vector<uint32_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<uint32_t>(src * 1000003 + dst * 7919 + static_cast<int>(i));
  return v;
}

// Every rank sends every rank (itself included) a block; self blocks are copied locally.
TEST(P2PRunner, AllToAllCopiesSelfBlocksWithoutTheTransport) {
  for (int n : {1, 2, 3, 5}) {
    Ranks ranks(n);
    const size_t len = 37;  // above the loopback's eager limit: rendezvous for peers
    std::vector<std::vector<std::vector<uint32_t>>> send(n), recv(n);
    for (int r = 0; r < n; ++r) {
      std::vector<P2POp> ops;
      for (int p = 0; p < n; ++p) {
        send[r].push_back(Block(r, p, len));
        recv[r].emplace_back(len, 0u);
      }
      for (int p = 0; p < n; ++p) {
        P2POp s{true, send[r][p].data(), len * 4, p, 0};
        P2POp v{false, recv[r][p].data(), len * 4, p, 0};
        // Sends before receives for even ranks, the other way round for odd ones.
        if (r % 2 == 0) {
          ops.push_back(s);
          ops.push_back(v);
        } else {
          ops.push_back(v);
          ops.push_back(s);
        }
      }
      ranks.Post(r, ops);
    }
    ASSERT_TRUE(ranks.RunAll().ok()) << n;
    for (int r = 0; r < n; ++r) {
      EXPECT_EQ(ranks.transports[r]->self_messages, 0) << "rank " << r;
      for (int p = 0; p < n; ++p)
        EXPECT_EQ(recv[r][p], Block(p, r, len)) << r << " from " << p;
    }
    EXPECT_EQ(ranks.fabric.UnexpectedMessages() + ranks.fabric.PostedReceives(), 0u);
  }
}

// Two self messages in one batch pair by sequence, not by their order in the batch.
TEST(P2PRunner, SelfMessagesPairBySequence) {
  Ranks ranks(1);
  auto a = Block(0, 1, 8), b = Block(0, 2, 8);
  std::vector<uint32_t> ra(8), rb(8);
  std::vector<P2POp> ops = {{false, rb.data(), 32, 0, 1},
                            {true, a.data(), 32, 0, 0},
                            {true, b.data(), 32, 0, 1},
                            {false, ra.data(), 32, 0, 0}};
  ranks.Post(0, ops);
  ASSERT_TRUE(ranks.RunAll().ok());
  EXPECT_EQ(ra, a);
  EXPECT_EQ(rb, b);
  EXPECT_EQ(ranks.transports[0]->self_messages, 0);
}

// A self send whose receive comes in a later batch goes through the transport and is
// received there by the later batch.
TEST(P2PRunner, SelfSendReceivedInALaterBatchGoesThroughTheTransport) {
  Ranks ranks(1);
  auto a = Block(0, 0, 4);  // 16 bytes: eager, so the send completes on its own
  std::vector<uint32_t> got(4);
  ranks.Post(0, {{true, a.data(), 16, 0, 0}});
  ASSERT_TRUE(ranks.RunAll().ok());
  ranks.Post(0, {{false, got.data(), 16, 0, 0}});
  ASSERT_TRUE(ranks.RunAll().ok());
  EXPECT_EQ(got, a);
  EXPECT_EQ(ranks.transports[0]->self_messages, 2);
}

TEST(P2PRunner, SelfMessageOfAnotherSizeIsInvalidUsage) {
  for (size_t recv_bytes : {8u, 24u}) {
    Ranks ranks(1);
    auto a = Block(0, 0, 4);
    std::vector<uint32_t> got(6, 0u);
    ranks.Post(0, {{true, a.data(), 16, 0, 0}, {false, got.data(), recv_bytes, 0, 0}});
    Status s = ranks.RunAll();
    EXPECT_EQ(s.code(), weftInvalidUsage) << s.message();
    EXPECT_NE(s.message().find("differ in count or type"), std::string::npos) << s.message();
    EXPECT_EQ(got, std::vector<uint32_t>(6, 0u)) << "nothing is written on a size mismatch";
  }
}

// A send to oneself from a buffer that is also the receive buffer (count 0 and in place).
TEST(P2PRunner, SelfMessageInPlaceAndEmpty) {
  Ranks ranks(1);
  auto a = Block(0, 0, 4);
  const auto before = a;
  ranks.Post(0, {{true, a.data(), 16, 0, 0},
                 {false, a.data(), 16, 0, 0},
                 {true, nullptr, 0, 0, 1},
                 {false, nullptr, 0, 0, 1}});
  ASSERT_TRUE(ranks.RunAll().ok());
  EXPECT_EQ(a, before);
}

}  // namespace
}  // namespace weft
