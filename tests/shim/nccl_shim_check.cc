// nccl_shim_check N: N processes use Weft through NCCL's own API (nccl.h, linked against
// Weft's libnccl.so.2) the way nccl-tests and frameworks do: rank 0 creates the unique id
// and hands it to the others (here through pipes from a fork, where those use MPI), then
// every collective runs on host buffers and is checked exactly, along with groups,
// ncclCommSplit, and the clear failures of what Weft does not do. Exit 0 when every rank
// passed.
#include <nccl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int failures = 0;
int my_rank = 0;

#define EXPECT(cond, ...)                                                               \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "rank %d: %s:%d: %s: ", my_rank, __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                \
      std::fprintf(stderr, "\n");                                                       \
      ++failures;                                                                       \
    }                                                                                   \
  } while (0)

#define OK(call)                                                         \
  do {                                                                   \
    const ncclResult_t r_ = (call);                                      \
    EXPECT(r_ == ncclSuccess, "%s (%d): %s", ncclGetErrorString(r_), r_, \
           ncclGetLastError(nullptr));                                   \
    if (r_ != ncclSuccess) return;                                       \
  } while (0)

// Rank q's i-th input element: small integers, so every sum is exact in float.
float In(int q, size_t i) {
  return static_cast<float>((q + 1) * 100 + static_cast<int>(i % 97));
}

void CheckCollectives(ncclComm_t comm, int r, int n) {
  const size_t count = 1003;
  std::vector<float> send(count), recv(count * n, -1.0f);
  for (size_t i = 0; i < count; ++i)
    send[i] = In(r, i);
  auto sum = [&](size_t i) {
    float s = 0;
    for (int q = 0; q < n; ++q)
      s += In(q, i);
    return s;
  };

  OK(ncclAllReduce(send.data(), recv.data(), count, ncclFloat32, ncclSum, comm, nullptr));
  for (size_t i = 0; i < count; ++i)
    EXPECT(recv[i] == sum(i), "allreduce element %zu: %g, expected %g", i, recv[i], sum(i));

  OK(ncclAllGather(send.data(), recv.data(), count, ncclFloat32, comm, nullptr));
  for (int q = 0; q < n; ++q)
    for (size_t i = 0; i < count; ++i)
      EXPECT(recv[q * count + i] == In(q, i), "allgather rank %d element %zu", q, i);

  std::vector<float> big(count * n), part(count, -1.0f);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = In(r, i);
  OK(ncclReduceScatter(big.data(), part.data(), count, ncclFloat32, ncclSum, comm, nullptr));
  for (size_t i = 0; i < count; ++i)
    EXPECT(part[i] == sum(r * count + i), "reducescatter element %zu", i);

  const int root = n - 1;
  OK(ncclBroadcast(send.data(), recv.data(), count, ncclFloat32, root, comm, nullptr));
  for (size_t i = 0; i < count; ++i)
    EXPECT(recv[i] == In(root, i), "broadcast element %zu", i);

  std::vector<float> inplace = send;
  OK(ncclBcast(inplace.data(), count, ncclFloat32, 0, comm, nullptr));
  for (size_t i = 0; i < count; ++i)
    EXPECT(inplace[i] == In(0, i), "bcast element %zu", i);

  std::vector<float> reduced(count, -1.0f);
  OK(ncclReduce(send.data(), reduced.data(), count, ncclFloat32, ncclMax, 0, comm, nullptr));
  if (r == 0)
    for (size_t i = 0; i < count; ++i)
      EXPECT(reduced[i] == In(n - 1, i), "reduce max element %zu", i);

  // A group of two all-reduces on int32 with average.
  std::vector<int32_t> a(64, r * 4), b(64, -1), c(64, r * 8), d(64, -1);
  OK(ncclGroupStart());
  OK(ncclAllReduce(a.data(), b.data(), a.size(), ncclInt32, ncclAvg, comm, nullptr));
  OK(ncclAllReduce(c.data(), d.data(), c.size(), ncclInt32, ncclSum, comm, nullptr));
  OK(ncclGroupEnd());
  const int32_t avg = 4 * (n - 1) * n / 2 / n, total = 8 * (n - 1) * n / 2;
  EXPECT(b[63] == avg && d[0] == total, "group: avg %d (expected %d), sum %d (expected %d)", b[63],
         avg, d[0], total);
}

void CheckSplit(ncclComm_t comm, int r, int n) {
  // Even and odd ranks, each ordered by descending parent rank (key -r).
  ncclComm_t sub = nullptr;
  OK(ncclCommSplit(comm, r % 2, -r, &sub, nullptr));
  EXPECT(sub != nullptr, "split gave no communicator");
  if (sub == nullptr) return;
  int size = 0, rank = -1;
  OK(ncclCommCount(sub, &size));
  OK(ncclCommUserRank(sub, &rank));
  std::vector<int> members;
  for (int q = n - 1; q >= 0; --q)
    if (q % 2 == r % 2) members.push_back(q);
  EXPECT(size == static_cast<int>(members.size()), "split size %d", size);
  EXPECT(rank >= 0 && rank < size && members[rank] == r, "split rank %d", rank);
  int32_t mine = 1 << r, all = 0, expect = 0;
  for (int q : members)
    expect |= 1 << q;
  OK(ncclAllReduce(&mine, &all, 1, ncclInt32, ncclSum, sub, nullptr));
  EXPECT(all == expect, "sum over the split: %d, expected %d", all, expect);
  OK(ncclCommDestroy(sub));

  // NCCL_SPLIT_NOCOLOR: rank 0 takes part but gets no communicator.
  ncclComm_t rest = reinterpret_cast<ncclComm_t>(&mine);
  OK(ncclCommSplit(comm, r == 0 ? NCCL_SPLIT_NOCOLOR : 0, r, &rest, nullptr));
  EXPECT((rest == nullptr) == (r == 0), "NOCOLOR gave %p", static_cast<void*>(rest));
  if (rest != nullptr) OK(ncclCommDestroy(rest));
}

void CheckRefusals(ncclComm_t comm, int r) {
  int x = 0;
  EXPECT(ncclSend(&x, 1, ncclInt32, (r + 1) % 2, comm, nullptr) == ncclInvalidUsage, "ncclSend");
  const std::string why = ncclGetLastError(comm);
  EXPECT(why.find("not supported by Weft") != std::string::npos, "ncclSend's reason: %s",
         why.c_str());
  EXPECT(ncclAllReduce(&x, &x, 1, static_cast<ncclDataType_t>(99), ncclSum, comm, nullptr) ==
             ncclInvalidArgument,
         "a bad datatype");
  EXPECT(ncclAllReduce(&x, &x, 1, ncclInt32, ncclSum, nullptr, nullptr) == ncclInvalidArgument,
         "a NULL communicator");
  ncclRedOp_t op;
  float scale = 2;
  EXPECT(ncclRedOpCreatePreMulSum(&op, &scale, ncclFloat32, ncclScalarHostImmediate, comm) ==
             ncclInvalidUsage,
         "PreMulSum");
  EXPECT(ncclCommDestroy(nullptr) == ncclSuccess, "destroying NULL");
}

void RunRank(int r, int n, const ncclUniqueId& id) {
  my_rank = r;
  int version = 0;
  OK(ncclGetVersion(&version));
  EXPECT(version == NCCL_VERSION_CODE, "version %d, built against %d", version, NCCL_VERSION_CODE);
  ncclComm_t comm = nullptr;
  OK(ncclCommInitRank(&comm, n, id, r));
  int size = 0, rank = -1, device = -2;
  OK(ncclCommCount(comm, &size));
  OK(ncclCommUserRank(comm, &rank));
  EXPECT(size == n && rank == r, "count %d, rank %d", size, rank);
  const ncclResult_t dev = ncclCommCuDevice(comm, &device);
  EXPECT(dev == ncclSuccess || dev == ncclInvalidUsage, "ncclCommCuDevice: %d", dev);
  CheckCollectives(comm, r, n);
  CheckSplit(comm, r, n);
  CheckRefusals(comm, r);
  ncclResult_t async = ncclInternalError;
  OK(ncclCommGetAsyncError(comm, &async));
  EXPECT(async == ncclSuccess, "async error %d", async);
  OK(ncclCommFinalize(comm));
  OK(ncclCommDestroy(comm));
}

// Reads exactly `len` bytes within `timeout_ms`.
bool ReadAll(int fd, void* buf, size_t len, int timeout_ms) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return false;
    const ssize_t got = read(fd, p, len);
    if (got <= 0) return false;
    p += got;
    len -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 4;
  if (n < 2 || n > 64) {
    std::fprintf(stderr, "usage: nccl_shim_check N (2..64)\n");
    return 2;
  }
  // Children first, before this process has any thread; each waits for the id on a pipe.
  std::vector<pid_t> children;
  std::vector<int> writers;
  for (int r = 1; r < n; ++r) {
    int fds[2];
    if (pipe(fds) != 0) return 2;
    const pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      close(fds[1]);
      ncclUniqueId id;
      if (!ReadAll(fds[0], &id, sizeof(id), 60000)) {
        std::fprintf(stderr, "rank %d: no unique id from rank 0\n", r);
        _exit(1);
      }
      RunRank(r, n, id);
      _exit(failures == 0 ? 0 : 1);
    }
    close(fds[0]);
    children.push_back(pid);
    writers.push_back(fds[1]);
  }
  ncclUniqueId id;
  const ncclResult_t got = ncclGetUniqueId(&id);
  if (got != ncclSuccess) {
    std::fprintf(stderr, "ncclGetUniqueId: %s\n", ncclGetLastError(nullptr));
    for (int fd : writers)
      close(fd);  // the children see end of file and fail
  } else {
    for (int fd : writers) {
      if (write(fd, &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id))) ++failures;
      close(fd);
    }
    RunRank(0, n, id);
  }
  int failed_children = 0;
  for (pid_t pid : children) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      ++failed_children;
  }
  const bool pass = got == ncclSuccess && failures == 0 && failed_children == 0;
  std::printf("nccl shim, %d ranks: %s (rank 0: %d failures; %d other ranks failed)\n", n,
              pass ? "every check passed" : "FAILED", failures, failed_children);
  return pass ? 0 : 1;
}
