// The C API: argument validation, then the communicator. No exception and no Status
// crosses this boundary: every failure becomes a weftResult_t and this thread's last-error
// text (weftGetLastError).
#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <string>

#include "collectives/api_internal.h"
#include "collectives/comm_config.h"
#include "collectives/comm_split.h"
#include "common/dtype.h"
#include "common/log.h"
#include "transport/shm/shared_buffer.h"

namespace weft {
namespace {

thread_local std::string last_error;

// Roots started by weftGetUniqueId in this process, until a communicator claims them.
std::mutex roots_mutex;
std::map<std::array<uint8_t, 16>, std::unique_ptr<RootServer>>& PendingRoots() {
  static auto* roots = new std::map<std::array<uint8_t, 16>, std::unique_ptr<RootServer>>();
  return *roots;
}

Status CheckComm(weftComm_t comm) {
  WEFT_REQUIRE(comm != nullptr, weftInvalidArgument, "communicator is NULL");
  WEFT_REQUIRE(comm->magic == weftComm::kMagic && comm->impl != nullptr, weftInvalidArgument,
               "communicator is not valid (destroyed or never initialized)");
  return Status::Ok();
}

bool Overlap(const void* a, size_t abytes, const void* b, size_t bbytes) {
  auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return abytes > 0 && bbytes > 0 && x < y + bbytes && y < x + abytes;
}

// Validates one collective's arguments against the communicator.
Status Validate(const char* name, weftComm_t comm, const CollArgs& a) {
  WEFT_CHECK(CheckComm(comm));
  const int n = comm->impl->nranks(), rank = comm->impl->rank();
  WEFT_REQUIRE(ValidType(a.type), weftInvalidArgument, "%s: invalid datatype %d", name,
               static_cast<int>(a.type));
  if (UserOps::IsUserOp(a.op))
    WEFT_CHECK(comm->impl->user_ops().Find(a.op, a.type, nullptr).WithContext(name));
  else
    WEFT_REQUIRE(ValidOp(a.op), weftInvalidArgument, "%s: invalid reduction op %d", name,
                 static_cast<int>(a.op));
  const CollFacts& facts = FactsOf(a.coll);
  WEFT_REQUIRE(!facts.rooted || (a.root >= 0 && a.root < n), weftInvalidArgument,
               "%s: root %d out of range 0..%d", name, a.root, n - 1);
#if !WEFT_HAVE_CUDA
  WEFT_REQUIRE(a.stream == nullptr, weftInvalidArgument,
               "%s: a stream was given but this build has no CUDA support", name);
#endif
  const size_t esz = TypeSize(a.type);
  const size_t limit = std::numeric_limits<size_t>::max() / esz / static_cast<size_t>(n);
  WEFT_REQUIRE(a.count <= limit, weftInvalidArgument,
               "%s: count %zu x %zu bytes x %d ranks overflows", name, a.count, esz, n);
  if (a.count == 0) return Status::Ok();
  const size_t in_elems = InputCount(a.coll, a.count, n);
  const size_t out_elems = OutputCount(a.coll, a.count, n);
  const bool needs_send = ReadsInput(a.coll, rank, a.root);
  const bool needs_recv = WritesOutput(a.coll, rank, a.root);
  WEFT_REQUIRE(!needs_send || a.send != nullptr, weftInvalidArgument,
               "%s: sendbuff is NULL with count %zu", name, a.count);
  WEFT_REQUIRE(!needs_recv || a.recv != nullptr, weftInvalidArgument,
               "%s: recvbuff is NULL with count %zu", name, a.count);
  if (!needs_send || !needs_recv) return Status::Ok();
  // Any overlap but the in-place layout would corrupt data.
  const bool in_place = IsInPlace(a.coll, a.send, a.recv, a.count, esz, rank);
  WEFT_REQUIRE(in_place || !Overlap(a.send, in_elems * esz, a.recv, out_elems * esz),
               weftInvalidArgument,
               "%s: sendbuff and recvbuff overlap but are not the in-place layout (%s)", name,
               facts.in_place_rule);
  return Status::Ok();
}

weftResult_t Issue(const char* name, weftComm_t comm, CollArgs a) {
  Status s = Validate(name, comm, a);
  if (s.ok() && UserOps::IsUserOp(a.op)) {
    PreMulSum op;
    s = comm->impl->user_ops().Find(a.op, a.type, &op).WithContext(name);
    a.premul = op;
  }
  if (!s.ok()) return ReportFailure(s);
  if (GroupActive()) {
    GroupEnqueue(comm, a);
    return weftSuccess;
  }
  if (a.count == 0) return weftSuccess;
  return ReportOn(comm, comm->impl->Submit({a}));
}

// Even a count of 0 goes through: it is a message, and keeps the pair's sequence aligned.
weftResult_t IssueP2P(const char* name, weftComm_t comm, const P2PArgs& a) {
  Status s = CheckComm(comm);
  if (s.ok()) {
    const int n = comm->impl->nranks();
    if (!ValidType(a.type))
      s = InvalidArgument(Format("%s: invalid datatype %d", name, static_cast<int>(a.type)));
    else if (a.peer < 0 || a.peer >= n)
      s = InvalidArgument(Format("%s: peer %d out of range 0..%d", name, a.peer, n - 1));
    else if (a.count > 0 && a.buf == nullptr)
      s = InvalidArgument(Format("%s: buffer is NULL with count %zu", name, a.count));
    else if (a.count > std::numeric_limits<size_t>::max() / TypeSize(a.type))
      s = InvalidArgument(Format("%s: count %zu overflows the address space", name, a.count));
  }
  if (!s.ok()) return ReportFailure(s);
  if (GroupActive()) {
    GroupEnqueueP2P(comm, a);
    return weftSuccess;
  }
  return ReportOn(comm, comm->impl->SubmitP2P({a}));
}

}  // namespace

weftResult_t ReportOn(weftComm_t comm, const Status& s) {
  if (s.ok()) return weftSuccess;
  last_error = s.message();
  if (comm->impl->ShouldWarn(s.message()))
    WEFT_WARN(kLogColl, "%s: %s", weftGetErrorString(s.code()), s.message().c_str());
  else
    WEFT_INFO(kLogColl, "%s: %s", weftGetErrorString(s.code()), s.message().c_str());
  return s.code();
}

weftResult_t ReportFailure(const Status& s) {
  last_error = s.message();
  WEFT_WARN(kLogColl, "%s: %s", weftGetErrorString(s.code()), s.message().c_str());
  return s.code();
}

std::unique_ptr<RootServer> ClaimRoot(const std::array<uint8_t, 16>& secret) {
  std::lock_guard<std::mutex> lock(roots_mutex);
  auto it = PendingRoots().find(secret);
  if (it == PendingRoots().end()) return nullptr;
  std::unique_ptr<RootServer> root = std::move(it->second);
  PendingRoots().erase(it);
  return root;
}

Status FreshUniqueId(weftUniqueId* id) {
  Config config;
  WEFT_CHECK(Config::FromProcess(&config));
  return FreshUniqueId(config, id);
}

Status FreshUniqueId(const Config& config, weftUniqueId* id) {
  UniqueIdData data;
  WEFT_CHECK(RandomSecret(&data.secret));
  in_addr advertised{};
  WEFT_CHECK(LocalAdvertisedAddress(config.socket_addr, config.socket_ifname, &advertised));
  // Listens on the address the id advertises only.
  sockaddr_in listen_at{};
  listen_at.sin_family = AF_INET;
  listen_at.sin_addr = advertised;
  std::unique_ptr<RootServer> root;
  WEFT_CHECK(RootServer::Start(listen_at, data.secret, config.timeout_ms, &root));
  data.root.sin_family = AF_INET;
  data.root.sin_addr = advertised;
  data.root.sin_port = htons(root->port());
  EncodeUniqueId(data, id);
  std::lock_guard<std::mutex> lock(roots_mutex);
  PendingRoots()[data.secret] = std::move(root);
  return Status::Ok();
}

Status LoadCommConfig(const weftConfig_t* user, Config* out) {
  WEFT_CHECK(Config::FromProcess(out));
  for (const std::string& w : UnknownVariableWarnings(ProcessWeftVariables()))
    WEFT_WARN(kLogInit, "%s", w.c_str());
  return ApplyCommConfig(user, out);
}

Status InitCommunicator(weftComm_t* comm, int nranks, const UniqueIdData& id, int rank,
                        std::unique_ptr<RootServer> root, const Config& config) {
  WEFT_REQUIRE(comm != nullptr, weftInvalidArgument, "comm pointer is NULL");
  *comm = nullptr;
  WEFT_REQUIRE(nranks >= 1, weftInvalidArgument, "nranks %d must be at least 1", nranks);
  WEFT_REQUIRE(static_cast<uint32_t>(nranks) <= kMaxTagRanks, weftInvalidArgument,
               "nranks %d exceeds the limit %u", nranks, kMaxTagRanks);
  WEFT_REQUIRE(rank >= 0 && rank < nranks, weftInvalidArgument, "rank %d out of range 0..%d", rank,
               nranks - 1);
  auto handle = std::make_unique<weftComm>();
  WEFT_CHECK(Communicator::Create(config, id, nranks, rank, std::move(root), &handle->impl));
  *comm = handle.release();
  return Status::Ok();
}

}  // namespace weft

using weft::CollArgs;
using weft::CollType;
using weft::Report;
using weft::ReportFailure;
using weft::Status;

extern "C" {

weftResult_t weftGetVersion(int* version) {
  if (version == nullptr) return ReportFailure(weft::InvalidArgument("version is NULL"));
  *version = WEFT_VERSION_CODE;
  return weftSuccess;
}

const char* weftGetErrorString(weftResult_t result) {
  switch (result) {
    case weftSuccess:
      return "no error";
    case weftUnhandledCudaError:
      return "unhandled cuda error";
    case weftSystemError:
      return "unhandled system error";
    case weftInternalError:
      return "internal error";
    case weftInvalidArgument:
      return "invalid argument";
    case weftInvalidUsage:
      return "invalid usage";
    case weftRemoteError:
      return "remote process exited or there was a network error";
    case weftInProgress:
      return "operation in progress";
    case weftTimeout:
      return "operation timed out";
    default:
      return "unknown result code";
  }
}

const char* weftGetLastError(weftComm_t) {
  return weft::last_error.c_str();
}

weftResult_t weftGetUniqueId(weftUniqueId* uniqueId) {
  if (uniqueId == nullptr) return ReportFailure(weft::InvalidArgument("uniqueId is NULL"));
  weft::Config config;
  Status s = weft::Config::FromProcess(&config);
  if (s.ok() && !config.comm_id.empty()) {
    // A fixed rendezvous (WEFT_COMM_ID, NCCL_COMM_ID): every process makes the same id, and
    // rank 0's init serves the root there.
    weft::UniqueIdData data;
    s = weft::ResolveHostPort(config.comm_id, &data.root);
    if (s.ok()) s = weft::JobSecret(config, config.comm_id, &data.secret);
    if (!s.ok()) return ReportFailure(s.WithContext("weftGetUniqueId: WEFT_COMM_ID"));
    weft::EncodeUniqueId(data, uniqueId);
    return weftSuccess;
  }
  if (s.ok()) s = weft::FreshUniqueId(config, uniqueId);
  return s.ok() ? weftSuccess : ReportFailure(s.WithContext("weftGetUniqueId"));
}

extern "C++" {  // inside the C API's block, but declared for C++ (api_internal.h)
namespace weft {

Status InitRank(weftComm_t* comm, int nranks, const weftUniqueId& commId, int rank,
                const Config& config) {
  UniqueIdData id;
  Status s = DecodeUniqueId(commId, &id);
  if (!s.ok()) {
    if (comm != nullptr) *comm = nullptr;
    return s;
  }
  std::unique_ptr<RootServer> root = ClaimRoot(id.secret);
  if (root == nullptr && rank == 0 && !config.comm_id.empty()) {
    // The id names WEFT_COMM_ID's address: rank 0 serves the root there.
    sockaddr_in fixed{};
    s = ResolveHostPort(config.comm_id, &fixed);
    if (s.ok() && fixed.sin_addr.s_addr == id.root.sin_addr.s_addr &&
        fixed.sin_port == id.root.sin_port)
      s = ServeRoot(config, id, config.comm_id.substr(0, config.comm_id.rfind(':')), &root)
              .WithContext("rank 0 cannot listen on WEFT_COMM_ID " + config.comm_id);
    if (!s.ok()) {
      if (comm != nullptr) *comm = nullptr;
      return s;
    }
  }
  return InitCommunicator(comm, nranks, id, rank, std::move(root), config);
}

}  // namespace weft
}  // extern "C++"

weftResult_t weftCommInitRank(weftComm_t* comm, int nranks, weftUniqueId commId, int rank) {
  return weftCommInitRankConfig(comm, nranks, commId, rank, nullptr);
}

weftResult_t weftCommInitRankConfig(weftComm_t* comm, int nranks, weftUniqueId commId, int rank,
                                    const weftConfig_t* user) {
  const char* what = user ? "weftCommInitRankConfig" : "weftCommInitRank";
  weft::Config config;
  Status s = weft::LoadCommConfig(user, &config);
  if (s.ok()) return Report(weft::InitRank(comm, nranks, commId, rank, config).WithContext(what));
  if (comm != nullptr) *comm = nullptr;
  return ReportFailure(s.WithContext(what));
}

namespace weft {
namespace {

// weftCommShrink's arguments: flags, then the list, sorted into *excluded: in range,
// distinct, leaving at least one rank, and not naming the caller.
Status CheckShrinkArguments(const int* list, int count, int flags, int n, int rank,
                            std::vector<int32_t>* excluded) {
  WEFT_REQUIRE(flags == WEFT_SHRINK_DEFAULT || flags == WEFT_SHRINK_ABORT, weftInvalidArgument,
               "shrinkFlags %d: WEFT_SHRINK_DEFAULT (0) or WEFT_SHRINK_ABORT (1)", flags);
  WEFT_REQUIRE(count >= 0 && count < n, weftInvalidArgument,
               "excludeRanksCount %d of %d ranks (at least one must stay)", count, n);
  WEFT_REQUIRE(count == 0 || list != nullptr, weftInvalidArgument, "excludeRanksList is NULL");
  excluded->assign(list, list + count);
  std::sort(excluded->begin(), excluded->end());
  for (size_t i = 0; i < excluded->size(); ++i) {
    const int r = (*excluded)[i];
    WEFT_REQUIRE(r >= 0 && r < n, weftInvalidArgument, "excluded rank %d of %d ranks", r, n);
    WEFT_REQUIRE(i == 0 || r != (*excluded)[i - 1], weftInvalidArgument,
                 "rank %d is excluded twice", r);
  }
  WEFT_REQUIRE(!std::binary_search(excluded->begin(), excluded->end(), rank), weftInvalidUsage,
               "rank %d is in excludeRanksList: excluded ranks do not call weftCommShrink", rank);
  return Status::Ok();
}

}  // namespace
}  // namespace weft

weftResult_t weftCommShrink(weftComm_t comm, const int* excludeRanksList, int excludeRanksCount,
                            weftComm_t* newcomm, int shrinkFlags) {
  Status s = weft::CheckComm(comm);
  if (s.ok() && newcomm == nullptr) s = weft::InvalidArgument("newcomm is NULL");
  if (!s.ok()) return ReportFailure(s.WithContext("weftCommShrink"));
  *newcomm = nullptr;
  const int n = comm->impl->nranks(), rank = comm->impl->rank();
  std::vector<int32_t> excluded;
  s = weft::CheckShrinkArguments(excludeRanksList, excludeRanksCount, shrinkFlags, n, rank,
                                 &excluded);
  if (!s.ok()) return ReportFailure(s.WithContext("weftCommShrink"));
  // The lowest rank left (the new rank 0) makes the new communicator's unique id, so its
  // bootstrap root lives with a rank that is in it; the round hands the id to the others.
  // If it cannot, it still takes part, with nothing, so that the others fail at once too.
  const int leader = weft::LowestRankLeft(excluded);
  weftUniqueId id{};
  std::vector<uint8_t> mine;
  Status made;
  if (rank == leader) {
    // A root of its own, never WEFT_COMM_ID's address: that belongs to the first communicator.
    made = weft::FreshUniqueId(&id);
    if (made.ok()) {
      const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&id);
      mine.assign(bytes, bytes + sizeof(id));
    } else {
      made = made.WithContext("a unique id for the new communicator");
    }
  }
  std::vector<std::vector<uint8_t>> all;
  s = comm->impl->ShrinkRound(excluded, shrinkFlags == WEFT_SHRINK_ABORT, mine, &all);
  if (s.ok()) s = made;
  if (s.ok() && all[static_cast<size_t>(leader)].size() != sizeof(id))
    s = weft::RemoteError(weft::Format(
        "rank %d (the lowest rank left) could not make the new communicator's unique id", leader));
  if (!s.ok()) {
    weft::UniqueIdData unused;  // the leader: stop the root it started for nothing
    if (!mine.empty() && weft::DecodeUniqueId(id, &unused).ok())
      weft::ClaimRoot(unused.secret).reset();
    return ReportFailure(s.WithContext("weftCommShrink"));
  }
  std::memcpy(&id, all[static_cast<size_t>(leader)].data(), sizeof(id));
  const int below =
      static_cast<int>(std::lower_bound(excluded.begin(), excluded.end(), rank) - excluded.begin());
  const int new_n = n - excludeRanksCount;
  // The new communicator keeps the parent's settings (a weftConfig_t's included).
  weftResult_t r = Report(weft::InitRank(newcomm, new_n, id, rank - below, comm->impl->config()));
  if (r != weftSuccess)
    weft::last_error = "weftCommShrink: the new communicator of " + std::to_string(new_n) +
                       " ranks: " + weft::last_error;
  return r;
}

weftResult_t weftCommSplit(weftComm_t comm, int color, int key, weftComm_t* newcomm,
                           const weftConfig_t* config) {
  Status s = weft::CheckComm(comm);
  if (s.ok() && newcomm == nullptr) s = weft::InvalidArgument("newcomm is NULL");
  if (!s.ok()) return ReportFailure(s.WithContext("weftCommSplit"));
  *newcomm = nullptr;
  weft::Config settings = comm->impl->config();
  if (config != nullptr && !(s = weft::LoadCommConfig(config, &settings)).ok())
    return ReportFailure(s.WithContext("weftCommSplit"));
  // The parent's all-gathers are calls of the API, after the parent's queued device work.
  auto all_gather = [comm](const void* mine, void* all, size_t bytes) {
    const weftResult_t r = weftAllGather(mine, all, bytes, weftUint8, comm, nullptr);
    return r == weftSuccess ? Status::Ok() : Status(r, weftGetLastError(comm));
  };
  s = weft::SplitComm(all_gather, comm->impl->nranks(), comm->impl->rank(), color, key, settings,
                      newcomm);
  return Report(s.WithContext("weftCommSplit"));
}

weftResult_t weftCommRevoke(weftComm_t comm, int revokeFlags) {
  Status s = weft::CheckComm(comm);
  if (s.ok() && revokeFlags != WEFT_REVOKE_DEFAULT)
    s = weft::InvalidArgument(
        weft::Format("revokeFlags %d: WEFT_REVOKE_DEFAULT (0) is the only one", revokeFlags));
  if (!s.ok()) return ReportFailure(s.WithContext("weftCommRevoke"));
  comm->impl->Revoke();
  return weftSuccess;
}

weftResult_t weftCommDestroy(weftComm_t comm) {
  if (comm == nullptr) return weftSuccess;  // as NCCL: destroying NULL is a no-op
  Status s = weft::CheckComm(comm);
  if (!s.ok()) return ReportFailure(s);
  if (const uint64_t quiet = comm->impl->quiet_failures())
    WEFT_INFO(kLogColl,
              "weftCommDestroy: %llu failed calls were logged at INFO only (after the "
              "first, or repeating it)",
              static_cast<unsigned long long>(quiet));
  s = comm->impl->Destroy();
  comm->magic = 0;
  comm->impl.reset();
  delete comm;
  return Report(s.WithContext("weftCommDestroy"));
}

weftResult_t weftMemAlloc(void** ptr, size_t size) {
  return Report(weft::AllocateSharedBuffer(size, ptr).WithContext("weftMemAlloc"));
}

weftResult_t weftMemFree(void* ptr) {
  return Report(weft::FreeSharedBuffer(ptr).WithContext("weftMemFree"));
}

weftResult_t weftCommRegister(const weftComm_t comm, void* buff, size_t size, void** handle) {
  Status s = weft::CheckComm(comm);
  if (!s.ok()) return ReportFailure(s);
  return Report(comm->impl->Register(buff, size, handle).WithContext("weftCommRegister"));
}

weftResult_t weftCommDeregister(const weftComm_t comm, void* handle) {
  Status s = weft::CheckComm(comm);
  if (!s.ok()) return ReportFailure(s);
  return Report(comm->impl->Deregister(handle).WithContext("weftCommDeregister"));
}

// A window: its communicator and the device engine's slot (-1: mapped nowhere).
struct weftWindow {
  weftComm_t comm;
  int slot;
};

weftResult_t weftCommWindowRegister(weftComm_t comm, void* buff, size_t size, weftWindow_t* win,
                                    int winFlags) {
  Status s = weft::CheckComm(comm);
  if (!s.ok()) return ReportFailure(s);
  if (win == nullptr)
    return ReportFailure(weft::InvalidArgument("weftCommWindowRegister: win is NULL"));
  *win = nullptr;
  if ((winFlags & ~WEFT_WIN_COLL_SYMMETRIC) != 0)
    return ReportFailure(weft::InvalidArgument(
        weft::Format("weftCommWindowRegister: unknown flags 0x%x", winFlags)));
  int slot = -1;
  s = comm->impl->RegisterWindow(buff, size, &slot);
  if (!s.ok()) return Report(s.WithContext("weftCommWindowRegister"));
  *win = new weftWindow{comm, slot};
  return weftSuccess;
}

weftResult_t weftCommWindowDeregister(weftComm_t comm, weftWindow_t win) {
  Status s = weft::CheckComm(comm);
  if (!s.ok()) return ReportFailure(s);
  if (win == nullptr || win->comm != comm)
    return ReportFailure(
        weft::InvalidArgument("weftCommWindowDeregister: not a window of this communicator"));
  s = comm->impl->DeregisterWindow(win->slot);
  delete win;
  return Report(s.WithContext("weftCommWindowDeregister"));
}

weftResult_t weftCommAbort(weftComm_t comm) {
  if (comm == nullptr) return weftSuccess;
  Status s = weft::CheckComm(comm);
  if (!s.ok()) return ReportFailure(s);
  comm->impl->Abort();
  comm->magic = 0;
  comm->impl.reset();
  delete comm;
  return weftSuccess;
}

weftResult_t weftCommGetAsyncError(weftComm_t comm, weftResult_t* asyncError) {
  Status s = weft::CheckComm(comm);
  if (s.ok() && asyncError == nullptr) s = weft::InvalidArgument("asyncError is NULL");
  if (!s.ok()) return ReportFailure(s);
  Status e = comm->impl->AsyncError();
  *asyncError = e.code();
  if (!e.ok()) weft::last_error = e.message();
  return weftSuccess;
}

weftResult_t weftCommCount(const weftComm_t comm, int* count) {
  Status s = weft::CheckComm(comm);
  if (s.ok() && count == nullptr) s = weft::InvalidArgument("count is NULL");
  if (!s.ok()) return ReportFailure(s);
  *count = comm->impl->nranks();
  return weftSuccess;
}

weftResult_t weftCommUserRank(const weftComm_t comm, int* rank) {
  Status s = weft::CheckComm(comm);
  if (s.ok() && rank == nullptr) s = weft::InvalidArgument("rank is NULL");
  if (!s.ok()) return ReportFailure(s);
  *rank = comm->impl->rank();
  return weftSuccess;
}

weftResult_t weftRedOpCreatePreMulSum(weftRedOp_t* op, void* scalar, weftDataType_t datatype,
                                      weftScalarResidence_t residence, weftComm_t comm) {
  Status s = weft::CheckComm(comm);
  const int where = static_cast<int>(residence);
  if (s.ok() && (op == nullptr || scalar == nullptr))
    s = weft::InvalidArgument("weftRedOpCreatePreMulSum: op or scalar is NULL");
  if (s.ok() && !weft::ValidType(datatype))
    s = weft::InvalidArgument(
        weft::Format("weftRedOpCreatePreMulSum: invalid datatype %d", static_cast<int>(datatype)));
  if (s.ok() && where != weftScalarDevice && where != weftScalarHostImmediate)
    s = weft::InvalidArgument(
        weft::Format("weftRedOpCreatePreMulSum: invalid scalar residence %d", where));
  if (!s.ok()) return ReportFailure(s);
  weft::PreMulSum p;
  p.type = datatype;
  p.device_scalar = where == weftScalarDevice;
  if (p.device_scalar) {
    // Read at each collective, as NCCL does (the scalar may be written on the stream first).
    if (!weft::LocateBuffer(scalar).device)
      return ReportFailure(weft::InvalidArgument(
          "weftRedOpCreatePreMulSum: weftScalarDevice needs a scalar in device memory "
          "(weftScalarHostImmediate reads one in host memory)"));
    p.device_ptr = scalar;
  } else {
    std::memcpy(p.value.data(), scalar, weft::TypeSize(datatype));
  }
  return Report(comm->impl->user_ops().Create(p, op).WithContext("weftRedOpCreatePreMulSum"));
}

weftResult_t weftRedOpDestroy(weftRedOp_t op, weftComm_t comm) {
  Status s = weft::CheckComm(comm);
  if (!s.ok()) return ReportFailure(s);
  if (!weft::UserOps::IsUserOp(op))
    return ReportFailure(
        weft::InvalidArgument(weft::Format("weftRedOpDestroy: op %d is built in, not created by "
                                           "weftRedOpCreatePreMulSum",
                                           static_cast<int>(op))));
  return Report(comm->impl->user_ops().Destroy(op).WithContext("weftRedOpDestroy"));
}

weftResult_t weftAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           weftDataType_t datatype, weftRedOp_t op, weftComm_t comm, void* stream) {
  CollArgs a{CollType::kAllReduce, sendbuff, recvbuff, count, datatype, op, 0, stream};
  return weft::Issue("weftAllReduce", comm, a);
}

weftResult_t weftAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                           weftDataType_t datatype, weftComm_t comm, void* stream) {
  CollArgs a{CollType::kAllGather, sendbuff, recvbuff, sendcount, datatype, weftSum, 0, stream};
  return weft::Issue("weftAllGather", comm, a);
}

weftResult_t weftReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                               weftDataType_t datatype, weftRedOp_t op, weftComm_t comm,
                               void* stream) {
  CollArgs a{CollType::kReduceScatter, sendbuff, recvbuff, recvcount, datatype, op, 0, stream};
  return weft::Issue("weftReduceScatter", comm, a);
}

weftResult_t weftBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                           weftDataType_t datatype, int root, weftComm_t comm, void* stream) {
  CollArgs a{CollType::kBroadcast, sendbuff, recvbuff, count, datatype, weftSum, root, stream};
  return weft::Issue("weftBroadcast", comm, a);
}

weftResult_t weftReduce(const void* sendbuff, void* recvbuff, size_t count, weftDataType_t datatype,
                        weftRedOp_t op, int root, weftComm_t comm, void* stream) {
  CollArgs a{CollType::kReduce, sendbuff, recvbuff, count, datatype, op, root, stream};
  return weft::Issue("weftReduce", comm, a);
}

weftResult_t weftSend(const void* sendbuff, size_t count, weftDataType_t datatype, int peer,
                      weftComm_t comm, void* stream) {
  weft::P2PArgs a{true, const_cast<void*>(sendbuff), count, datatype, peer, stream};
  return weft::IssueP2P("weftSend", comm, a);
}

weftResult_t weftRecv(void* recvbuff, size_t count, weftDataType_t datatype, int peer,
                      weftComm_t comm, void* stream) {
  weft::P2PArgs a{false, recvbuff, count, datatype, peer, stream};
  return weft::IssueP2P("weftRecv", comm, a);
}

}  // extern "C"
