// The host entry points of NCCL 2.28's device API (nccl_device.h): device communicators,
// teams and the requirements of device-side barriers and all-to-alls. Weft has no device
// communicators (its kernels are launched by the library, not by the user's kernels), so
// creating one fails with ncclInvalidUsage and says why in ncclGetLastError. The symbols
// must still exist: PyTorch's libtorch_cuda.so references ncclDevCommCreate and
// ncclDevCommDestroy, and Python loads it with every symbol bound at once, so without them
// `import torch` fails before any communicator is made.
//
// Teams are answered for what a Weft communicator is: the world is every rank with stride 1;
// the load/store-accessible (LSA) team, the ranks whose memory a device communicator could
// address directly, is the rank alone (there is no device communicator to address it with),
// so the rail team (one rank of each LSA team) is the world again.
//
// The declarations are written here rather than taken from nccl_device.h, which not every
// NCCL 2.28 release ships complete (the GPU host's lacks the GIN barrier): the handles are
// opaque pointers, and a team is three ints, as in NCCL's nccl_device/core.h.
#include <nccl.h>

#include <string>

#include "collectives/api_internal.h"
#include "weft/weft.h"

extern "C" {
struct ncclTeam {
  int nRanks, rank, stride;
};
typedef struct ncclTeam ncclTeam_t;
struct ncclDevComm;
struct ncclDevCommRequirements;
struct ncclDevResourceRequirements;
struct ncclLsaBarrierHandle;
struct ncclGinBarrierHandle;
struct ncclLLA2AHandle;
}

namespace {

ncclResult_t NoDeviceApi(const char* fn) {
  return static_cast<ncclResult_t>(weft::ReportFailure(weft::Status(
      weftInvalidUsage, std::string(fn) +
                            ": NCCL's device API (device communicators) is not supported by "
                            "Weft's NCCL interface; use the host collectives")));
}

// This rank's place in the world, or a team of no ranks if `comm` is not a communicator
// (ncclGetLastError then says why).
ncclTeam_t WorldOf(ncclComm_t comm) {
  ncclTeam_t team{0, 0, 1};
  int count = 0, rank = 0;
  if (ncclCommCount(comm, &count) == ncclSuccess && ncclCommUserRank(comm, &rank) == ncclSuccess)
    team = ncclTeam_t{count, rank, 1};
  return team;
}

}  // namespace

extern "C" {

ncclResult_t ncclDevCommCreate(ncclComm_t, ncclDevCommRequirements const*, ncclDevComm*) {
  return NoDeviceApi("ncclDevCommCreate");
}

ncclResult_t ncclDevCommDestroy(ncclComm_t, ncclDevComm const*) {
  return NoDeviceApi("ncclDevCommDestroy");
}

ncclResult_t ncclLsaBarrierCreateRequirement(ncclTeam_t, int, ncclLsaBarrierHandle*,
                                             ncclDevResourceRequirements*) {
  return NoDeviceApi("ncclLsaBarrierCreateRequirement");
}

ncclResult_t ncclGinBarrierCreateRequirement(ncclComm_t, ncclTeam_t, int, ncclGinBarrierHandle*,
                                             ncclDevResourceRequirements*) {
  return NoDeviceApi("ncclGinBarrierCreateRequirement");
}

ncclResult_t ncclLLA2ACreateRequirement(int, int, ncclLLA2AHandle*, ncclDevResourceRequirements*) {
  return NoDeviceApi("ncclLLA2ACreateRequirement");
}

// Slots of an LL all-to-all's buffer: none, as there is no such buffer without a device
// communicator.
int ncclLLA2ACalcSlots(int, int) {
  return 0;
}

ncclTeam_t ncclTeamWorld(ncclComm_t comm) {
  return WorldOf(comm);
}

ncclTeam_t ncclTeamLsa(ncclComm_t comm) {
  return WorldOf(comm).nRanks > 0 ? ncclTeam_t{1, 0, 1} : ncclTeam_t{0, 0, 1};
}

ncclTeam_t ncclTeamRail(ncclComm_t comm) {
  return WorldOf(comm);
}

// As NCCL's device-side versions: the world rank (or LSA rank) of the team's `rank`.
int ncclTeamRankToWorld(ncclComm_t comm, ncclTeam_t team, int rank) {
  return WorldOf(comm).rank + (rank - team.rank) * team.stride;
}

int ncclTeamRankToLsa(ncclComm_t, ncclTeam_t team, int rank) {
  return (rank - team.rank) * team.stride;  // this rank is LSA rank 0
}

}  // extern "C"
