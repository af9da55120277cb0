#include "bench/perf_mpi.h"

#include <cstdlib>

#ifdef WEFT_HAVE_MPI
#include <mpi.h>
#endif

namespace weft::perf {

#ifdef WEFT_HAVE_MPI
namespace {
bool MpiType(weftDataType_t t, MPI_Datatype* out) {
  switch (t) {
    case weftInt8:
      *out = MPI_INT8_T;
      return true;
    case weftUint8:
      *out = MPI_UINT8_T;
      return true;
    case weftInt32:
      *out = MPI_INT32_T;
      return true;
    case weftUint32:
      *out = MPI_UINT32_T;
      return true;
    case weftInt64:
      *out = MPI_INT64_T;
      return true;
    case weftUint64:
      *out = MPI_UINT64_T;
      return true;
    case weftFloat32:
      *out = MPI_FLOAT;
      return true;
    case weftFloat64:
      *out = MPI_DOUBLE;
      return true;
    default:
      return false;
  }
}
bool MpiOp(weftRedOp_t op, MPI_Op* out) {
  switch (op) {
    case weftSum:
      *out = MPI_SUM;
      return true;
    case weftProd:
      *out = MPI_PROD;
      return true;
    case weftMax:
      *out = MPI_MAX;
      return true;
    case weftMin:
      *out = MPI_MIN;
      return true;
    default:
      return false;
  }
}
}  // namespace

bool MpiBuilt() {
  return true;
}
bool MpiLaunched() {
  // Open MPI, PMI (MPICH's Hydra, Intel MPI, srun --mpi=pmi2), PMIx, MVAPICH.
  for (const char* name :
       {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}
void MpiInit(int* argc, char*** argv) {
  MPI_Init(argc, argv);
}
int MpiRank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int MpiSize() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}
void MpiFinalize() {
  MPI_Finalize();
}
void MpiBcastId(weftUniqueId* id) {
  MPI_Bcast(id, sizeof(*id), MPI_BYTE, 0, MPI_COMM_WORLD);
}
void MpiBarrier() {
  MPI_Barrier(MPI_COMM_WORLD);
}

bool MpiCollective(CollType coll, const void* send, void* recv, size_t count, weftDataType_t type,
                   weftRedOp_t op, int root) {
  MPI_Datatype dt;
  MPI_Op mop = MPI_SUM;
  if (!MpiType(type, &dt)) return false;
  if (FactsOf(coll).reduces && !MpiOp(op, &mop)) return false;
  const int n = static_cast<int>(count);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  switch (coll) {
    case CollType::kAllReduce:
      MPI_Allreduce(send, recv, n, dt, mop, MPI_COMM_WORLD);
      break;
    case CollType::kAllGather:
      MPI_Allgather(send, n, dt, recv, n, dt, MPI_COMM_WORLD);
      break;
    case CollType::kReduceScatter:
      MPI_Reduce_scatter_block(send, recv, n, dt, mop, MPI_COMM_WORLD);
      break;
    case CollType::kBroadcast:
      MPI_Bcast(rank == root ? const_cast<void*>(send) : recv, n, dt, root, MPI_COMM_WORLD);
      break;
    case CollType::kReduce:
      MPI_Reduce(send, recv, n, dt, mop, root, MPI_COMM_WORLD);
      break;
  }
  return true;
}

bool MpiPointToPoint(bool alltoall, const void* send, void* recv, size_t count,
                     weftDataType_t type) {
  MPI_Datatype dt;
  if (!MpiType(type, &dt)) return false;
  const int c = static_cast<int>(count);
  if (alltoall) {
    MPI_Alltoall(send, c, dt, recv, c, dt, MPI_COMM_WORLD);
    return true;
  }
  int rank = 0, n = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  MPI_Sendrecv(send, c, dt, (rank + 1) % n, 0, recv, c, dt, (rank + n - 1) % n, 0, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
  return true;
}
#else
bool MpiBuilt() {
  return false;
}
bool MpiLaunched() {
  return false;
}
void MpiInit(int*, char***) {}
void MpiFinalize() {}
void MpiBcastId(weftUniqueId*) {}
int MpiRank() {
  return 0;
}
int MpiSize() {
  return 1;
}
void MpiBarrier() {}
bool MpiCollective(CollType, const void*, void*, size_t, weftDataType_t, weftRedOp_t, int) {
  return false;
}
bool MpiPointToPoint(bool, const void*, void*, size_t, weftDataType_t) {
  return false;
}
#endif

}  // namespace weft::perf
