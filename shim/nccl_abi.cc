// libnccl.so.2 on top of Weft: NCCL's C ABI, so that a program built against NCCL (PyTorch,
// JAX, nccl-tests) runs on Weft by finding this library first (LD_LIBRARY_PATH or
// LD_PRELOAD). It is compiled against NCCL's own nccl.h, so every signature here is checked
// against NCCL's. Weft's types, ops, results and unique id already have NCCL's values and
// sizes (include/weft/weft.h), so most calls forward as they are; what this layer adds:
//  * ncclComm_t points to a small struct that holds the Weft communicator and the CUDA
//    device the communicator was created on (ncclCommCuDevice);
//  * several ranks of one process initialized together (ncclCommInitAll, or inits inside
//    a group) and destroyed from one thread (shim_comm.h);
//  * all-to-all, gather and scatter are groups of Weft sends and receives;
//  * ncclMemAlloc is cudaMalloc, and windows are Weft's (weftCommWindowRegister);
//  * what Weft does not do (the device API of nccl_device.h, in nccl_device_api.cc) fails
//    with ncclInvalidUsage and says so in ncclGetLastError, never silently. Every function NCCL's
//    library exports exists, so a program that links them all still loads
//    (tests/shim/exports_match_nccl.sh).
#include <nccl.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "collectives/api_internal.h"
#include "collectives/device/device_engine.h"
#include "common/dtype.h"
#include "shim/nccl_env.h"
#include "shim/shim_comm.h"
#include "weft/weft.h"

namespace {

// NCCL's variables are read where Weft's own are unset (shim/nccl_env.h), from the moment
// the library is loaded, before any call can read a setting.
__attribute__((constructor)) void HonourNcclEnvironment() {
  weft::SetEnvFallback(weft_shim::ProcessNcclFallback);
}

static_assert(sizeof(ncclUniqueId) == sizeof(weftUniqueId), "unique ids differ in size");
static_assert(sizeof(ncclDataType_t) == sizeof(int) && sizeof(ncclRedOp_t) == sizeof(int),
              "NCCL enums are int-sized");
static_assert(static_cast<int>(ncclInt8) == weftInt8 && static_cast<int>(ncclUint8) == weftUint8 &&
                  static_cast<int>(ncclInt32) == weftInt32 &&
                  static_cast<int>(ncclUint32) == weftUint32 &&
                  static_cast<int>(ncclInt64) == weftInt64 &&
                  static_cast<int>(ncclUint64) == weftUint64 &&
                  static_cast<int>(ncclFloat16) == weftFloat16 &&
                  static_cast<int>(ncclFloat32) == weftFloat32 &&
                  static_cast<int>(ncclFloat64) == weftFloat64 &&
                  static_cast<int>(ncclBfloat16) == weftBfloat16 &&
                  static_cast<int>(ncclFloat8e4m3) == weftFloat8e4m3 &&
                  static_cast<int>(ncclFloat8e5m2) == weftFloat8e5m2 &&
                  static_cast<int>(ncclNumTypes) == weftNumTypes,
              "data types differ");
static_assert(static_cast<int>(ncclSum) == weftSum && static_cast<int>(ncclProd) == weftProd &&
                  static_cast<int>(ncclMax) == weftMax && static_cast<int>(ncclMin) == weftMin &&
                  static_cast<int>(ncclAvg) == weftAvg &&
                  static_cast<int>(ncclNumOps) == weftNumOps,
              "reduction ops differ");
static_assert(static_cast<int>(ncclInvalidArgument) == weftInvalidArgument &&
                  static_cast<int>(ncclInvalidUsage) == weftInvalidUsage &&
                  static_cast<int>(ncclRemoteError) == weftRemoteError &&
                  static_cast<int>(ncclInProgress) == weftInProgress,
              "result codes differ");

// NCCL has no timeout result: a peer that stopped answering is a remote error to it.
ncclResult_t ToNccl(weftResult_t r) {
  return r == weftTimeout ? ncclRemoteError : static_cast<ncclResult_t>(r);
}

ncclResult_t Fail(weftResult_t code, const std::string& message) {
  return ToNccl(weft::ReportFailure(weft::Status(code, message)));
}

ncclResult_t Unsupported(const char* what) {
  return Fail(weftInvalidUsage, std::string(what) + " is not supported by Weft's NCCL interface");
}

// The Weft communicator behind `comm` in *out, or the reason there is none (a NULL or
// destroyed handle, or one whose initialization is pending or failed), reported.
ncclResult_t Weft(const ncclComm* comm, const char* fn, weftComm_t* out) {
  if (comm == nullptr || comm->magic != ncclComm::kMagic)
    return Fail(weftInvalidArgument, std::string(fn) + ": communicator is NULL or not valid");
  if (comm->weft == nullptr)
    return Fail(weftInvalidUsage, std::string(fn) +
                                      ": communicator not initialized (its ncclGroupEnd has "
                                      "not run, or its initialization failed)");
  *out = comm->weft;
  return ncclSuccess;
}

#define WEFT_NCCL_COMM(var, comm, fn) \
  weftComm_t var = nullptr;           \
  if (const ncclResult_t bad_ = Weft(comm, fn, &var); bad_ != ncclSuccess) return bad_

// nccl.h's enums have no fixed underlying type, so reading one that holds a value outside
// them (a caller may pass any int) is undefined in C++: their bytes are read instead, and
// Weft's enums (int-based in C++) take any value and reject unknown ones.
weftDataType_t ToWeft(const ncclDataType_t& type) {
  int raw;
  std::memcpy(&raw, &type, sizeof(raw));
  return static_cast<weftDataType_t>(raw);
}

weftRedOp_t ToWeft(const ncclRedOp_t& op) {
  int raw;
  std::memcpy(&raw, &op, sizeof(raw));
  return static_cast<weftRedOp_t>(raw);
}

weftUniqueId ToWeft(const ncclUniqueId& id) {
  weftUniqueId w;
  std::memcpy(&w, &id, sizeof(w));
  return w;
}

ncclResult_t Wrap(weftComm_t w, int device, ncclComm_t* out) {
  *out = new ncclComm();
  (*out)->weft = w;
  (*out)->device = device;
  return ncclSuccess;
}

// Allocates the handle at once (as NCCL does); initializes now, or at the group's end.
ncclResult_t InitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank, int device) {
  if (comm == nullptr) return Fail(weftInvalidArgument, "ncclCommInitRank: comm is NULL");
  weft_shim::InitRequest request;
  request.comm = new ncclComm();
  request.comm->device = device;
  request.nranks = nranks;
  request.id = ToWeft(id);
  request.rank = rank;
  *comm = request.comm;
  if (weft_shim::InGroup()) {
    weft_shim::DeferInit(request);
    return ncclSuccess;
  }
  const weftResult_t r = weft_shim::InitTogether({request});
  if (r != weftSuccess) {
    delete request.comm;
    *comm = nullptr;
  }
  return ToNccl(r);
}

bool ValidHandle(ncclComm_t comm, const char* fn) {
  if (comm->magic == ncclComm::kMagic) return true;
  Fail(weftInvalidArgument, std::string(fn) + ": communicator is not valid");
  return false;
}

// All-to-all, gather and scatter are groups of sends and receives, as NCCL builds them.
// Block q of a buffer is count elements at q * count.
const std::byte* Block(const void* buf, size_t q, size_t count, ncclDataType_t type) {
  return static_cast<const std::byte*>(buf) + q * count * weft::TypeSize(ToWeft(type));
}
std::byte* Block(void* buf, size_t q, size_t count, ncclDataType_t type) {
  return static_cast<std::byte*>(buf) + q * count * weft::TypeSize(ToWeft(type));
}

// Runs `ops` (sends and receives on w) as one group; the first failure wins.
template <typename Ops>
ncclResult_t Grouped(Ops ops) {
  weftResult_t r = weftGroupStart();
  if (r != weftSuccess) return ToNccl(r);
  const weftResult_t issued = ops();
  const weftResult_t ended = weftGroupEnd();
  return ToNccl(issued != weftSuccess ? issued : ended);
}

bool ValidType(ncclDataType_t type, const char* fn) {
  if (weft::ValidType(ToWeft(type))) return true;
  Fail(weftInvalidArgument, std::string(fn) + ": invalid datatype");
  return false;
}

}  // namespace

extern "C" {

ncclResult_t ncclGetVersion(int* version) {
  // The NCCL version whose ABI this library implements: callers enable features by it.
  if (version == nullptr) return Fail(weftInvalidArgument, "ncclGetVersion: version is NULL");
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  return weftGetErrorString(static_cast<weftResult_t>(result));
}

const char* ncclGetLastError(ncclComm_t comm) {
  return weftGetLastError(comm != nullptr ? comm->weft : nullptr);
}

void ncclResetDebugInit() {}  // Weft reads WEFT_DEBUG once per communicator

ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId) {
  if (uniqueId == nullptr) return Fail(weftInvalidArgument, "ncclGetUniqueId: uniqueId is NULL");
  weftUniqueId w;
  const weftResult_t r = weftGetUniqueId(&w);
  if (r == weftSuccess) std::memcpy(uniqueId, &w, sizeof(w));
  return ToNccl(r);
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank) {
  return InitRank(comm, nranks, commId, rank, weft::CurrentCudaDevice());
}

// The configuration tunes NCCL's kernels (CTAs, clusters, net name); Weft has its own
// WEFT_* variables, so it is accepted and ignored, and communicators are always blocking
// (a non-blocking caller that polls ncclCommGetAsyncError sees ncclSuccess at once).
ncclResult_t ncclCommInitRankConfig(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank,
                                    ncclConfig_t*) {
  return ncclCommInitRank(comm, nranks, commId, rank);
}

ncclResult_t ncclCommInitRankScalable(ncclComm_t* newcomm, int nranks, int myrank, int nId,
                                      ncclUniqueId* commIds, ncclConfig_t*) {
  // Several ids spread NCCL's bootstrap over several roots; Weft's needs one.
  if (nId < 1 || commIds == nullptr)
    return Fail(weftInvalidArgument, "ncclCommInitRankScalable: no unique id given");
  return ncclCommInitRank(newcomm, nranks, commIds[0], myrank);
}

// One communicator per listed device in this process, initialized together (shim_comm.h).
ncclResult_t ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist) {
  if (comms == nullptr || ndev < 1)
    return Fail(weftInvalidArgument, "ncclCommInitAll: comms is NULL or ndev < 1");
  weftUniqueId id;
  const weftResult_t got = weftGetUniqueId(&id);
  if (got != weftSuccess) return ToNccl(got);
  std::vector<weft_shim::InitRequest> requests(static_cast<size_t>(ndev));
  for (int i = 0; i < ndev; ++i) {
    requests[i].comm = new ncclComm();
    requests[i].comm->device = devlist != nullptr ? devlist[i] : i;
    requests[i].nranks = ndev;
    requests[i].id = id;
    requests[i].rank = i;
  }
  const weftResult_t r = weft_shim::InitTogether(requests);
  for (int i = 0; i < ndev; ++i) {
    if (r != weftSuccess) delete requests[i].comm;
    comms[i] = r == weftSuccess ? requests[i].comm : nullptr;
  }
  return ToNccl(r);
}

// weftCommSplit's; the config's fields are not Weft's settings (WEFT_* variables are), so
// the new communicator inherits the parent's.
static_assert(NCCL_SPLIT_NOCOLOR == WEFT_SPLIT_NOCOLOR, "NOCOLOR differs");
ncclResult_t ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t* newcomm,
                           ncclConfig_t*) {
  WEFT_NCCL_COMM(parent, comm, "ncclCommSplit");
  if (newcomm == nullptr) return Fail(weftInvalidArgument, "ncclCommSplit: newcomm is NULL");
  *newcomm = nullptr;
  weftComm_t w = nullptr;
  const weftResult_t r = weftCommSplit(parent, color, key, &w, nullptr);
  if (r != weftSuccess || w == nullptr) return ToNccl(r);
  return Wrap(w, comm->device, newcomm);
}

// The flags have NCCL's values; a NULL config inherits the parent's, as Weft's does (a
// config's fields are not Weft's settings: WEFT_* variables are).
static_assert(NCCL_SHRINK_DEFAULT == WEFT_SHRINK_DEFAULT && NCCL_SHRINK_ABORT == WEFT_SHRINK_ABORT,
              "shrink flags");
ncclResult_t ncclCommShrink(ncclComm_t comm, int* excludeRanksList, int excludeRanksCount,
                            ncclComm_t* newcomm, ncclConfig_t*, int shrinkFlags) {
  WEFT_NCCL_COMM(parent, comm, "ncclCommShrink");
  if (newcomm == nullptr) return Fail(weftInvalidArgument, "ncclCommShrink: newcomm is NULL");
  *newcomm = nullptr;
  weftComm_t w = nullptr;
  const weftResult_t r =
      weftCommShrink(parent, excludeRanksList, excludeRanksCount, &w, shrinkFlags);
  if (r != weftSuccess) return ToNccl(r);
  return Wrap(w, comm->device, newcomm);
}

#ifdef NCCL_REVOKE_DEFAULT  // nccl.h of 2.28 releases before ncclCommRevoke lack it
static_assert(NCCL_REVOKE_DEFAULT == WEFT_REVOKE_DEFAULT, "revoke flags");
#endif
ncclResult_t ncclCommRevoke(ncclComm_t comm, int revokeFlags) {
  WEFT_NCCL_COMM(w, comm, "ncclCommRevoke");
  return ToNccl(weftCommRevoke(w, revokeFlags));
}

// Weft's destroy waits for outstanding work and the peers itself.
ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  WEFT_NCCL_COMM(w, comm, "ncclCommFinalize");
  (void)w;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (comm == nullptr) return ncclSuccess;
  if (!ValidHandle(comm, "ncclCommDestroy")) return ncclInvalidArgument;
  return ToNccl(weft_shim::Destroy(comm));
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (comm == nullptr) return ncclSuccess;
  if (!ValidHandle(comm, "ncclCommAbort")) return ncclInvalidArgument;
  return ToNccl(weft_shim::Abort(comm));
}

// A communicator still initializing (inside a group) reports ncclInProgress, as NCCL's
// non-blocking ones do; one whose initialization failed reports that failure.
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* asyncError) {
  if (comm == nullptr || comm->magic != ncclComm::kMagic)
    return Fail(weftInvalidArgument, "ncclCommGetAsyncError: communicator is NULL or not valid");
  if (asyncError == nullptr)
    return Fail(weftInvalidArgument, "ncclCommGetAsyncError: asyncError is NULL");
  if (comm->weft == nullptr) {
    *asyncError = ToNccl(comm->init_result);
    return ncclSuccess;
  }
  weftResult_t e = weftSuccess;
  const weftResult_t r = weftCommGetAsyncError(comm->weft, &e);
  *asyncError = ToNccl(e);
  return ToNccl(r);
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  WEFT_NCCL_COMM(w, comm, "ncclCommCount");
  return ToNccl(weftCommCount(w, count));
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  WEFT_NCCL_COMM(w, comm, "ncclCommUserRank");
  return ToNccl(weftCommUserRank(w, rank));
}

ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  WEFT_NCCL_COMM(w, comm, "ncclCommCuDevice");
  (void)w;
  if (device == nullptr) return Fail(weftInvalidArgument, "ncclCommCuDevice: device is NULL");
  if (comm->device < 0) return Fail(weftInvalidUsage, "ncclCommCuDevice: no CUDA device");
  *device = comm->device;
  return ncclSuccess;
}

// Registration is a hint to NCCL; Weft finds a buffer's memory type at each call.
ncclResult_t ncclCommRegister(const ncclComm_t comm, void* buff, size_t, void** handle) {
  WEFT_NCCL_COMM(w, comm, "ncclCommRegister");
  (void)w;
  if (handle == nullptr) return Fail(weftInvalidArgument, "ncclCommRegister: handle is NULL");
  *handle = buff;
  return ncclSuccess;
}

ncclResult_t ncclCommDeregister(const ncclComm_t comm, void*) {
  WEFT_NCCL_COMM(w, comm, "ncclCommDeregister");
  (void)w;
  return ncclSuccess;
}

// Windows are Weft's (weftCommWindowRegister): collective, device memory of one allocation;
// the collectives' kernels read a window where it lies. The handle is Weft's window itself.
// (NCCL's device API on windows, nccl_device.h, is not provided: nccl_device_api.cc.)
ncclResult_t ncclCommWindowRegister(ncclComm_t comm, void* buff, size_t size, ncclWindow_t* win,
                                    int winFlags) {
  WEFT_NCCL_COMM(w, comm, "ncclCommWindowRegister");
  if (win == nullptr) return Fail(weftInvalidArgument, "ncclCommWindowRegister: win is NULL");
  weftWindow_t made = nullptr;
  const ncclResult_t r = ToNccl(weftCommWindowRegister(w, buff, size, &made, winFlags));
  *win = reinterpret_cast<ncclWindow_t>(made);
  return r;
}

ncclResult_t ncclCommWindowDeregister(ncclComm_t comm, ncclWindow_t win) {
  WEFT_NCCL_COMM(w, comm, "ncclCommWindowDeregister");
  return ToNccl(weftCommWindowDeregister(w, reinterpret_cast<weftWindow_t>(win)));
}

// Device memory on the current device, one cudaMalloc allocation per call: CUDA IPC shares
// it, and it holds a whole window. (NCCL's cuMem allocation also suits NVLink SHARP, which
// Weft does not use.)
ncclResult_t ncclMemAlloc(void** ptr, size_t size) {
  if (ptr == nullptr || size == 0)
    return Fail(weftInvalidArgument,
                weft::Format("ncclMemAlloc: ptr %p, size %zu", static_cast<void*>(ptr), size));
  return ToNccl(weft::Report(weft::AllocateDeviceMemory(size, ptr).WithContext("ncclMemAlloc")));
}

ncclResult_t ncclMemFree(void* ptr) {
  return ToNccl(weft::Report(weft::FreeDeviceMemory(ptr).WithContext("ncclMemFree")));
}

ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t* op, void* scalar, ncclDataType_t datatype,
                                      ncclScalarResidence_t residence, ncclComm_t comm) {
  WEFT_NCCL_COMM(w, comm, "ncclRedOpCreatePreMulSum");
  if (op == nullptr) return Fail(weftInvalidArgument, "ncclRedOpCreatePreMulSum: op is NULL");
  int where;
  std::memcpy(&where, &residence, sizeof(where));
  weftRedOp_t created;
  const ncclResult_t r = ToNccl(weftRedOpCreatePreMulSum(
      &created, scalar, ToWeft(datatype), static_cast<weftScalarResidence_t>(where), w));
  // Weft numbers its ops as NCCL does (from ncclNumOps up), within ncclRedOp_t's range.
  if (r == ncclSuccess) *op = static_cast<ncclRedOp_t>(static_cast<int>(created));
  return r;
}

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t comm) {
  WEFT_NCCL_COMM(w, comm, "ncclRedOpDestroy");
  return ToNccl(weftRedOpDestroy(ToWeft(op), w));
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclAllReduce");
  return ToNccl(weftAllReduce(sendbuff, recvbuff, count, ToWeft(datatype), ToWeft(op), w, stream));
}

ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                           ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclAllGather");
  return ToNccl(weftAllGather(sendbuff, recvbuff, sendcount, ToWeft(datatype), w, stream));
}

ncclResult_t ncclReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                               ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                               cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclReduceScatter");
  return ToNccl(
      weftReduceScatter(sendbuff, recvbuff, recvcount, ToWeft(datatype), ToWeft(op), w, stream));
}

ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclBroadcast");
  return ToNccl(weftBroadcast(sendbuff, recvbuff, count, ToWeft(datatype), root, w, stream));
}

// The legacy in-place broadcast.
ncclResult_t ncclBcast(void* buff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm,
                       cudaStream_t stream) {
  return ncclBroadcast(buff, buff, count, datatype, root, comm, stream);
}

ncclResult_t ncclReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                        ncclRedOp_t op, int root, ncclComm_t comm, cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclReduce");
  return ToNccl(
      weftReduce(sendbuff, recvbuff, count, ToWeft(datatype), ToWeft(op), root, w, stream));
}

ncclResult_t ncclAlltoAll(const void* sendbuff, void* recvbuff, size_t count,
                          ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclAlltoAll");
  if (!ValidType(datatype, "ncclAlltoAll")) return ncclInvalidArgument;
  int n = 0;
  weftCommCount(w, &n);
  return Grouped([&]() -> weftResult_t {
    for (int q = 0; q < n; ++q) {
      weftResult_t r =
          weftSend(Block(sendbuff, q, count, datatype), count, ToWeft(datatype), q, w, stream);
      if (r == weftSuccess)
        r = weftRecv(Block(recvbuff, q, count, datatype), count, ToWeft(datatype), q, w, stream);
      if (r != weftSuccess) return r;
    }
    return weftSuccess;
  });
}

ncclResult_t ncclGather(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype,
                        int root, ncclComm_t comm, cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclGather");
  if (!ValidType(datatype, "ncclGather")) return ncclInvalidArgument;
  int n = 0, me = 0;
  weftCommCount(w, &n);
  weftCommUserRank(w, &me);
  return Grouped([&]() -> weftResult_t {
    weftResult_t r = weftSend(sendbuff, count, ToWeft(datatype), root, w, stream);
    for (int q = 0; r == weftSuccess && me == root && q < n; ++q)
      r = weftRecv(Block(recvbuff, q, count, datatype), count, ToWeft(datatype), q, w, stream);
    return r;
  });
}

ncclResult_t ncclScatter(const void* sendbuff, void* recvbuff, size_t count,
                         ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclScatter");
  if (!ValidType(datatype, "ncclScatter")) return ncclInvalidArgument;
  int n = 0, me = 0;
  weftCommCount(w, &n);
  weftCommUserRank(w, &me);
  return Grouped([&]() -> weftResult_t {
    weftResult_t r = weftSuccess;
    for (int q = 0; r == weftSuccess && me == root && q < n; ++q)
      r = weftSend(Block(sendbuff, q, count, datatype), count, ToWeft(datatype), q, w, stream);
    if (r == weftSuccess) r = weftRecv(recvbuff, count, ToWeft(datatype), root, w, stream);
    return r;
  });
}

ncclResult_t ncclSend(const void* sendbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclSend");
  return ToNccl(weftSend(sendbuff, count, ToWeft(datatype), peer, w, stream));
}

ncclResult_t ncclRecv(void* recvbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  WEFT_NCCL_COMM(w, comm, "ncclRecv");
  return ToNccl(weftRecv(recvbuff, count, ToWeft(datatype), peer, w, stream));
}

ncclResult_t ncclGroupStart() {
  weft_shim::GroupStart();
  return ToNccl(weftGroupStart());
}

// Deferred initializations first: collectives of the same group may use those communicators.
ncclResult_t ncclGroupEnd() {
  const weftResult_t inits = weft_shim::GroupEnd();
  const weftResult_t collectives = weftGroupEnd();
  return ToNccl(inits != weftSuccess ? inits : collectives);
}

ncclResult_t ncclGroupSimulateEnd(ncclSimInfo_t*) {
  return Unsupported("ncclGroupSimulateEnd");
}

}  // extern "C"
