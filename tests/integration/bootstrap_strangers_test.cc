// Strangers on the bootstrap root's port (connections that never prove the secret): they
// may neither grow the root's memory nor take its descriptors, and the job still forms,
// exact. The root here is this process's (weftGetUniqueId), so its memory and descriptor
// limit are this process's.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/process_runner.h"
#include "transport/bootstrap/bootstrap.h"
#include "transport/bootstrap/root.h"
#include "weft/weft.h"

namespace weft::testing {
namespace {

sockaddr_in RootOf(const weftUniqueId& id) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  std::memcpy(&a.sin_addr.s_addr, id.internal + 12, 4);
  std::memcpy(&a.sin_port, id.internal + 16, 2);
  return a;
}

// This process's resident memory, in bytes.
size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// `n` thread-ranks of a job on `id` run an all-reduce of 4096 int32s; true if exact.
bool JobIsExact(const weftUniqueId& id, int n) {
  std::vector<int> ok(static_cast<size_t>(n), 0);
  std::vector<std::thread> ranks;
  for (int r = 0; r < n; ++r) {
    ranks.emplace_back([&, r] {
      weftComm_t comm = nullptr;
      if (weftCommInitRank(&comm, n, id, r) != weftSuccess) return;
      std::vector<int32_t> in(4096), out(4096);
      for (size_t i = 0; i < in.size(); ++i)
        in[i] = r * 7 + static_cast<int32_t>(i);
      bool good = weftAllReduce(in.data(), out.data(), in.size(), weftInt32, weftSum, comm,
                                nullptr) == weftSuccess;
      for (size_t i = 0; good && i < out.size(); ++i)
        good = out[i] == 7 * n * (n - 1) / 2 + n * static_cast<int32_t>(i);
      ok[static_cast<size_t>(r)] = weftCommDestroy(comm) == weftSuccess && good;
    });
  }
  for (auto& t : ranks)
    t.join();
  for (int v : ok)
    if (!v) return false;
  return true;
}

// 16 strangers each announce a 64 MiB message and send it (half as a "hello" of that
// length, half as another message type before any hello): the root reads no more than a
// hello's bytes from any of them, so its process grows by less than 16 MB.
TEST(BootstrapStrangers, HugeMessagesBeforeTheHelloDoNotGrowTheRoot) {
  setenv("WEFT_TIMEOUT_MS", "30000", 1);
  weftUniqueId id;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  const sockaddr_in root = RootOf(id);
  const std::vector<uint8_t> zeros(1 << 20, 0);
  [[maybe_unused]] const size_t before = ResidentBytes();
  std::vector<std::thread> strangers;
  for (int s = 0; s < 16; ++s) {
    strangers.emplace_back([&, s] {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      timeval limit{10, 0};  // a send the root no longer reads ends here
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
      if (connect(fd, reinterpret_cast<const sockaddr*>(&root), sizeof(root)) == 0) {
        const uint32_t header[3] = {0x57465442, s % 2 == 0 ? 1u : 3u, 64u << 20};
        bool open = send(fd, header, sizeof(header), MSG_NOSIGNAL) > 0;
        for (int mib = 0; open && mib < 64; ++mib)
          open = send(fd, zeros.data(), zeros.size(), MSG_NOSIGNAL) > 0;
      }
      close(fd);
    });
  }
  for (auto& t : strangers)
    t.join();
  [[maybe_unused]] const size_t after = ResidentBytes();
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // (Sanitizers' shadow and quarantine make the process's size say little about the root.)
  EXPECT_LT(after, before + (16u << 20)) << "the root grew by " << (after - before) << " bytes";
#endif
  EXPECT_TRUE(JobIsExact(id, 2));
  unsetenv("WEFT_TIMEOUT_MS");
}

// A child process opens 1,100 idle connections to the root while this process (the root's)
// may hold only 1,024 descriptors: the root keeps at most a few dozen strangers, dropping
// the longest-waiting, so the job still forms and runs exact.
TEST(BootstrapStrangers, IdleStrangersBeyondTheDescriptorLimitDoNotStopTheJob) {
  constexpr int kStrangers = 1100;
  rlimit old{};
  ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
  if (old.rlim_max != RLIM_INFINITY && old.rlim_max < kStrangers + 100)
    GTEST_SKIP() << "the hard descriptor limit is " << old.rlim_max;
  setenv("WEFT_TIMEOUT_MS", "30000", 1);
  weftUniqueId id;
  ASSERT_EQ(weftSuccess, weftGetUniqueId(&id));
  const sockaddr_in root = RootOf(id);
  int ready[2], done[2];
  ASSERT_EQ(0, pipe(ready));
  ASSERT_EQ(0, pipe(done));
  // The child is bash (its /dev/tcp), so that nothing runs between fork and exec.
  char address[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &root.sin_addr, address, sizeof(address));
  const std::string script =
      "ulimit -n " + std::to_string(kStrangers + 100) + " || exit 1; for i in $(seq " +
      std::to_string(kStrangers) + "); do exec {fd}<>/dev/tcp/" + address + "/" +
      std::to_string(ntohs(root.sin_port)) + " || { echo F >&" + std::to_string(ready[1]) +
      "; exit 1; }; done; echo R >&" + std::to_string(ready[1]) + "; read -t 120 x <&" +
      std::to_string(done[0]);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/bash", "bash", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  rlimit fewer{1024, old.rlim_max};
  ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &fewer));
  pollfd p{ready[0], POLLIN, 0};
  char c = 0;
  ASSERT_EQ(1, poll(&p, 1, 60000)) << "the strangers did not connect in time";
  ASSERT_EQ(1, read(ready[0], &c, 1));
  EXPECT_EQ('R', c) << "not every stranger could connect";
  EXPECT_TRUE(JobIsExact(id, 2));
  setrlimit(RLIMIT_NOFILE, &old);
  (void)!write(done[1], "x\n", 2);
  int status = 0;
  waitpid(child, &status, 0);
  for (int fd : {ready[0], ready[1], done[0], done[1]})
    close(fd);
  unsetenv("WEFT_TIMEOUT_MS");
}

// With a secret set, neither a claim with a wrong secret nor a second claim of a rank that
// has joined displaces the real rank: each is refused alone, and the job's rounds run on
// exact between the real ranks.
TEST(BootstrapStrangers, WrongOrDuplicateClaimsNeverDisplaceTheRealRank) {
  UniqueIdData id;
  ASSERT_TRUE(RandomSecret(&id.secret).ok());
  sockaddr_in loopback{};
  loopback.sin_family = AF_INET;
  loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::unique_ptr<RootServer> root;
  ASSERT_TRUE(RootServer::Start(loopback, id.secret, 10000, &root).ok());
  id.root = loopback;
  id.root.sin_port = htons(root->port());
  std::unique_ptr<Bootstrap> rank0, rank1, twin, impostor;
  ASSERT_TRUE(Bootstrap::Connect(id, 0, 2, 10000, &rank0).ok());
  ASSERT_TRUE(Bootstrap::Connect(id, 1, 2, 10000, &rank1).ok());
  std::vector<std::vector<uint8_t>> all0, all1;
  auto first = std::async(std::launch::async, [&] { return rank0->AllGather({0}, &all0); });
  ASSERT_TRUE(rank1->AllGather({1}, &all1).ok());
  ASSERT_TRUE(first.get().ok());
  // A second claim of rank 1, with the job's secret, and a claim of rank 0 without it.
  ASSERT_TRUE(Bootstrap::Connect(id, 1, 2, 10000, &twin).ok());
  UniqueIdData forged = id;
  forged.secret[3] ^= 0x20;
  ASSERT_TRUE(Bootstrap::Connect(forged, 0, 2, 10000, &impostor).ok());
  std::vector<std::vector<uint8_t>> ignored;
  Status twin_status = twin->AllGather({9}, &ignored);
  Status impostor_status = impostor->AllGather({9}, &ignored);
  EXPECT_FALSE(twin_status.ok());
  EXPECT_NE(std::string::npos, twin_status.message().find("rank 1 joined twice"))
      << twin_status.message();
  EXPECT_FALSE(impostor_status.ok());
  EXPECT_NE(std::string::npos, impostor_status.message().find("another job"))
      << impostor_status.message();
  // The real ranks' next round.
  auto second = std::async(std::launch::async, [&] { return rank0->AllGather({10}, &all0); });
  ASSERT_TRUE(rank1->AllGather({11}, &all1).ok());
  ASSERT_TRUE(second.get().ok());
  const std::vector<std::vector<uint8_t>> expected = {{10}, {11}};
  EXPECT_EQ(expected, all0);
  EXPECT_EQ(expected, all1);
  EXPECT_EQ(2, root->rejected());
}

// Without a secret, every rank warns once that the bootstrap is unauthenticated and how to
// fix it, and rank 0 listens on WEFT_ROOT's address (127.0.0.1), not on every address: its
// listening socket in /proc/net/tcp is read while rank 1 has not yet come.
TEST(BootstrapStrangers, AJobWithoutASecretWarnsAndListensOnlyOnItsAddress) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(0, bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)));
  ASSERT_EQ(0, getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len));
  close(fd);
  const int port = ntohs(a.sin_port);
  char hex[8];
  std::snprintf(hex, sizeof(hex), "%04X", port);
  const std::string prog = BinDir() + "/coll_check --types int32 --ops sum --counts 5";
  // Rank 0 starts; once its port listens (at most 20 s), the state of that socket is
  // printed (0A: listening) with its local address, then rank 1 starts.
  const std::string listening = "\":" + std::string(hex) + " 00000000:0000 0A\" /proc/net/tcp";
  const std::string script =
      "WEFT_RANK=0 " + prog + " & a=$!; for i in $(seq 200); do grep -q " + listening +
      " && break; sleep 0.1; done; grep " + listening +
      " | while read slot local rest; do echo listening on $local; done; WEFT_RANK=1 " + prog +
      " & b=$!; wait $a; ra=$?; wait $b; rb=$?; echo status $ra $rb";
  CommandResult r = RunCommand(
      "timeout 90 env -u WEFT_SECRET -u WEFT_SECRET_FILE WEFT_NRANKS=2 "
      "WEFT_TIMEOUT_MS=30000 WEFT_ROOT=127.0.0.1:" +
      std::to_string(port) + " bash -c '" + script + "'");
  EXPECT_NE(std::string::npos, r.output.find("status 0 0")) << r.output;
  EXPECT_NE(std::string::npos, r.output.find(std::string("listening on 0100007F:") + hex))
      << r.output;
  size_t warnings = 0;
  for (size_t at = r.output.find("is unauthenticated"); at != std::string::npos;
       at = r.output.find("is unauthenticated", at + 1))
    ++warnings;
  EXPECT_EQ(2u, warnings) << r.output;
  EXPECT_NE(std::string::npos, r.output.find("WEFT_SECRET_FILE")) << r.output;
}

}  // namespace
}  // namespace weft::testing
