#include "collectives/device/staged_call.h"

#include <algorithm>
#include <cstdint>
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
  std::vector<size_t> first_phase(plan.pieces.size(), 0);
  for (size_t k = 1; k < plan.pieces.size(); ++k)
    first_phase[k] = first_phase[k - 1] + CopyOutLaunches(plan.pieces[k - 1]);
  const size_t first_stage = op->stages.size();
  // Piece k's gate and copy-out. Its stage gets its host work only once the gate is queued,
  // so a failure midway leaves no host work whose gate nobody waits on.
  auto queue_out = [&](size_t k) -> Status {
    const StagingPiece& piece = plan.pieces[k];
    DeviceStage& st = op->stages[first_stage + k];
    const uint32_t gate = call.next_gate();
    WEFT_CHECK(stream->WaitGate(gate));
    st.gate = gate;
    const size_t launches = CopyOutLaunches(piece);
    DevicePhase* mine = phases + first_phase[k];
    st.host_work = [run = call.run_piece, piece, mine, launches]() -> Status {
      WEFT_CHECK(run(piece));
      for (size_t i = 0; i < launches; ++i)
        mine[i].skip = 0;
      return Status::Ok();
    };
    for (size_t i = 0; i < launches; ++i) {
      const size_t largest =
          FillCopyOut(piece, i, call.host_recv, call.device_recv, call.elem_size, &mine[i]);
      WEFT_CHECK(stream->LaunchCopyOut(&mine[i], largest));
    }
    return Status::Ok();
  };
  // Piece k's copy-in, and its event: the host may start on piece k as soon as it is in.
  // A slot is refilled only after its previous piece went back out, so piece k's copy-in
  // follows piece k - slots's copy-out on the stream.
  const size_t slots = std::max<size_t>(1, plan.slots);
  for (size_t k = 0; k < plan.pieces.size(); ++k) {
    if (k >= slots) WEFT_CHECK(queue_out(k - slots));
    for (const StagingCopy& c : plan.pieces[k].in)
      WEFT_CHECK(stream->CopyIn(c));
    DeviceStage st;
    WEFT_CHECK(stream->RecordEvent(&st.event));
    op->stages.push_back(std::move(st));
  }
  for (size_t k = plan.pieces.size() > slots ? plan.pieces.size() - slots : 0;
       k < plan.pieces.size(); ++k)
    WEFT_CHECK(queue_out(k));
  return Status::Ok();
}

}  // namespace weft
