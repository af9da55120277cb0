#include "collectives/collective.h"

#include <cstring>

namespace weft {
namespace {

constexpr CollFacts kFacts[kNumCollTypes] = {
    {"allreduce", true, false, 1, 1, 0, "sendbuff == recvbuff"},
    {"allgather", false, false, 1, 0, +1, "sendbuff == recvbuff + rank*sendcount"},
    {"reducescatter", true, false, 0, 1, -1, "recvbuff == sendbuff + rank*recvcount"},
    {"broadcast", false, true, 1, 1, 0, "sendbuff == recvbuff"},
    {"reduce", true, true, 1, 1, 0, "sendbuff == recvbuff"},
};

size_t Blocks(int factor, int nranks) {
  return factor == 0 ? static_cast<size_t>(nranks) : static_cast<size_t>(factor);
}

}  // namespace

const CollFacts& FactsOf(CollType c) {
  return kFacts[static_cast<int>(c)];
}

bool ParseCollName(const char* name, CollType* out) {
  for (CollType c : kAllCollTypes) {
    if (std::strcmp(name, FactsOf(c).name) == 0) {
      *out = c;
      return true;
    }
  }
  return false;
}

size_t InputCount(CollType c, size_t count, int nranks) {
  return count * Blocks(FactsOf(c).input_blocks, nranks);
}

size_t OutputCount(CollType c, size_t count, int nranks) {
  return count * Blocks(FactsOf(c).output_blocks, nranks);
}

size_t CallBytes(CollType c, size_t count, size_t elem_size, int nranks) {
  const CollFacts& f = FactsOf(c);
  const size_t blocks = Blocks(f.input_blocks, nranks) > Blocks(f.output_blocks, nranks)
                            ? Blocks(f.input_blocks, nranks)
                            : Blocks(f.output_blocks, nranks);
  return count * elem_size * blocks;
}

size_t CountForBytes(CollType c, size_t bytes, size_t elem_size, int nranks) {
  return bytes / CallBytes(c, 1, elem_size, nranks);
}

double BusFactor(CollType c, int nranks) {
  const double n = nranks;
  switch (c) {
    case CollType::kAllReduce:
      return 2 * (n - 1) / n;
    case CollType::kAllGather:
    case CollType::kReduceScatter:
      return (n - 1) / n;
    case CollType::kBroadcast:
    case CollType::kReduce:
      break;
  }
  return 1;
}

bool ReadsInput(CollType c, int rank, int root) {
  return c != CollType::kBroadcast || rank == root;
}

bool WritesOutput(CollType c, int rank, int root) {
  return c != CollType::kReduce || rank == root;
}

bool IsInPlace(CollType c, const void* input, const void* output, size_t count, size_t elem_size,
               int rank) {
  const auto* in = static_cast<const char*>(input);
  const auto* out = static_cast<const char*>(output);
  const size_t shift = static_cast<size_t>(rank) * count * elem_size;
  switch (FactsOf(c).in_place_shift) {
    case +1:
      return in == out + shift;
    case -1:
      return out == in + shift;
    default:
      return in == out;
  }
}

}  // namespace weft
