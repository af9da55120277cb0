// coll_check: run under weft-run (or mpirun with WEFT_ROOT); runs every collective over a
// matrix of types, ops, counts and in-place/out-of-place layouts through the public API
// and checks each result exactly. Prints "coll_check: N passed, 0 failed" on rank 0.
//
//   coll_check [--types all|float,int32,...] [--ops all|sum,...] [--counts 0,1,7,...]
//              [--colls allreduce,allgather,reducescatter,broadcast,reduce] [--group]
//              [--premulsum]   reductions also with a PreMulSum op per type (x3 for
//                              integers, x0.5 for floats: every product and sum exact)
//              [--soak N [--seed S]]   N random collectives (type, op, size up to 4 MiB,
//                                      layout, root, algorithm) instead of the matrix
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/dtype.h"
#include "common/float_formats.h"
#include "common/pattern.h"
#include "weft/weft.h"

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    out.push_back(item);
  return out;
}

// A PreMulSum scalar in the type's own bytes, at out (8 bytes; the values used here are
// exact in every type).
void EncodeScalar(weftDataType_t t, double v, char* out) {
  auto put = [&](auto x) { std::memcpy(out, &x, sizeof(x)); };
  switch (t) {
    case weftInt8:
      return put(static_cast<int8_t>(v));
    case weftUint8:
      return put(static_cast<uint8_t>(v));
    case weftInt32:
      return put(static_cast<int32_t>(v));
    case weftUint32:
      return put(static_cast<uint32_t>(v));
    case weftInt64:
      return put(static_cast<int64_t>(v));
    case weftUint64:
      return put(static_cast<uint64_t>(v));
    case weftFloat16:
      return put(weft::FloatToHalf(static_cast<float>(v)));
    case weftFloat32:
      return put(static_cast<float>(v));
    case weftFloat64:
      return put(v);
    case weftBfloat16:
      return put(weft::FloatToBf16(static_cast<float>(v)));
    case weftFloat8e4m3:
      return put(weft::FloatToE4m3(static_cast<float>(v)));
    case weftFloat8e5m2:
      return put(weft::FloatToE5m2(static_cast<float>(v)));
    default:
      return;
  }
}

// buf[i] *= v in the type, written apart from the library: integers wrap (through uint64),
// floats go through double (exact for the values used).
void ScaleExpected(char* buf, size_t count, weftDataType_t t, double v) {
  const size_t esz = weft::TypeSize(t);
  for (size_t i = 0; i < count; ++i) {
    char* p = buf + i * esz;
    if (!weft::IsFloatType(t)) {
      uint64_t x = 0;
      std::memcpy(&x, p, esz);  // little-endian: the low bytes are the value
      x *= static_cast<uint64_t>(v);
      std::memcpy(p, &x, esz);
      continue;
    }
    double d = 0;
    uint16_t h = 0;
    uint8_t b = 0;
    float f = 0;
    switch (t) {
      case weftFloat16:
        std::memcpy(&h, p, 2), d = weft::HalfToFloat(h);
        break;
      case weftBfloat16:
        std::memcpy(&h, p, 2), d = weft::Bf16ToFloat(h);
        break;
      case weftFloat8e4m3:
        std::memcpy(&b, p, 1), d = weft::E4m3ToFloat(b);
        break;
      case weftFloat8e5m2:
        std::memcpy(&b, p, 1), d = weft::E5m2ToFloat(b);
        break;
      case weftFloat32:
        std::memcpy(&f, p, 4), d = f;
        break;
      default:
        std::memcpy(&d, p, 8);
    }
    EncodeScalar(t, d * v, p);
  }
}

// A call's buffer: heap memory, or (--register) memory from weftMemAlloc registered with the
// communicator for this call only, so that peers map a new buffer at every call.
class CallBuffer {
 public:
  CallBuffer(weftComm_t comm, size_t bytes, char fill, bool shared) : comm_(comm) {
    if (!shared) {
      heap_.assign(bytes, fill);
      data_ = heap_.data();
      return;
    }
    ok_ = weftMemAlloc(&shared_, bytes) == weftSuccess &&
          weftCommRegister(comm, shared_, bytes, &handle_) == weftSuccess;
    data_ = static_cast<char*>(shared_);
    if (data_ != nullptr) std::memset(data_, fill, bytes);
  }
  ~CallBuffer() {
    if (handle_ != nullptr) weftCommDeregister(comm_, handle_);
    if (shared_ != nullptr) weftMemFree(shared_);
  }
  CallBuffer(const CallBuffer&) = delete;
  CallBuffer& operator=(const CallBuffer&) = delete;
  bool ok() const { return ok_; }
  char* data() const { return data_; }
  char& operator[](size_t i) const { return data_[i]; }

 private:
  weftComm_t comm_;
  std::vector<char> heap_;
  void* shared_ = nullptr;
  void* handle_ = nullptr;
  char* data_ = nullptr;
  bool ok_ = true;
};

struct Checker {
  weftComm_t comm;
  int rank, n;
  long passed = 0, failed = 0;
  double premul_scalar = 1;     // of the PreMulSum op in use (ops from weftNumOps up)
  bool shared_buffers = false;  // --register

  void Report(bool ok, const char* coll, weftDataType_t t, weftRedOp_t op, size_t count,
              bool in_place, int root, const std::string& why) {
    // Every rank's verdict counts: agree on the worst one.
    int32_t bad = ok ? 0 : 1, any_bad = 0;
    if (weftAllReduce(&bad, &any_bad, 1, weftInt32, weftMax, comm, nullptr) != weftSuccess)
      any_bad = 1;
    if (!ok)
      std::fprintf(stderr, "FAIL rank %d: %s %s %s count=%zu %s root=%d: %s\n", rank, coll,
                   weft::TypeName(t), op >= weftNumOps ? "premulsum" : weft::OpName(op), count,
                   in_place ? "in-place" : "out-of-place", root, why.c_str());
    if (any_bad)
      ++failed;
    else
      ++passed;
  }

  // Runs one collective with fresh buffers (guard bytes around the output) and checks it.
  void Run(const std::string& coll, weftDataType_t t, weftRedOp_t op, size_t count, bool in_place,
           int root) {
    const size_t esz = weft::TypeSize(t);
    const size_t N = static_cast<size_t>(n);
    size_t in_n = count, out_n = count;
    if (coll == "allgather") out_n = count * N;
    if (coll == "reducescatter") in_n = count * N;
    const size_t guard = 64;
    const size_t big = std::max(in_n, out_n) * esz;
    CallBuffer sendbuf(comm, in_n * esz + 1, 0, shared_buffers);
    CallBuffer recvbuf(comm, big + 2 * guard, '\x5a', shared_buffers);
    if (!sendbuf.ok() || !recvbuf.ok()) {
      Report(false, coll.c_str(), t, op, count, in_place, root,
             std::string("weftMemAlloc/weftCommRegister: ") + weftGetLastError(comm));
      return;
    }
    char* out = recvbuf.data() + guard;
    const bool premul = op >= weftNumOps;
    const weftRedOp_t pop = (coll == "allgather" || coll == "broadcast" || premul) ? weftSum : op;
    // Inputs.
    char* in = sendbuf.data();
    if (in_place) {
      if (coll == "allgather")
        in = out + rank * count * esz;
      else
        in = out;
    }
    if (coll == "broadcast") {
      if (rank == root) weft::FillPattern(in, in_n, t, pop, n, root, 0);
    } else {
      weft::FillPattern(in, in_n, t, pop, n, rank, 0);
    }
    char* result = out;
    if (in_place && coll == "reducescatter") result = out + rank * count * esz;
    weftResult_t r;
    if (coll == "allreduce")
      r = weftAllReduce(in, result, count, t, op, comm, nullptr);
    else if (coll == "allgather")
      r = weftAllGather(in, out, count, t, comm, nullptr);
    else if (coll == "reducescatter")
      r = weftReduceScatter(in, result, count, t, op, comm, nullptr);
    else if (coll == "broadcast")
      r = weftBroadcast(in, out, count, t, root, comm, nullptr);
    else
      r = weftReduce(in, out, count, t, op, root, comm, nullptr);
    if (r != weftSuccess) {
      Report(false, coll.c_str(), t, op, count, in_place, root,
             std::string(weftGetErrorString(r)) + ": " + weftGetLastError(comm));
      return;
    }
    // Expected.
    std::vector<char> want(std::max<size_t>(out_n, 1) * esz);
    bool check = true;
    if (coll == "allreduce")
      weft::FillExpected(want.data(), out_n, t, pop, n, 0);
    else if (coll == "reduce")
      check = rank == root, weft::FillExpected(want.data(), out_n, t, pop, n, 0);
    else if (coll == "reducescatter")
      weft::FillExpected(want.data(), out_n, t, pop, n, rank * count);
    else if (coll == "broadcast")
      weft::FillPattern(want.data(), out_n, t, pop, n, root, 0);
    else
      for (int k = 0; k < n; ++k)
        weft::FillPattern(want.data() + k * count * esz, count, t, pop, n, k, 0);
    if (premul) ScaleExpected(want.data(), out_n, t, premul_scalar);
    std::string why;
    if (check) {
      size_t wrong = weft::CountMismatches(result, want.data(), out_n, t);
      if (wrong) why = std::to_string(wrong) + " of " + std::to_string(out_n) + " elements wrong";
    }
    // Nothing outside the output may change (out of place: the whole guarded area).
    if (!in_place || coll != "reducescatter") {
      for (size_t g = 0; g < guard && why.empty(); ++g) {
        if (recvbuf[g] != '\x5a' || recvbuf[guard + big + g] != '\x5a')
          why = "wrote outside the buffer";
      }
    }
    Report(why.empty(), coll.c_str(), t, op, count, in_place, root, why);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string types = "all", ops = "all", counts = "0,1,2,3,7,64,1000,100003";
  std::string colls = "allreduce,allgather,reducescatter,broadcast,reduce";
  bool group = false, premulsum = false, shared = false;
  long soak = 0;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--types")
      types = next();
    else if (a == "--ops")
      ops = next();
    else if (a == "--counts")
      counts = next();
    else if (a == "--colls")
      colls = next();
    else if (a == "--group")
      group = true;
    else if (a == "--premulsum")
      premulsum = true;
    else if (a == "--register")
      shared = true;
    else if (a == "--soak")
      soak = std::stol(next());
    else if (a == "--seed")
      seed = std::stoull(next());
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  weftComm_t comm;
  weftResult_t r = weftCommInitFromEnv(&comm);
  if (r != weftSuccess) {
    std::fprintf(stderr, "init failed: %s: %s\n", weftGetErrorString(r), weftGetLastError(nullptr));
    return 1;
  }
  Checker c{comm, 0, 0};
  c.shared_buffers = shared;
  weftCommUserRank(comm, &c.rank);
  weftCommCount(comm, &c.n);

  std::vector<weftDataType_t> tv;
  std::vector<weftRedOp_t> ov;
  if (types == "all") {
    for (int t = 0; t < weftNumTypes; ++t)
      tv.push_back(static_cast<weftDataType_t>(t));
  } else {
    for (auto& s : Split(types)) {
      weftDataType_t t;
      if (!weft::ParseTypeName(s, &t)) return std::fprintf(stderr, "bad type %s\n", s.c_str()), 2;
      tv.push_back(t);
    }
  }
  if (ops == "all") {
    for (int o = 0; o < weftNumOps; ++o)
      ov.push_back(static_cast<weftRedOp_t>(o));
  } else {
    for (auto& s : Split(ops)) {
      weftRedOp_t o;
      if (!weft::ParseOpName(s, &o)) return std::fprintf(stderr, "bad op %s\n", s.c_str()), 2;
      ov.push_back(o);
    }
  }
  std::vector<size_t> cv;
  for (auto& s : Split(counts))
    cv.push_back(std::stoull(s));

  if (group) {
    // Broadcasts from every root in one group: they must all be in flight together.
    const size_t count = cv.back();
    std::vector<std::vector<int32_t>> bufs(c.n, std::vector<int32_t>(count));
    weftGroupStart();
    for (int root = 0; root < c.n; ++root) {
      if (c.rank == root)
        weft::FillPattern(bufs[root].data(), count, weftInt32, weftSum, c.n, root, 0);
      weftBroadcast(bufs[root].data(), bufs[root].data(), count, weftInt32, root, comm, nullptr);
    }
    r = weftGroupEnd();
    bool ok = r == weftSuccess;
    std::vector<int32_t> want(count);
    for (int root = 0; root < c.n && ok; ++root) {
      weft::FillPattern(want.data(), count, weftInt32, weftSum, c.n, root, 0);
      ok = want == bufs[root];
    }
    c.Report(ok, "group-broadcast", weftInt32, weftSum, count, true, -1,
             r == weftSuccess ? "wrong data" : weftGetLastError(comm));
  }
  if (soak > 0) {
    // One communicator per algorithm choice over the same ranks; each iteration draws one.
    std::vector<weftComm_t> comms = {comm};
    for (const char* algo : {"tree", "rd", "ring"}) {
      weftUniqueId id{};
      if (c.rank == 0 && weftGetUniqueId(&id) != weftSuccess) return 1;
      if (weftBroadcast(&id, &id, sizeof(id), weftInt8, 0, comm, nullptr) != weftSuccess) return 1;
      setenv("WEFT_ALGO", algo, 1);
      weftComm_t extra = nullptr;
      r = weftCommInitRank(&extra, c.n, id, c.rank);
      unsetenv("WEFT_ALGO");
      if (r != weftSuccess)
        return std::fprintf(stderr, "init %s: %s\n", algo, weftGetLastError(nullptr)), 1;
      comms.push_back(extra);
    }
    const char* const kColls[] = {"allreduce", "allgather", "reducescatter", "broadcast", "reduce"};
    std::mt19937_64 rng(seed);  // the same draws on every rank
    for (long i = 0; i < soak; ++i) {
      c.comm = comms[rng() % comms.size()];
      const std::string coll = kColls[rng() % 5];
      const auto t = static_cast<weftDataType_t>(rng() % weftNumTypes);
      const auto op = static_cast<weftRedOp_t>(rng() % weftNumOps);
      // Sizes up to 4 MiB, most of them small: log-uniform bytes.
      const size_t bytes =
          rng() % 8 == 0 ? 0 : static_cast<size_t>(std::exp2((rng() % 2200) / 100.0));
      size_t count = bytes / weft::TypeSize(t);
      if (coll == "allgather" || coll == "reducescatter") count /= static_cast<size_t>(c.n);
      const bool in_place = rng() % 2 == 0;
      const int root = static_cast<int>(rng() % static_cast<uint64_t>(c.n));
      c.Run(coll, t, op, count, in_place, root);
    }
    c.comm = comm;
    for (size_t k = 1; k < comms.size(); ++k)
      if (weftCommDestroy(comms[k]) != weftSuccess) return 1;
    colls.clear();
  }
  for (const std::string& coll : Split(colls)) {
    const bool reduces = coll == "allreduce" || coll == "reducescatter" || coll == "reduce";
    const bool rooted = coll == "broadcast" || coll == "reduce";
    for (weftDataType_t t : tv) {
      std::vector<weftRedOp_t> ops = reduces ? ov : std::vector<weftRedOp_t>{weftSum};
      weftRedOp_t premul_op = weftSum;
      if (reduces && premulsum) {
        c.premul_scalar = weft::IsFloatType(t) ? 0.5 : 3;
        char scalar[8] = {};
        EncodeScalar(t, c.premul_scalar, scalar);
        if (weftRedOpCreatePreMulSum(&premul_op, scalar, t, weftScalarHostImmediate, comm) !=
            weftSuccess)
          return std::fprintf(stderr, "PreMulSum: %s\n", weftGetLastError(comm)), 1;
        ops.push_back(premul_op);
      }
      for (weftRedOp_t op : ops) {
        for (size_t count : cv) {
          for (bool in_place : {false, true}) {
            int root = rooted ? static_cast<int>((count + t) % c.n) : 0;
            c.Run(coll, t, op, count, in_place, root);
          }
        }
      }
      if (premul_op != weftSum && weftRedOpDestroy(premul_op, comm) != weftSuccess) return 1;
    }
  }
  r = weftCommDestroy(comm);
  if (r != weftSuccess) {
    std::fprintf(stderr, "destroy failed: %s\n", weftGetLastError(nullptr));
    return 1;
  }
  if (c.rank == 0) std::printf("coll_check: %ld passed, %ld failed\n", c.passed, c.failed);
  return c.failed == 0 ? 0 : 1;
}
