#include "collectives/device/staging_plan.h"

#include <algorithm>

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

StagingCopy Contiguous(size_t device_offset, size_t host_offset, size_t bytes) {
  StagingCopy c;
  c.device_offset = device_offset;
  c.host_offset = host_offset;
  c.bytes = bytes;
  return c;
}

}  // namespace

StagingPlan PlanStaging(const CollArgs& a, int rank, int nranks, size_t piece_bytes) {
  const CollBytes bytes = BytesOf(a, rank, nranks);
  StagingPlan plan;
  plan.send_bytes = bytes.send;
  plan.recv_bytes = bytes.recv;
  if (a.count == 0) return plan;
  const size_t esz = TypeSize(a.type);
  const size_t n = static_cast<size_t>(nranks);
  const bool gather = a.coll == CollType::kAllGather;
  const bool scatter = a.coll == CollType::kReduceScatter;
  const size_t rows = gather || scatter ? n : 1;
  const size_t step = PieceElements(a.count, esz, rows, piece_bytes);
  for (size_t begin = 0; begin < a.count; begin += step) {
    const size_t len = std::min(step, a.count - begin);
    const size_t at = begin * esz;   // the piece's offset in a per-rank block
    const size_t piece = len * esz;  // bytes of one row of the piece
    StagingCopy strided;             // N rows: one per rank's block of the full buffer
    strided.device_offset = at;
    strided.host_offset = at * n;  // earlier pieces hold N rows each
    strided.bytes = piece;
    strided.rows = n;
    strided.device_pitch = a.count * esz;
    strided.host_pitch = piece;
    StagingPiece p;
    p.count = len;
    if (gather) {
      p.in.push_back(Contiguous(at, at, piece));
      p.send_offset = at;
      p.recv_offset = at * n;
      p.out.push_back(strided);
    } else if (scatter) {
      p.in.push_back(strided);
      p.send_offset = at * n;
      p.recv_offset = at;
      p.out.push_back(Contiguous(at, at, piece));
    } else {  // all-reduce, broadcast, reduce: the piece is the same range everywhere
      if (bytes.uses_send) p.in.push_back(Contiguous(at, at, piece));
      p.send_offset = p.recv_offset = at;
      if (bytes.uses_recv) p.out.push_back(Contiguous(at, at, piece));
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
      t.out = static_cast<std::byte*>(device_recv) + c.device_offset + i * c.device_pitch;
      largest = std::max<size_t>(largest, t.count);
    }
  }
  return largest;
}

}  // namespace weft
