/*
 * Weft: a collective communication library for multi-node training.
 *
 * The API has NCCL's shape: the same functions, argument order, enum values and a 128-byte
 * unique id, with the `weft` prefix. Buffers may be host or device memory. With host buffers
 * and a NULL stream every collective returns when its result is in the receive buffer.
 *
 * Threads. Different communicators may be used from different threads at once (a process
 * may hold one per thread: thread-ranks). One communicator is used by one thread at a time:
 * its calls (collectives, sends and receives, group ends, registrations, shrink, destroy)
 * may come from different threads one after another, never overlapping; a call that
 * overlaps another on the same communicator fails with weftInvalidUsage and does nothing,
 * rather than pairing calls with the peers' in an order no one chose. Meant for another
 * thread, and safe while a call runs: weftCommRevoke, weftCommAbort, weftCommGetAsyncError,
 * weftCommCount, weftCommUserRank, weftGetLastError (whose text is per thread). Groups
 * (weftGroupStart/End) are per thread. weftGetUniqueId and weftCommInit* may run on any
 * threads at once.
 */
#ifndef WEFT_WEFT_H_
#define WEFT_WEFT_H_

#include <limits.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_MAJOR 0
#define WEFT_MINOR 1
#define WEFT_PATCH 0
#define WEFT_VERSION_CODE (WEFT_MAJOR * 10000 + WEFT_MINOR * 100 + WEFT_PATCH)

#define WEFT_UNIQUE_ID_BYTES 128

/* C++ sees the enums below with int as their fixed underlying type: a caller may pass any
 * int (C does), and Weft rejects an unknown value with weftInvalidArgument rather than
 * reading an out-of-range enum, which C++ leaves undefined. Same size and values in C. */
#ifdef __cplusplus
#define WEFT_ENUM_BASE : int
#else
#define WEFT_ENUM_BASE
#endif

/* Opaque communicator handle. */
typedef struct weftComm* weftComm_t;

/* Produced by weftGetUniqueId on one process and shipped to every rank out of band. */
typedef struct {
  char internal[WEFT_UNIQUE_ID_BYTES];
} weftUniqueId;

/* Result codes; values equal NCCL's. */
typedef enum WEFT_ENUM_BASE {
  weftSuccess = 0,
  weftUnhandledCudaError = 1,
  weftSystemError = 2,
  weftInternalError = 3,
  weftInvalidArgument = 4,
  weftInvalidUsage = 5,
  weftRemoteError = 6,
  weftInProgress = 7,
  weftTimeout = 8,
  weftNumResults = 9
} weftResult_t;

/* Data types; values equal NCCL's. */
typedef enum WEFT_ENUM_BASE {
  weftInt8 = 0,
  weftChar = 0,
  weftUint8 = 1,
  weftInt32 = 2,
  weftInt = 2,
  weftUint32 = 3,
  weftInt64 = 4,
  weftUint64 = 5,
  weftFloat16 = 6,
  weftHalf = 6,
  weftFloat32 = 7,
  weftFloat = 7,
  weftFloat64 = 8,
  weftDouble = 8,
  weftBfloat16 = 9,
  weftFloat8e4m3 = 10,
  weftFloat8e5m2 = 11,
  weftNumTypes = 12
} weftDataType_t;

/* Reduction operations; values equal NCCL's. weftAvg divides the sum by the number of ranks
 * once, at the end (integer division truncates toward zero). */
typedef enum WEFT_ENUM_BASE {
  weftSum = 0,
  weftProd = 1,
  weftMax = 2,
  weftMin = 3,
  weftAvg = 4,
  weftNumOps = 5
} weftRedOp_t;

/* Where weftRedOpCreatePreMulSum's scalar lives; values equal NCCL's. */
typedef enum WEFT_ENUM_BASE {
  weftScalarDevice = 0,       /* device memory, read when each collective that uses the op runs */
  weftScalarHostImmediate = 1 /* host memory, read once, by weftRedOpCreatePreMulSum */
} weftScalarResidence_t;

/* Version as WEFT_VERSION_CODE. */
weftResult_t weftGetVersion(int* version);

/* Static text for a result code. */
const char* weftGetErrorString(weftResult_t result);

/* Human-readable reason for the last failure on the calling thread ("" if none). */
const char* weftGetLastError(weftComm_t comm);

/* Creates a bootstrap root in this process (a listening socket and a thread) and describes it
 * in *uniqueId: the address to reach it, a random secret and the protocol version. With
 * WEFT_COMM_ID=host:port (NCCL_COMM_ID under the NCCL shim) it creates nothing: every process
 * gets the same id, naming that address, and rank 0's weftCommInitRank listens there. */
weftResult_t weftGetUniqueId(weftUniqueId* uniqueId);

/* Collective over the nranks processes that pass the same uniqueId. */
weftResult_t weftCommInitRank(weftComm_t* comm, int nranks, weftUniqueId commId, int rank);

/* Per-communicator settings, as NCCL's ncclConfig_t: start from WEFT_CONFIG_INITIALIZER and set
 * the fields to change. A field left undefined takes its WEFT_* variable, else the default
 * (README lists them); a defined one wins over the variable. A value out of range fails
 * weftCommInitRankConfig with weftInvalidArgument naming the field. Tools and frameworks
 * pick algorithms per communicator this way instead of changing the process environment. */
#define WEFT_CONFIG_UNDEF_INT INT_MIN
#define WEFT_CONFIG_UNDEF_SIZE ((size_t)-1)
#define WEFT_CONFIG_UNDEF_PTR NULL
#define WEFT_CONFIG_MAGIC 0x57434647u /* "WCFG" */
typedef struct {
  /* Set by WEFT_CONFIG_INITIALIZER; they let a newer library read an older caller's struct. */
  size_t size;
  unsigned int magic;
  unsigned int version;
  const char* algo;     /* WEFT_ALGO: allowed algorithms ("hier", "ring", "^tree", ...) */
  const char* tuneFile; /* WEFT_TUNE_FILE ("" for none) */
  int nChannels;        /* WEFT_NCHANNELS: 0 picks, else 1..32 */
  size_t chunkSize;     /* WEFT_CHUNK_SIZE: bytes per message of a pipelined step */
  size_t buffSize;      /* WEFT_BUFFSIZE: staging bytes per channel per receiving peer */
  int timeoutMs;        /* WEFT_TIMEOUT_MS: bound on every wait, >= 1 */
  int shmDirect;        /* WEFT_SHM_DIRECT: 0 or 1 */
  int oneCopy;          /* WEFT_ONE_COPY: 0 or 1 */
  int cudaIpc;          /* WEFT_CUDA_IPC: 0 or 1 */
  int checkCalls;       /* WEFT_CHECK: 0 or 1 */
} weftConfig_t;
#define WEFT_CONFIG_INITIALIZER                                                        \
  {                                                                                    \
    sizeof(weftConfig_t), WEFT_CONFIG_MAGIC, WEFT_VERSION_CODE, WEFT_CONFIG_UNDEF_PTR, \
        WEFT_CONFIG_UNDEF_PTR, WEFT_CONFIG_UNDEF_INT, WEFT_CONFIG_UNDEF_SIZE,          \
        WEFT_CONFIG_UNDEF_SIZE, WEFT_CONFIG_UNDEF_INT, WEFT_CONFIG_UNDEF_INT,          \
        WEFT_CONFIG_UNDEF_INT, WEFT_CONFIG_UNDEF_INT, WEFT_CONFIG_UNDEF_INT            \
  }

/* weftCommInitRank with settings for this communicator (config may be NULL: the environment
 * only). */
weftResult_t weftCommInitRankConfig(weftComm_t* comm, int nranks, weftUniqueId commId, int rank,
                                    const weftConfig_t* config);

/* Rank, size and rendezvous from the environment: WEFT_RANK, WEFT_NRANKS and WEFT_ROOT
 * (host:port where rank 0 listens), or the variables of mpirun (OMPI_COMM_WORLD_*), srun
 * (SLURM_PROCID, SLURM_NTASKS) and torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). */
weftResult_t weftCommInitFromEnv(weftComm_t* comm);

/* Waits for outstanding work, then frees everything. */
weftResult_t weftCommDestroy(weftComm_t comm);

/* Host memory the ranks of one host can map into each other, as NCCL's ncclMemAlloc: size
 * bytes, page-aligned, zeroed, in a memory file (memfd) this process keeps open. Free it with
 * weftMemFree, after deregistering it from every communicator. */
weftResult_t weftMemAlloc(void** ptr, size_t size);
weftResult_t weftMemFree(void* ptr);

/* As ncclCommRegister: [buff, buff + size), which must lie in one weftMemAlloc buffer, is
 * registered with comm; *handle is for weftCommDeregister. Not collective. Collectives whose
 * one-copy plans (algorithm "direct") meet a registered buffer let the peers on the host map
 * it and read or write it in place, each byte copied once at memory speed, instead of through
 * process_vm_readv/writev. Peers keep up to 32 of a rank's buffers mapped between calls
 * (least recently used dropped first), until the communicator is destroyed. */
weftResult_t weftCommRegister(const weftComm_t comm, void* buff, size_t size, void** handle);
weftResult_t weftCommDeregister(const weftComm_t comm, void* handle);

/* A device buffer every rank registered together (weftCommWindowRegister). */
typedef struct weftWindow* weftWindow_t;
#define WEFT_WIN_DEFAULT 0x00
#define WEFT_WIN_COLL_SYMMETRIC 0x01 /* accepted; Weft needs no symmetric layout */

/* As ncclCommWindowRegister: collective, every rank of comm calls it, in the same order with
 * its own buffer. [buff, buff + size) is device memory within one cudaMalloc allocation (one
 * window per allocation). On the CUDA IPC path between processes each on its own GPU, it is
 * mapped into every peer once, here; a collective whose input or output lies in a window
 * lets the peers' kernels read it where it lies, sparing the copy through this rank's
 * staging (docs/cuda.md). Elsewhere it changes nothing and succeeds. At most 64 windows.
 * Deregister (collective too) after every call using the window has completed on every
 * rank, and before freeing the memory. */
weftResult_t weftCommWindowRegister(weftComm_t comm, void* buff, size_t size, weftWindow_t* win,
                                    int winFlags);
weftResult_t weftCommWindowDeregister(weftComm_t comm, weftWindow_t win);

/* Frees everything without waiting for peers; outstanding work fails. */
weftResult_t weftCommAbort(weftComm_t comm);

/* weftCommShrink flags (NCCL's values). */
#define WEFT_SHRINK_DEFAULT 0x00 /* the parent is healthy: a planned shrink */
#define WEFT_SHRINK_ABORT 0x01   /* the parent failed (say, a rank died): shrink it anyway */

/* A new communicator of every rank of `comm` but the excludeRanksCount ranks listed, in the
 * same order (ranks renumbered to close the gaps), as NCCL's ncclCommShrink. Every rank not
 * listed calls it with the same list; the listed ones do not call it. With
 * WEFT_SHRINK_ABORT it works on a communicator in error, which is how a job goes on after
 * losing ranks: the survivors shrink, then abort the old communicator. The ranks meet through
 * the old communicator's bootstrap root, which rank 0 hosts, so rank 0 cannot be excluded. */
weftResult_t weftCommShrink(weftComm_t comm, const int* excludeRanksList, int excludeRanksCount,
                            weftComm_t* newcomm, int shrinkFlags);

/* weftCommSplit's color for a rank that joins no new communicator (NCCL's value). */
#define WEFT_SPLIT_NOCOLOR (-1)

/* As ncclCommSplit: collective, every rank of comm calls it. Ranks that pass the same color
 * (>= 0) form a new communicator, ranked by key, then by their rank in comm; a rank passing
 * WEFT_SPLIT_NOCOLOR takes part and gets *newcomm = NULL. config NULL: the parent's settings
 * (its weftConfig_t's included). A negative color other than WEFT_SPLIT_NOCOLOR, on any
 * rank, fails the call on every rank with weftInvalidArgument naming that rank. */
weftResult_t weftCommSplit(weftComm_t comm, int color, int key, weftComm_t* newcomm,
                           const weftConfig_t* config);

/* Stops the communicator, as NCCL's ncclCommRevoke (revokeFlags: WEFT_REVOKE_DEFAULT, 0):
 * calls running on other threads, and device work queued on streams, fail at once, and every
 * later call but weftCommShrink, weftCommDestroy and weftCommAbort is refused; it returns
 * when none is running, after which weftCommGetAsyncError reports weftSuccess. Call it on
 * every rank (a rank's peers wait for it otherwise), typically from a watchdog that saw a
 * failure, then shrink. */
#define WEFT_REVOKE_DEFAULT 0x00
weftResult_t weftCommRevoke(weftComm_t comm, int revokeFlags);

/* weftSuccess, or the error that put the communicator in error (a dead peer, a timeout). */
weftResult_t weftCommGetAsyncError(weftComm_t comm, weftResult_t* asyncError);

weftResult_t weftCommCount(const weftComm_t comm, int* count);
weftResult_t weftCommUserRank(const weftComm_t comm, int* rank);

/* Collectives. `stream` is a cudaStream_t for device buffers, NULL for host buffers. */
weftResult_t weftAllReduce(const void* sendbuff, void* recvbuff, size_t count,
                           weftDataType_t datatype, weftRedOp_t op, weftComm_t comm, void* stream);
weftResult_t weftAllGather(const void* sendbuff, void* recvbuff, size_t sendcount,
                           weftDataType_t datatype, weftComm_t comm, void* stream);
weftResult_t weftReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount,
                               weftDataType_t datatype, weftRedOp_t op, weftComm_t comm,
                               void* stream);
weftResult_t weftBroadcast(const void* sendbuff, void* recvbuff, size_t count,
                           weftDataType_t datatype, int root, weftComm_t comm, void* stream);
weftResult_t weftReduce(const void* sendbuff, void* recvbuff, size_t count, weftDataType_t datatype,
                        weftRedOp_t op, int root, weftComm_t comm, void* stream);

/* A reduction op that multiplies each rank's input by *scalar (a value of `datatype`) before
 * the sum, as NCCL's PreMulSum: an average or gradient pre-division without overflow in the
 * sum. It is numbered from weftNumOps up, valid on `comm` and with `datatype` only, in
 * all-reduce, reduce-scatter and reduce, and lives until weftRedOpDestroy. On device buffers
 * such calls go through host staging, also where other calls take the CUDA IPC path. */
weftResult_t weftRedOpCreatePreMulSum(weftRedOp_t* op, void* scalar, weftDataType_t datatype,
                                      weftScalarResidence_t residence, weftComm_t comm);
weftResult_t weftRedOpDestroy(weftRedOp_t op, weftComm_t comm);

/* Point to point. The k-th weftSend from rank a to rank b meets the k-th weftRecv at b from
 * a; count and datatype must agree (a mismatch is an error on the receiver). Inside a group,
 * a rank's sends and receives are posted together, so pairs of them in any order (an
 * exchange, an all-to-all) cannot deadlock. A rank may send to itself within a group. */
weftResult_t weftSend(const void* sendbuff, size_t count, weftDataType_t datatype, int peer,
                      weftComm_t comm, void* stream);
weftResult_t weftRecv(void* recvbuff, size_t count, weftDataType_t datatype, int peer,
                      weftComm_t comm, void* stream);

/* Operations between GroupStart and GroupEnd are issued together at GroupEnd. Groups nest. */
weftResult_t weftGroupStart(void);
weftResult_t weftGroupEnd(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_WEFT_H_ */
