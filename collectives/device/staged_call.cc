#include "collectives/device/staged_call.h"

#include <vector>

namespace weft {

Status QueueStagedCall(const StagedCall& call, StagingStream* stream, DeviceOp* op) {
  const StagingPlan& plan = *call.plan;
  const size_t nphases = CopyOutLaunches(plan);
  DevicePhase* phases = call.phases;
  for (size_t i = 0; i < nphases; ++i) {
    phases[i].skip = 1;  // until the piece's host collective succeeded
    phases[i].ntasks = 0;
    phases[i].divisor = 0;  // the host collective already divided (weftAvg)
  }
  op->skip = [phases, nphases] {
    for (size_t i = 0; i < nphases; ++i)
      phases[i].skip = 1;
  };
  // Every copy-in, each piece followed by its event: the host may start on piece k as soon
  // as it is in, while later pieces are still copying.
  const size_t first_stage = op->stages.size();
  for (const StagingPiece& piece : plan.pieces) {
    for (const StagingCopy& c : piece.in)
      WEFT_CHECK(stream->CopyIn(c));
    DeviceStage st;
    WEFT_CHECK(stream->RecordEvent(&st.event));
    op->stages.push_back(std::move(st));
  }
  // Then per piece: its gate and its copy-out. A stage gets its host work only once its
  // gate is queued, so a failure here leaves no host work whose gate nobody waits on.
  size_t phase = 0;
  for (size_t k = 0; k < plan.pieces.size(); ++k) {
    const StagingPiece& piece = plan.pieces[k];
    DeviceStage& st = op->stages[first_stage + k];
    const uint32_t gate = call.next_gate();
    WEFT_CHECK(stream->WaitGate(gate));
    st.gate = gate;
    const size_t launches = CopyOutLaunches(piece);
    DevicePhase* mine = phases + phase;
    st.host_work = [run = call.run_piece, piece, mine, launches]() -> Status {
      WEFT_CHECK(run(piece));
      for (size_t i = 0; i < launches; ++i)
        mine[i].skip = 0;
      return Status::Ok();
    };
    for (size_t i = 0; i < launches; ++i, ++phase) {
      const size_t largest =
          FillCopyOut(piece, i, call.host_recv, call.device_recv, call.elem_size, &phases[phase]);
      WEFT_CHECK(stream->LaunchCopyOut(&phases[phase], largest));
    }
  }
  return Status::Ok();
}

}  // namespace weft
