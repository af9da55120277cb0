#include "collectives/direct_links.h"

#include <algorithm>

#include "collectives/link_table.h"
#include "transport/shm/shm_link.h"

namespace weft {
namespace {

// Both directions of every recursive-doubling exchange (see recursive_doubling.cc): the
// ranks above the largest power of two pair with rank - p2, the others by XOR.
void AddRecursiveDoublingPairs(int n, std::vector<std::vector<bool>>* linked) {
  int p2 = 1;
  while (p2 * 2 <= n)
    p2 *= 2;
  auto link = [&](int a, int b) { (*linked)[a][b] = (*linked)[b][a] = true; };
  for (int r = 0; r < p2; ++r) {
    for (int dist = 1; dist < p2; dist *= 2)
      link(r, r ^ dist);
    if (r + p2 < n) link(r, r + p2);
  }
}

}  // namespace

DirectLinkMap DirectLinkMap::Build(const std::vector<int>& ring, const std::vector<Tree>& trees,
                                   const DirectLinkConfig& config,
                                   const std::vector<int>& host_of) {
  const int n = static_cast<int>(ring.size());
  auto host = [&](int r) { return host_of.empty() ? 0 : host_of[static_cast<size_t>(r)]; };
  std::vector<int> ranks_on(static_cast<size_t>(n), 0);  // ranks on each host
  for (int r = 0; r < n; ++r)
    ++ranks_on[static_cast<size_t>(host(r))];
  std::vector<std::vector<bool>> other(n, std::vector<bool>(n, false));
  for (const Tree& t : trees)
    for (int r = 0; r < n && r < static_cast<int>(t.parent.size()); ++r)
      if (t.parent[r] >= 0) other[r][t.parent[r]] = other[t.parent[r]][r] = true;
  AddRecursiveDoublingPairs(n, &other);
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      const bool small_host = ranks_on[static_cast<size_t>(host(a))] <= config.all_pairs_max;
      other[a][b] = host(a) == host(b) && (other[a][b] || small_host);
    }
  }
  // Each host's part of the ring, closed into a ring of its own.
  std::vector<int> next(n, -1);
  for (int p = 0; p < n; ++p) {
    const int r = ring[p];
    for (int k = 1; k <= n; ++k) {
      const int q = ring[(p + k) % n];
      if (host(q) == host(r)) {
        next[r] = q == r ? -1 : q;
        break;
      }
    }
  }

  DirectLinkMap map;
  map.channels_ = std::max(config.ring_channels, config.other_channels);
  map.region_bytes_.assign(n, 0);
  for (int to = 0; to < n; ++to) {
    size_t offset = 0;
    for (int c = 0; c < map.channels_; ++c) {
      for (int from = 0; from < n; ++from) {
        if (from == to) continue;
        DirectLink link{c, from, to, {}, offset};
        if (next[from] == to && c < config.ring_channels)
          link.shape = config.ring;
        else if (other[from][to] && c < config.other_channels)
          link.shape = config.other;
        else
          continue;
        offset += FifoBytes(link.shape.slot_bytes, link.shape.nslots);
        map.links_.push_back(link);
      }
    }
    map.region_bytes_[to] = offset;
  }
  return map;
}

std::vector<DirectLink> DirectLinkMap::Into(int rank) const {
  std::vector<DirectLink> out;
  for (const DirectLink& l : links_)
    if (l.to == rank) out.push_back(l);
  return out;
}

std::vector<DirectLink> DirectLinkMap::From(int rank) const {
  std::vector<DirectLink> out;
  for (const DirectLink& l : links_)
    if (l.from == rank) out.push_back(l);
  return out;
}

void AddShmLinks(const DirectLinkMap& map, int rank, void* own_region,
                 const std::vector<void*>& peer_regions, const std::vector<int32_t>& pids,
                 LinkTable* table) {
  auto at = [](void* base, const DirectLink& l) {
    return FifoAt(static_cast<std::byte*>(base) + l.offset, l.shape.slot_bytes, l.shape.nslots);
  };
  auto mappings = std::make_shared<PeerMappings>();  // every peer's buffers mapped here
  for (const DirectLink& l : map.links()) {
    if (l.to == rank)
      table->AddShm(l.channel,
                    std::make_unique<ShmRecvPort>(l.from, at(own_region, l),
                                                  pids[static_cast<size_t>(l.from)], mappings));
    if (l.from == rank)
      table->AddShm(l.channel, std::make_unique<ShmSendPort>(l.to, at(peer_regions[l.to], l)));
  }
}

}  // namespace weft
