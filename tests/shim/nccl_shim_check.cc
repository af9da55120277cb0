// nccl_shim_check N [--device | --init-all | --group-init]: N processes use Weft through
// NCCL's own API (nccl.h, linked against Weft's libnccl.so.2) the way nccl-tests and
// frameworks do: rank 0 creates the unique id and hands it to the others (here through pipes
// from a fork, where those use MPI), then every collective runs and is checked exactly, along
// with groups, ncclCommSplit, ncclCommShrink, and the clear failures of what Weft does not
// do. Buffers are host memory, or with --device device memory (every rank on GPU rank % GPUs)
// with every call on one stream, as PyTorch calls NCCL: the host synchronizes only to read
// results back. Exit 0 when every rank passed, 77 (skipped) for --device without a GPU.
// --init-all and --group-init instead make N communicators in this one process
// (ncclCommInitAll, or ncclCommInitRank calls inside a group) and drive each from a thread.
// --nccl-env runs the processes with NCCL's variables as a user of NCCL sets them
// (NCCL_COMM_ID, so each rank makes the id itself; NCCL_DEBUG, NCCL_DEBUG_SUBSYS,
// NCCL_DEBUG_FILE, NCCL_ALGO, and one the shim ignores) and checks each rank's log for them.
#include <cuda_runtime.h>
#include <dirent.h>
#include <nccl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
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

constexpr int kSkipped = 77;

// Where a check's buffers live: host memory (stream NULL), or device memory with every call
// queued on one stream.
class Memory {
 public:
  explicit Memory(bool device) : device_(device) {
    if (device_ && cudaStreamCreate(&stream_) != cudaSuccess) {
      EXPECT(false, "cudaStreamCreate failed");
      device_ = false;
    }
  }
  ~Memory() {
    for (void* p : device_buffers_)
      cudaFree(p);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  cudaStream_t stream() const { return stream_; }
  bool device() const { return device_; }

  // A buffer holding v's elements (v itself in host mode).
  template <typename T>
  T* Make(std::vector<T>& v) {
    if (!device_) return v.data();
    void* p = nullptr;
    const size_t bytes = v.size() * sizeof(T);
    EXPECT(cudaMalloc(&p, bytes) == cudaSuccess, "cudaMalloc(%zu)", bytes);
    EXPECT(cudaMemcpy(p, v.data(), bytes, cudaMemcpyHostToDevice) == cudaSuccess, "copy in");
    device_buffers_.push_back(p);
    return static_cast<T*>(p);
  }
  // Waits for the stream (device mode) and copies `buf` back into v.
  template <typename T>
  void Read(const T* buf, std::vector<T>* v) {
    if (!device_) return;
    EXPECT(cudaStreamSynchronize(stream_) == cudaSuccess, "cudaStreamSynchronize");
    EXPECT(cudaMemcpy(v->data(), buf, v->size() * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess,
           "copy out");
  }

 private:
  bool device_;
  cudaStream_t stream_ = nullptr;
  std::vector<void*> device_buffers_;
};

// Rank q's i-th input element: small integers, so every sum is exact in float.
float In(int q, size_t i) {
  return static_cast<float>((q + 1) * 100 + static_cast<int>(i % 97));
}

void CheckCollectives(ncclComm_t comm, int r, int n, Memory& m) {
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
  float* s = m.Make(send);

  float* d = m.Make(recv);
  OK(ncclAllReduce(s, d, count, ncclFloat32, ncclSum, comm, m.stream()));
  m.Read(d, &recv);
  for (size_t i = 0; i < count; ++i)
    EXPECT(recv[i] == sum(i), "allreduce element %zu: %g, expected %g", i, recv[i], sum(i));

  d = m.Make(recv);
  OK(ncclAllGather(s, d, count, ncclFloat32, comm, m.stream()));
  m.Read(d, &recv);
  for (int q = 0; q < n; ++q)
    for (size_t i = 0; i < count; ++i)
      EXPECT(recv[q * count + i] == In(q, i), "allgather rank %d element %zu", q, i);

  std::vector<float> big(count * n), part(count, -1.0f);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = In(r, i);
  float* b = m.Make(big);
  float* p = m.Make(part);
  OK(ncclReduceScatter(b, p, count, ncclFloat32, ncclSum, comm, m.stream()));
  m.Read(p, &part);
  for (size_t i = 0; i < count; ++i)
    EXPECT(part[i] == sum(r * count + i), "reducescatter element %zu", i);

  const int root = n - 1;
  d = m.Make(recv);
  OK(ncclBroadcast(s, d, count, ncclFloat32, root, comm, m.stream()));
  m.Read(d, &recv);
  for (size_t i = 0; i < count; ++i)
    EXPECT(recv[i] == In(root, i), "broadcast element %zu", i);

  std::vector<float> inplace = send;
  float* ip = m.Make(inplace);
  OK(ncclBcast(ip, count, ncclFloat32, 0, comm, m.stream()));
  m.Read(ip, &inplace);
  for (size_t i = 0; i < count; ++i)
    EXPECT(inplace[i] == In(0, i), "bcast element %zu", i);

  std::vector<float> reduced(count, -1.0f);
  float* red = m.Make(reduced);
  OK(ncclReduce(s, red, count, ncclFloat32, ncclMax, 0, comm, m.stream()));
  m.Read(red, &reduced);
  for (size_t i = 0; i < count; ++i)
    EXPECT(reduced[i] == (r == 0 ? In(n - 1, i) : -1.0f), "reduce max element %zu: %g", i,
           reduced[i]);

  // A group of two all-reduces on int32, one with average.
  std::vector<int32_t> a(64, r * 4), x(64, -1), c(64, r * 8), y(64, -1);
  int32_t *da = m.Make(a), *dx = m.Make(x), *dc = m.Make(c), *dy = m.Make(y);
  OK(ncclGroupStart());
  OK(ncclAllReduce(da, dx, a.size(), ncclInt32, ncclAvg, comm, m.stream()));
  OK(ncclAllReduce(dc, dy, c.size(), ncclInt32, ncclSum, comm, m.stream()));
  OK(ncclGroupEnd());
  m.Read(dx, &x);
  m.Read(dy, &y);
  const int32_t avg = 4 * (n - 1) * n / 2 / n, total = 8 * (n - 1) * n / 2;
  EXPECT(x[63] == avg && y[0] == total, "group: avg %d (expected %d), sum %d (expected %d)", x[63],
         avg, y[0], total);
}

// PreMulSum as FSDP uses it: gradients reduce-scattered with each rank's share divided
// first (here by 2, exact), an all-reduce and a reduce; the op is the communicator's and
// is destroyed after.
void CheckPreMulSum(ncclComm_t comm, int r, int n, Memory& m) {
  const size_t count = 1003;
  ncclRedOp_t half;
  float scale = 0.5f;
  OK(ncclRedOpCreatePreMulSum(&half, &scale, ncclFloat32, ncclScalarHostImmediate, comm));
  auto sum = [&](size_t i) {
    float s = 0;
    for (int q = 0; q < n; ++q)
      s += In(q, i) * 0.5f;
    return s;
  };
  std::vector<float> big(count * n), part(count, -1.0f);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = In(r, i);
  float* b = m.Make(big);
  float* p = m.Make(part);
  OK(ncclReduceScatter(b, p, count, ncclFloat32, half, comm, m.stream()));
  m.Read(p, &part);
  for (size_t i = 0; i < count; ++i)
    EXPECT(part[i] == sum(r * count + i), "premulsum reducescatter element %zu: %g", i, part[i]);

  std::vector<float> inplace(count);
  for (size_t i = 0; i < count; ++i)
    inplace[i] = In(r, i);
  float* ip = m.Make(inplace);
  OK(ncclAllReduce(ip, ip, count, ncclFloat32, half, comm, m.stream()));
  m.Read(ip, &inplace);
  for (size_t i = 0; i < count; ++i)
    EXPECT(inplace[i] == sum(i), "premulsum allreduce element %zu: %g", i, inplace[i]);

  std::vector<float> send(count), out(count, -1.0f);
  for (size_t i = 0; i < count; ++i)
    send[i] = In(r, i);
  float *s = m.Make(send), *o = m.Make(out);
  OK(ncclReduce(s, o, count, ncclFloat32, half, 1 % n, comm, m.stream()));
  m.Read(o, &out);
  m.Read(s, &send);
  for (size_t i = 0; i < count; ++i) {
    EXPECT(out[i] == (r == 1 % n ? sum(i) : -1.0f), "premulsum reduce element %zu", i);
    EXPECT(send[i] == In(r, i), "premulsum changed the send buffer at %zu", i);
  }
  OK(ncclRedOpDestroy(half, comm));
  EXPECT(ncclAllReduce(s, o, count, ncclFloat32, half, comm, m.stream()) == ncclInvalidArgument,
         "a destroyed op");

  // The scalar in device memory, read when the collective runs: on GPUs it works; a host
  // pointer is refused.
  std::vector<float> scalar{0.5f};
  float* where = m.Make(scalar);
  ncclRedOp_t on_device;
  const ncclResult_t made =
      ncclRedOpCreatePreMulSum(&on_device, where, ncclFloat32, ncclScalarDevice, comm);
  if (!m.device()) {
    EXPECT(made == ncclInvalidArgument, "ncclScalarDevice with a host pointer: %d", made);
    return;
  }
  EXPECT(made == ncclSuccess, "ncclScalarDevice: %s", ncclGetLastError(comm));
  std::fill(out.begin(), out.end(), -1.0f);
  o = m.Make(out);
  OK(ncclAllReduce(s, o, count, ncclFloat32, on_device, comm, m.stream()));
  m.Read(o, &out);
  for (size_t i = 0; i < count; ++i)
    EXPECT(out[i] == sum(i), "device-scalar premulsum element %zu: %g", i, out[i]);
  OK(ncclRedOpDestroy(on_device, comm));
}

void CheckPointToPoint(ncclComm_t comm, int r, int n, Memory& m) {
  const size_t count = 777;
  // A ring exchange in one group: send right, receive from the left.
  std::vector<int32_t> mine(count), left(count, -1);
  for (size_t i = 0; i < count; ++i)
    mine[i] = static_cast<int32_t>(r * 100000 + i);
  const int right = (r + 1) % n, from = (r + n - 1) % n;
  int32_t *s = m.Make(mine), *d = m.Make(left);
  OK(ncclGroupStart());
  OK(ncclSend(s, count, ncclInt32, right, comm, m.stream()));
  OK(ncclRecv(d, count, ncclInt32, from, comm, m.stream()));
  OK(ncclGroupEnd());
  m.Read(d, &left);
  for (size_t i = 0; i < count; ++i)
    EXPECT(left[i] == static_cast<int32_t>(from * 100000 + i), "exchange element %zu: %d", i,
           left[i]);

  // All-to-all (grouped sends and receives, this rank's own block included): block q of
  // rank r's output is block r of rank q's input.
  auto value = [](int src, int dst, size_t i) {
    return static_cast<float>(src * 1000 + dst * 10 + static_cast<int>(i % 7));
  };
  std::vector<float> out(count * n), in(count * n, -1.0f);
  for (int q = 0; q < n; ++q)
    for (size_t i = 0; i < count; ++i)
      out[q * count + i] = value(r, q, i);
  float *so = m.Make(out), *di = m.Make(in);
  OK(ncclAlltoAll(so, di, count, ncclFloat32, comm, m.stream()));
  m.Read(di, &in);
  for (int q = 0; q < n; ++q)
    for (size_t i = 0; i < count; ++i)
      EXPECT(in[q * count + i] == value(q, r, i), "alltoall block %d element %zu", q, i);

  // Gather to the last rank (each rank's first count elements), then scatter from it (block
  // q of the root's buffer to rank q).
  const int root = n - 1;
  std::vector<float> gathered(count * n, -1.0f);
  float* g = m.Make(gathered);
  OK(ncclGather(so, g, count, ncclFloat32, root, comm, m.stream()));
  m.Read(g, &gathered);
  for (int q = 0; r == root && q < n; ++q)
    for (size_t i = 0; i < count; ++i)
      EXPECT(gathered[q * count + i] == value(q, 0, i), "gather block %d element %zu", q, i);
  std::vector<float> piece(count, -1.0f);
  float* p = m.Make(piece);
  OK(ncclScatter(so, p, count, ncclFloat32, root, comm, m.stream()));
  m.Read(p, &piece);
  for (size_t i = 0; i < count; ++i)
    EXPECT(piece[i] == value(root, r, i), "scatter element %zu: %g", i, piece[i]);

  // Outside a group, one send and one receive, each on its own: rank 0 to rank 1; a count of
  // 0 first, which is a message too.
  if (r < 2) {
    std::vector<int32_t> got(count, -1);
    int32_t* dg = m.Make(got);
    if (r == 0) {
      OK(ncclSend(s, 0, ncclInt32, 1, comm, m.stream()));
      OK(ncclSend(s, count, ncclInt32, 1, comm, m.stream()));
    } else {
      OK(ncclRecv(dg, 0, ncclInt32, 0, comm, m.stream()));
      OK(ncclRecv(dg, count, ncclInt32, 0, comm, m.stream()));
      m.Read(dg, &got);
      for (size_t i = 0; i < count; ++i)
        EXPECT(got[i] == static_cast<int32_t>(i), "send/recv element %zu: %d", i, got[i]);
    }
  }
}

void CheckSplit(ncclComm_t comm, int r, int n, Memory& m) {
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
  std::vector<int32_t> mine(1, 1 << r), all(1, 0);
  int32_t expect = 0;
  for (int q : members)
    expect |= 1 << q;
  int32_t* dall = m.Make(all);
  OK(ncclAllReduce(m.Make(mine), dall, 1, ncclInt32, ncclSum, sub, m.stream()));
  m.Read(dall, &all);
  EXPECT(all[0] == expect, "sum over the split: %d, expected %d", all[0], expect);
  OK(ncclCommDestroy(sub));

  // NCCL_SPLIT_NOCOLOR: rank 0 takes part but gets no communicator.
  ncclComm_t rest = reinterpret_cast<ncclComm_t>(&expect);
  OK(ncclCommSplit(comm, r == 0 ? NCCL_SPLIT_NOCOLOR : 0, r, &rest, nullptr));
  EXPECT((rest == nullptr) == (r == 0), "NOCOLOR gave %p", static_cast<void*>(rest));
  if (rest != nullptr) OK(ncclCommDestroy(rest));
}

// A planned shrink: every rank but the last goes on in a communicator of its own, ranks in
// the same order; the last rank takes no part (it does not call ncclCommShrink).
void CheckShrink(ncclComm_t comm, int r, int n, Memory& m) {
  if (n < 2 || r == n - 1) return;
  int excluded[] = {n - 1};
  ncclComm_t small = nullptr;
  OK(ncclCommShrink(comm, excluded, 1, &small, nullptr, NCCL_SHRINK_DEFAULT));
  EXPECT(small != nullptr, "shrink gave no communicator");
  if (small == nullptr) return;
  int size = 0, rank = -1;
  OK(ncclCommCount(small, &size));
  OK(ncclCommUserRank(small, &rank));
  EXPECT(size == n - 1 && rank == r, "shrunk to rank %d of %d", rank, size);
  std::vector<int32_t> mine(1, 1 << r), all(1, 0);
  int32_t* dall = m.Make(all);
  OK(ncclAllReduce(m.Make(mine), dall, 1, ncclInt32, ncclSum, small, m.stream()));
  m.Read(dall, &all);
  EXPECT(all[0] == (1 << (n - 1)) - 1, "sum over the shrunk communicator: %d", all[0]);
  OK(ncclCommDestroy(small));
}

// ncclMemAlloc and windows. Their arguments are checked everywhere, and a window of host
// memory is refused on every rank (no GPU needed). With device buffers: memory from
// ncclMemAlloc, registered as a window on every rank, carries an exact all-reduce, then is
// deregistered and freed.
void CheckMemoryAndWindows(ncclComm_t comm, int r, int n, Memory& m) {
  void* mem = nullptr;
  EXPECT(ncclMemAlloc(nullptr, 64) == ncclInvalidArgument, "ncclMemAlloc(NULL, 64)");
  EXPECT(ncclMemAlloc(&mem, 0) == ncclInvalidArgument && mem == nullptr, "ncclMemAlloc of 0");
  OK(ncclMemFree(nullptr));
  ncclWindow_t win = nullptr;
  if (!m.device()) {
    std::vector<float> host(64);
    EXPECT(ncclCommWindowRegister(comm, host.data(), host.size() * sizeof(float), &win,
                                  NCCL_WIN_DEFAULT) == ncclInvalidArgument,
           "a window of host memory");
    const std::string why = ncclGetLastError(comm);
    EXPECT(why.find("host memory") != std::string::npos && win == nullptr,
           "a window of host memory: %s", why.c_str());
    EXPECT(ncclCommWindowDeregister(comm, nullptr) == ncclInvalidArgument, "no window");
    return;
  }
  const size_t count = (size_t{1} << 20) + 3;  // past the one-shot size
  const size_t bytes = count * sizeof(float);
  float* in = nullptr;
  float* out = nullptr;
  OK(ncclMemAlloc(reinterpret_cast<void**>(&in), bytes));
  OK(ncclMemAlloc(reinterpret_cast<void**>(&out), bytes));
  ncclWindow_t win_in = nullptr, win_out = nullptr;
  OK(ncclCommWindowRegister(comm, in, bytes, &win_in, NCCL_WIN_COLL_SYMMETRIC));
  OK(ncclCommWindowRegister(comm, out, bytes, &win_out, NCCL_WIN_COLL_SYMMETRIC));
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i)
    v[i] = In(r, i);
  EXPECT(cudaMemcpy(in, v.data(), bytes, cudaMemcpyHostToDevice) == cudaSuccess, "copy in");
  OK(ncclAllReduce(in, out, count, ncclFloat32, ncclSum, comm, m.stream()));
  m.Read(out, &v);
  size_t wrong = 0;
  for (size_t i = 0; i < count; ++i) {
    float s = 0;
    for (int q = 0; q < n; ++q)
      s += In(q, i);
    wrong += v[i] != s ? 1 : 0;
  }
  EXPECT(wrong == 0, "all-reduce through windows from ncclMemAlloc: %zu wrong", wrong);
  OK(ncclCommWindowDeregister(comm, win_in));
  OK(ncclCommWindowDeregister(comm, win_out));
  OK(ncclMemFree(in));
  OK(ncclMemFree(out));
}

void CheckRefusals(ncclComm_t comm) {
  int x = 0;
  EXPECT(ncclSend(&x, 1, ncclInt32, 99, comm, nullptr) == ncclInvalidArgument, "a bad peer");
  EXPECT(ncclAllReduce(&x, &x, 1, static_cast<ncclDataType_t>(99), ncclSum, comm, nullptr) ==
             ncclInvalidArgument,
         "a bad datatype");
  EXPECT(ncclAllReduce(&x, &x, 1, ncclInt32, ncclSum, nullptr, nullptr) == ncclInvalidArgument,
         "a NULL communicator");
  EXPECT(ncclCommDestroy(nullptr) == ncclSuccess, "destroying NULL");
}

void Run(int r, int n, const ncclUniqueId& id, bool device, int gpus) {
  Memory m(device);
  int version = 0;
  OK(ncclGetVersion(&version));
  EXPECT(version == NCCL_VERSION_CODE, "version %d, built against %d", version, NCCL_VERSION_CODE);
  ncclComm_t comm = nullptr;
  OK(ncclCommInitRank(&comm, n, id, r));
  int size = 0, rank = -1, cuda_device = -2;
  OK(ncclCommCount(comm, &size));
  OK(ncclCommUserRank(comm, &rank));
  EXPECT(size == n && rank == r, "count %d, rank %d", size, rank);
  const ncclResult_t dev = ncclCommCuDevice(comm, &cuda_device);
  if (device)
    EXPECT(dev == ncclSuccess && cuda_device == r % gpus, "ncclCommCuDevice: %d, device %d", dev,
           cuda_device);
  else
    EXPECT(dev == ncclSuccess || dev == ncclInvalidUsage, "ncclCommCuDevice: %d", dev);
  CheckCollectives(comm, r, n, m);
  CheckPreMulSum(comm, r, n, m);
  CheckPointToPoint(comm, r, n, m);
  CheckSplit(comm, r, n, m);
  CheckShrink(comm, r, n, m);
  CheckMemoryAndWindows(comm, r, n, m);
  CheckRefusals(comm);
  ncclResult_t async = ncclInternalError;
  OK(ncclCommGetAsyncError(comm, &async));
  EXPECT(async == ncclSuccess, "async error %d", async);
  OK(ncclCommFinalize(comm));
  OK(ncclCommDestroy(comm));
}

// Returns kSkipped for device memory without a GPU.
int RunRank(int r, int n, const ncclUniqueId& id, bool device) {
  my_rank = r;
  int gpus = 0;
  if (device) {
    if (cudaGetDeviceCount(&gpus) != cudaSuccess || gpus == 0) return kSkipped;
    EXPECT(cudaSetDevice(r % gpus) == cudaSuccess, "cudaSetDevice(%d)", r % gpus);
  }
  Run(r, n, id, device, gpus);
  return failures == 0 ? 0 : 1;
}
// n communicators in this process, made by ncclCommInitAll or (grouped) by ncclCommInitRank
// calls inside one group, as nccl-tests -g does; each then driven by its own thread (host
// buffers block until the collective is done), and all destroyed from this thread in turn.
int RunInOneProcess(int n, bool grouped) {
  std::vector<ncclComm_t> comms(static_cast<size_t>(n), nullptr);
  ncclResult_t init = ncclSuccess;
  if (grouped) {
    ncclUniqueId id;
    init = ncclGetUniqueId(&id);
    if (init == ncclSuccess) init = ncclGroupStart();
    for (int r = 0; r < n && init == ncclSuccess; ++r)
      init = ncclCommInitRank(&comms[r], n, id, r);
    // Until the group ends, a communicator is still initializing.
    ncclResult_t pending = ncclSuccess;
    if (init == ncclSuccess) {
      EXPECT(ncclCommGetAsyncError(comms[0], &pending) == ncclSuccess && pending == ncclInProgress,
             "inside the group: async error %d, expected ncclInProgress", pending);
      int size = 0;
      EXPECT(ncclCommCount(comms[0], &size) == ncclInvalidUsage, "a pending communicator's count");
    }
    const ncclResult_t end = ncclGroupEnd();
    if (init == ncclSuccess) init = end;
  } else {
    init = ncclCommInitAll(comms.data(), n, nullptr);
  }
  EXPECT(init == ncclSuccess, "init: %s", ncclGetLastError(nullptr));
  if (init != ncclSuccess) return 1;
  std::vector<int> wrong(static_cast<size_t>(n), 0);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      int rank = -1, device = -1;
      if (ncclCommUserRank(comms[r], &rank) != ncclSuccess || rank != r) ++wrong[r];
      const ncclResult_t d = ncclCommCuDevice(comms[r], &device);
      if (!grouped && (d != ncclSuccess || device != r)) ++wrong[r];  // devlist NULL: 0..n-1
      std::vector<double> v(4099, r + 0.5), out(4099, 0);
      if (ncclAllReduce(v.data(), out.data(), v.size(), ncclFloat64, ncclSum, comms[r], nullptr) !=
          ncclSuccess)
        ++wrong[r];
      const double want = n * (n - 1) / 2.0 + 0.5 * n;
      for (double x : out)
        if (x != want) ++wrong[r];
    });
  }
  for (std::thread& t : threads)
    t.join();
  for (int r = 0; r < n; ++r) {
    EXPECT(wrong[r] == 0, "rank %d: %d checks failed", r, wrong[r]);
    EXPECT(ncclCommDestroy(comms[r]) == ncclSuccess, "destroy %d", r);
  }
  std::printf("nccl shim, %d ranks in one process by %s: %s\n", n,
              grouped ? "grouped ncclCommInitRank" : "ncclCommInitAll",
              failures == 0 ? "every check passed" : "FAILED");
  return failures == 0 ? 0 : 1;
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

// A port nobody listens on now (bound, read, closed).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  return ok ? ntohs(a.sin_port) : 0;
}

// NCCL's variables for --nccl-env, set before the fork so that every rank has them; the
// logs go to `dir`, one per process.
bool SetNcclEnvironment(const std::string& dir) {
  const int port = FreePort();
  if (port == 0) return false;
  const std::string comm_id = "127.0.0.1:" + std::to_string(port);
  const std::string file = dir + "/rank.%p.log";
  setenv("NCCL_COMM_ID", comm_id.c_str(), 1);
  setenv("NCCL_DEBUG", "info", 1);
  setenv("NCCL_DEBUG_SUBSYS", "INIT,TUNING", 1);
  setenv("NCCL_DEBUG_FILE", file.c_str(), 1);
  setenv("NCCL_ALGO", "allreduce:Tree,NVLS", 1);
  setenv("NCCL_LAUNCH_MODE", "GROUP", 1);  // one the shim does not honour
  return true;
}

// Each rank's log says what NCCL's variables became: the ignored one warned once, NCCL_ALGO
// read as Weft's (NVLS noted), and the all-reduces run as the tree NCCL_ALGO asked for.
int CheckNcclEnvironmentLogs(const std::string& dir, int n) {
  int logs = 0, bad = 0;
  DIR* d = opendir(dir.c_str());
  for (dirent* e = d ? readdir(d) : nullptr; e != nullptr; e = readdir(d)) {
    if (std::strncmp(e->d_name, "rank.", 5) != 0) continue;
    const std::string path = dir + "/" + e->d_name;
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string log = text.str();
    std::remove(path.c_str());
    ++logs;
    auto count = [&](const std::string& what) {
      int c = 0;
      for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1))
        ++c;
      return c;
    };
    const bool ok = count("NCCL_LAUNCH_MODE is set, and Weft's NCCL shim ignores it") == 1 &&
                    count("NCCL_ALGO read as WEFT_ALGO=allreduce:tree") == 1 &&
                    count("Weft has no nvls") == 1 && count("allreduce of ") > 0 &&
                    count("allreduce of ") == count("bytes: tree");
    if (!ok) {
      std::fprintf(stderr, "%s does not show NCCL's variables honoured:\n%s\n", path.c_str(),
                   log.substr(0, 4000).c_str());
      ++bad;
    }
  }
  if (d != nullptr) closedir(d);
  rmdir(dir.c_str());
  if (logs != n) std::fprintf(stderr, "%d logs for %d ranks in %s\n", logs, n, dir.c_str());
  return logs == n && bad == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 4;
  const bool device = argc > 2 && std::strcmp(argv[2], "--device") == 0;
  const bool init_all = argc > 2 && std::strcmp(argv[2], "--init-all") == 0;
  const bool group_init = argc > 2 && std::strcmp(argv[2], "--group-init") == 0;
  const bool nccl_env = argc > 2 && std::strcmp(argv[2], "--nccl-env") == 0;
  if (n < 2 || n > 64 || (argc > 2 && !device && !init_all && !group_init && !nccl_env)) {
    std::fprintf(stderr,
                 "usage: nccl_shim_check N (2..64) [--device | --init-all | --group-init "
                 "| --nccl-env]\n");
    return 2;
  }
  if (init_all || group_init) return RunInOneProcess(n, group_init);
  char dir_template[] = "/tmp/weft-nccl-env.XXXXXX";
  std::string log_dir;
  if (nccl_env) {
    if (mkdtemp(dir_template) == nullptr || !SetNcclEnvironment(dir_template)) return 2;
    log_dir = dir_template;
  }
  // Children first, before this process has any thread or CUDA context; each waits for the
  // id on a pipe.
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
      if (nccl_env) {  // NCCL_COMM_ID: every rank makes the same id itself
        if (ncclGetUniqueId(&id) != ncclSuccess) _exit(1);
      } else if (!ReadAll(fds[0], &id, sizeof(id), 60000)) {
        std::fprintf(stderr, "rank %d: no unique id from rank 0\n", r);
        _exit(1);
      }
      _exit(RunRank(r, n, id, device));
    }
    close(fds[0]);
    children.push_back(pid);
    writers.push_back(fds[1]);
  }
  ncclUniqueId id;
  const ncclResult_t got = ncclGetUniqueId(&id);
  int mine = 1;
  if (got != ncclSuccess) {
    std::fprintf(stderr, "ncclGetUniqueId: %s\n", ncclGetLastError(nullptr));
    for (int fd : writers)
      close(fd);  // the children see end of file and fail
  } else {
    for (int fd : writers) {
      if (write(fd, &id, sizeof(id)) != static_cast<ssize_t>(sizeof(id))) ++failures;
      close(fd);
    }
    mine = RunRank(0, n, id, device);
  }
  int failed = 0, skipped = mine == kSkipped ? 1 : 0;
  for (pid_t pid : children) {
    int status = 0;
    const bool exited = waitpid(pid, &status, 0) == pid && WIFEXITED(status);
    if (exited && WEXITSTATUS(status) == kSkipped)
      ++skipped;
    else if (!exited || WEXITSTATUS(status) != 0)
      ++failed;
  }
  if (skipped == n) {
    std::printf("SKIPPED: no CUDA device\n");
    return kSkipped;
  }
  const bool logs_ok = !nccl_env || CheckNcclEnvironmentLogs(log_dir, n) == 0;
  const bool pass = mine == 0 && failed == 0 && skipped == 0 && logs_ok;
  std::printf("nccl shim, %d ranks, %s memory: %s (rank 0: %d failures; %d other ranks failed)\n",
              n, device ? "device" : "host", pass ? "every check passed" : "FAILED", failures,
              failed);
  return pass ? 0 : 1;
}
