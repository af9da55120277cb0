#include "collectives/device/staging_plan.h"

#include <algorithm>
#include <cstdint>

#include "collectives/device/device_engine.h"
#include "collectives/reduce/vector_split.h"
#include "common/dtype.h"

namespace weft {
namespace {

// Elements per piece of the per-rank count: about `piece_bytes` through the host collective,
// whole vectors, at most kMaxStagingPieces pieces.
size_t PieceElements(size_t count, size_t esz, size_t rows, size_t piece_bytes) {
  if (piece_bytes == 0) return count;
  const size_t per_vector = std::max<size_t>(1, kVectorBytes / esz);
  auto whole_vectors = [&](size_t elems) {
    return std::max(per_vector, (elems + per_vector - 1) / per_vector * per_vector);
  };
  size_t elems = whole_vectors(piece_bytes / (esz * rows));
  const size_t fewest = (count + kMaxStagingPieces - 1) / kMaxStagingPieces;
  if (elems < fewest) elems = whole_vectors(fewest);
  return elems;
}

// Slots start on 256-byte boundaries, so every slot's rows align as the first slot's do.
size_t AlignSlot(size_t bytes) {
  return (bytes + 255) / 256 * 256;
}

StagingCopy Contiguous(size_t device_offset, size_t host_offset, size_t bytes) {
  StagingCopy c;
  c.device_offset = device_offset;
  c.host_offset = host_offset;
  c.bytes = bytes;
  return c;
}

}  // namespace

StagingPlan PlanStaging(const CollArgs& a, int rank, int nranks, size_t piece_bytes, size_t slots) {
  const CollBytes bytes = BytesOf(a, rank, nranks);
  StagingPlan plan;
  if (a.count == 0) return plan;
  const size_t esz = TypeSize(a.type);
  const size_t n = static_cast<size_t>(nranks);
  // Rows: the buffer of n blocks (all-gather's output, reduce-scatter's input) moves in
  // pieces of every block at once.
  const bool gather = OutputCount(a.coll, 1, nranks) > 1;
  const bool scatter = InputCount(a.coll, 1, nranks) > 1;
  const size_t rows = gather || scatter ? n : 1;
  const size_t step = PieceElements(a.count, esz, rows, piece_bytes);
  const size_t npieces = (a.count + step - 1) / step;
  // A slot holds the largest (first) piece: its send rows and its receive rows.
  plan.slots = std::max<size_t>(1, std::min(slots, npieces));
  plan.slot_send_bytes = AlignSlot(step * esz * (scatter ? n : 1));
  plan.slot_recv_bytes = AlignSlot(step * esz * (gather ? n : 1));
  plan.send_bytes = plan.slot_send_bytes * plan.slots;
  plan.recv_bytes = plan.slot_recv_bytes * plan.slots;
  for (size_t begin = 0, k = 0; begin < a.count; begin += step, ++k) {
    const size_t len = std::min(step, a.count - begin);
    const size_t at = begin * esz;   // the piece's offset in a per-rank block
    const size_t piece = len * esz;  // bytes of one row of the piece
    StagingPiece p;
    p.begin = begin;
    p.count = len;
    p.slot = k % plan.slots;
    p.send_offset = p.slot * plan.slot_send_bytes;
    p.recv_offset = p.slot * plan.slot_recv_bytes;
    StagingCopy strided;  // N rows: one per rank's block of the full buffer
    strided.device_offset = at;
    strided.bytes = piece;
    strided.rows = n;
    strided.device_pitch = a.count * esz;
    strided.host_pitch = piece;
    if (gather) {
      p.in.push_back(Contiguous(at, p.send_offset, piece));
      strided.host_offset = p.recv_offset;
      p.out.push_back(strided);
    } else if (scatter) {
      strided.host_offset = p.send_offset;
      p.in.push_back(strided);
      p.out.push_back(Contiguous(at, p.recv_offset, piece));
    } else {  // all-reduce, broadcast, reduce: the piece is the same range everywhere
      if (bytes.uses_send) p.in.push_back(Contiguous(at, p.send_offset, piece));
      if (bytes.uses_recv) p.out.push_back(Contiguous(at, p.recv_offset, piece));
    }
    plan.pieces.push_back(std::move(p));
  }
  return plan;
}

size_t CopyOutLaunches(const StagingPiece& piece) {
  size_t tasks = 0;
  for (const StagingCopy& c : piece.out)
    tasks += c.rows;
  return (tasks + kMaxDeviceTasks - 1) / kMaxDeviceTasks;
}

size_t CopyOutLaunches(const StagingPlan& plan) {
  size_t launches = 0;
  for (const StagingPiece& p : plan.pieces)
    launches += CopyOutLaunches(p);
  return launches;
}

size_t FillCopyOut(const StagingPiece& piece, size_t launch, const void* host_recv,
                   void* device_recv, size_t elem_size, DevicePhase* phase) {
  const size_t first = launch * kMaxDeviceTasks;  // this launch's rows, over all copies
  size_t row = 0, largest = 0;
  phase->ntasks = 0;
  for (const StagingCopy& c : piece.out) {
    for (size_t i = 0; i < c.rows; ++i, ++row) {
      if (row < first || row >= first + kMaxDeviceTasks) continue;
      DeviceTask& t = phase->task[phase->ntasks++];
      t.ninputs = 1;
      t.count = c.bytes / elem_size;
      t.in[0] = static_cast<const std::byte*>(host_recv) + c.host_offset + i * c.host_pitch;
      // Integer arithmetic: a base of 0 makes device offsets addresses (point-to-point).
      t.out = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(device_recv) + c.device_offset +
                                      i * c.device_pitch);
      largest = std::max<size_t>(largest, t.count);
    }
  }
  return largest;
}

}  // namespace weft
