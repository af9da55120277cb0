#include "collectives/comm_split.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/log.h"

namespace weft {

Status SplitComm(const AllGatherBytes& all_gather, int nranks, int rank, int color, int key,
                 const Config& config, weftComm_t* out) {
  *out = nullptr;
  const int32_t mine[2] = {color, key};
  std::vector<int32_t> all(static_cast<size_t>(2 * nranks));
  WEFT_CHECK(all_gather(mine, all.data(), sizeof(mine)));
  // Every rank sees every color, so a bad one fails the call on all of them alike.
  for (int q = 0; q < nranks; ++q) {
    const int32_t c = all[static_cast<size_t>(2 * q)];
    WEFT_REQUIRE(c >= 0 || c == WEFT_SPLIT_NOCOLOR, weftInvalidArgument,
                 "rank %d passed color %d (colors are >= 0, or WEFT_SPLIT_NOCOLOR, -1)", q,
                 static_cast<int>(c));
  }
  std::vector<int> members;  // the parent ranks of this rank's color, in their new order
  for (int q = 0; q < nranks; ++q)
    if (all[static_cast<size_t>(2 * q)] == color) members.push_back(q);
  std::stable_sort(members.begin(), members.end(), [&](int a, int b) {
    return all[static_cast<size_t>(2 * a + 1)] < all[static_cast<size_t>(2 * b + 1)];
  });
  const bool leader = color != WEFT_SPLIT_NOCOLOR && members.front() == rank;
  weftUniqueId id{};
  Status made;
  // A leader that cannot make an id still takes part, with zeros, so that the ranks of its
  // color fail at once too.
  if (leader && !(made = FreshUniqueId(&id)).ok()) id = weftUniqueId{};
  std::vector<weftUniqueId> ids(static_cast<size_t>(nranks));
  Status gathered = all_gather(&id, ids.data(), sizeof(id));
  if (!gathered.ok() || color == WEFT_SPLIT_NOCOLOR) {
    UniqueIdData unused;  // the leader: stop the root it started for nothing
    if (leader && made.ok() && DecodeUniqueId(id, &unused).ok()) ClaimRoot(unused.secret).reset();
    return gathered;  // NOCOLOR: no communicator, as NCCL's
  }
  WEFT_CHECK(made.WithContext("a unique id for the new communicator"));
  const weftUniqueId& theirs = ids[static_cast<size_t>(members.front())];
  const weftUniqueId zero{};
  WEFT_REQUIRE(std::memcmp(&theirs, &zero, sizeof(zero)) != 0, weftRemoteError,
               "rank %d (the first of color %d) could not make the new communicator's unique id",
               members.front(), color);
  const int new_rank =
      static_cast<int>(std::find(members.begin(), members.end(), rank) - members.begin());
  return InitRank(out, static_cast<int>(members.size()), theirs, new_rank, config)
      .WithContext(Format("the new communicator of color %d (%zu ranks)", color, members.size()));
}

}  // namespace weft
