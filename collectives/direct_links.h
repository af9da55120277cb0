// Which ranks of one host share FIFOs in shared memory, and where each FIFO lives. A pure
// function of what every rank already knows (the ring, the trees, each rank's host), so each
// rank finds its FIFO inside a peer's shared region without asking the peer. Only ranks of
// one host are linked; everything else goes over the network (collectives/link_table.h).
//
// A rank's region holds the FIFOs it reads (one per sender and channel), in (channel, sender)
// order. Links:
//   - ring: rank -> its successor in its host's part of the ring (the last of the host's
//     ranks links back to the first, which is what the hierarchical algorithms' rings inside
//     a host need; on one host this is the ring itself), on the ring channels; these FIFOs
//     are deep (they carry the large messages);
//   - the rest, on the "other" channels (two: one per tree of a double binary tree): both
//     directions of every tree edge and of every recursive-doubling pair inside a host, or
//     every pair of a host's ranks when the host has few (then rerooted trees for broadcast
//     and reduce find their links too). These FIFOs are shallow: small messages and tree
//     chunks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "topology/trees.h"

namespace weft {

// Slot size of the shallow FIFOs (at most WEFT_CHUNK_SIZE): tree plans on them use chunks
// this size; a recursive-doubling message must fit one.
constexpr size_t kDirectOtherSlotBytes = size_t{64} << 10;

struct FifoShape {
  size_t slot_bytes = 0;
  int nslots = 0;
};

struct DirectLinkConfig {
  FifoShape ring;         // ring-successor links
  FifoShape other;        // tree, recursive-doubling and all-pairs links
  int ring_channels = 1;  // channels carrying ring links
  int other_channels = 2;
  int all_pairs_max = 8;  // up to this many ranks on a host, every ordered pair is linked
};

struct DirectLink {
  int channel = 0;
  int from = 0;  // the sender
  int to = 0;    // the receiver, whose region holds the FIFO
  FifoShape shape;
  size_t offset = 0;  // bytes into the receiver's region
};

class DirectLinkMap {
 public:
  // `host_of[rank]`: the rank's host (empty: all on one host).
  static DirectLinkMap Build(const std::vector<int>& ring, const std::vector<Tree>& trees,
                             const DirectLinkConfig& config, const std::vector<int>& host_of = {});

  int channels() const { return channels_; }
  // Bytes of `rank`'s region (the FIFOs it reads).
  size_t RegionBytes(int rank) const { return region_bytes_[rank]; }
  // The FIFOs `rank` reads, then those it writes.
  std::vector<DirectLink> Into(int rank) const;
  std::vector<DirectLink> From(int rank) const;
  const std::vector<DirectLink>& links() const { return links_; }

 private:
  int channels_ = 0;
  std::vector<DirectLink> links_;  // ordered by (to, channel, from)
  std::vector<size_t> region_bytes_;
};

// Adds `rank`'s links to `table`: the FIFOs it reads in `own_region`, those it writes in
// `peer_regions[to]` (its own mapping of each receiver's region); `pids[r]` is rank r's
// process, for one-copy reads (0: none).
class LinkTable;
void AddShmLinks(const DirectLinkMap& map, int rank, void* own_region,
                 const std::vector<void*>& peer_regions, const std::vector<int32_t>& pids,
                 LinkTable* table);

}  // namespace weft
