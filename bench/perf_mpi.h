// MPI for weft-perf: bootstrapping under mpirun and the --compare mpi baseline. Built only
// with WEFT_WITH_MPI; otherwise every function reports that MPI is absent.
#pragma once

#include <cstddef>

#include "collectives/plan.h"
#include "weft/weft.h"

namespace weft::perf {

bool MpiBuilt();
// True when started by an MPI launcher (mpirun, mpiexec, srun with PMI) and built with MPI.
bool MpiLaunched();
void MpiInit(int* argc, char*** argv);
void MpiFinalize();
void MpiBcastId(weftUniqueId* id);
// This process's rank and the job's size, from MPI itself (after MpiInit), whichever MPI
// launched it.
int MpiRank();
int MpiSize();
void MpiBarrier();
// Runs the MPI equivalent of one collective on the same buffers (API counts as in Weft).
// Returns false if MPI has no equivalent (fp16/bf16/fp8 types, avg).
bool MpiCollective(CollType coll, const void* send, void* recv, size_t count, weftDataType_t type,
                   weftRedOp_t op, int root);
// MPI_Alltoall (blocks of `count`), or the ring's MPI_Sendrecv (send right, receive left).
bool MpiPointToPoint(bool alltoall, const void* send, void* recv, size_t count,
                     weftDataType_t type);

}  // namespace weft::perf
