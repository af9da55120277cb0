// Which kernel takes a device call inside a host, by cost (one record per kernel, as UCX's
// protocols carry theirs): the one-shot LL kernel or the direct kernel. Both run one block
// per call below 1 MiB (DirectChannelsFor), so near the crossover the terms are one block's
// rate and the flag rounds each kernel waits for:
//   one-shot: 1 flag round (data and flag travel together, in LL lines), and the busiest
//     rank moves 2 (n - 1) B bytes to or from its peers (every peer's copy of a B-byte
//     block, doubled by LL's flag words);
//   direct: 3 flag rounds for all-reduce (posted, reduced, done), 2 for the rest, and the
//     busiest rank's block reads (n - 1) B (all-gather, reduce-scatter, reduce's root),
//     B (broadcast: each rank reads the root's), or about 2 (n - 1) B / n (all-reduce: its
//     chunk of every input, then every peer's reduced chunk); through the staging (ranks
//     in several processes) each rank first copies its B into it.
// B is the C API's block: count x element size. The one-shot kernel is cheaper for small
// blocks and few ranks (with 2 ranks, up to its scratch's limit, WEFT_ONE_SHOT_MAX_BYTES);
// the crossover falls as ranks grow, since one-shot's bytes grow with n and direct's do not.
// The default terms are not yet calibrated on a GPU (docs/cuda.md says which step of
// scripts/gpu-check.sh measures the crossover); they place it near NCCL's LL limits.
#pragma once

#include <cstddef>

#include "collectives/coll_args.h"

namespace weft {

struct DeviceCostTerms {
  double flag_round_us = 2.0;  // a release store seen by a peer's acquire poll, with the
                               // block barriers around it
  double block_gbps = 40.0;    // what one block moves to or from peer memory
  double copy_gbps = 200.0;    // one block's copy within its own GPU (into the staging)
};

// Microseconds of the one-shot kernel for a block of `block_bytes` on `nranks` ranks.
inline double OneShotCostUs(size_t block_bytes, int nranks, const DeviceCostTerms& t) {
  const double moved = 2.0 * (nranks - 1) * static_cast<double>(block_bytes);
  return t.flag_round_us + moved / (t.block_gbps * 1e3);
}

// Microseconds of the direct kernel (through the staging where `staged`).
inline double DirectCostUs(CollType coll, size_t block_bytes, int nranks, bool staged,
                           const DeviceCostTerms& t) {
  const double b = static_cast<double>(block_bytes);
  const bool allreduce = coll == CollType::kAllReduce;
  const double moved = allreduce                      ? 2.0 * (nranks - 1) * b / nranks
                       : coll == CollType::kBroadcast ? b
                                                      : (nranks - 1) * b;
  const double rounds = allreduce ? 3 : 2;
  return rounds * t.flag_round_us + moved / (t.block_gbps * 1e3) +
         (staged ? b / (t.copy_gbps * 1e3) : 0.0);
}

// Whether the one-shot kernel takes a call its limit allows (block_bytes <= the scratch's
// limit, checked by the caller), where the direct kernel could take it instead: the cheaper
// of the two, one-shot on a tie. Every rank decides alike (the call and the job only).
inline bool OneShotCheaper(CollType coll, size_t block_bytes, int nranks, bool staged,
                           const DeviceCostTerms& t) {
  return OneShotCostUs(block_bytes, nranks, t) <=
         DirectCostUs(coll, block_bytes, nranks, staged, t);
}

}  // namespace weft
