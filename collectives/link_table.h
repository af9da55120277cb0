// LinkTable: every link this rank's plans run on, by (channel, peer, direction). A peer on
// this host with a FIFO in shared memory (direct_links.h) is reached through it; any other
// peer, or a message too big for that FIFO's slots, through a link over the transport's
// tagged messages, made at its first use. Both ends of a link decide alike (they see the
// same plans, the same link map and the same message sizes), so no rank asks another which
// to use.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "collectives/plan.h"
#include "transport/link.h"
#include "transport/net_link.h"
#include "transport/transport.h"

namespace weft {

class LinkTable {
 public:
  LinkTable(Transport* transport, NetLinkShape net_shape)
      : transport_(transport), net_shape_(net_shape) {}
  // Cancels what is still posted and waits (at most a second) for it to end; links whose
  // requests do not end are kept allocated for the life of the process.
  ~LinkTable();
  LinkTable(const LinkTable&) = delete;
  LinkTable& operator=(const LinkTable&) = delete;

  // Shared-memory links, set up at init.
  void AddShm(int channel, std::unique_ptr<SendPort> port);
  void AddShm(int channel, std::unique_ptr<RecvPort> port);
  bool HasShm() const { return !shm_send_.empty() || !shm_recv_.empty(); }

  // The port for `link` of a plan whose elements have `elem_size` bytes.
  Status SendPortFor(const PlanLink& link, size_t elem_size, SendPort** out);
  Status RecvPortFor(const PlanLink& link, size_t elem_size, RecvPort** out);

  // After a failure: ends every outstanding transfer (their completions report errors).
  void CancelAll();
  // No transfer outstanding (receives only: no receive): nothing can still write into (or
  // read from) a link's memory.
  bool Quiescent(bool receives_only = false) const;
  // A send still on its way: the transport must be driven.
  bool InFlight() const;
  // "shm 3 in, 3 out; net 2 in, 2 out", for logs.
  std::string Describe() const;

 private:
  using Key = std::pair<int, int>;  // (channel, peer)
  Transport* transport_;
  NetLinkShape net_shape_;
  std::map<Key, std::unique_ptr<SendPort>> shm_send_, net_send_;
  std::map<Key, std::unique_ptr<RecvPort>> shm_recv_, net_recv_;
};

}  // namespace weft
