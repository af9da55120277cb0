// RootServer: the bootstrap root. One thread accepts the ranks' connections and polls them,
// handing what they send to the job's Rendezvous (rendezvous.h: hellos, allgather rounds,
// shrink rounds, failure reports) until every rank has left. Never blocks on one
// connection: a client that never speaks, speaks garbage or lies about lengths is dropped
// without affecting the others.
#pragma once

#include <netinet/in.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "common/status.h"
#include "transport/bootstrap/socket.h"

namespace weft {

class RootServer {
 public:
  // Listens on `addr` (port 0 picks a free port). Every wait is bounded by timeout_ms: ranks
  // that have not all arrived by then get an error and the root stops.
  static Status Start(const sockaddr_in& addr, const std::array<uint8_t, 16>& secret,
                      int64_t timeout_ms, std::unique_ptr<RootServer>* out);
  // Serves on a socket that already listens (Socket::AdoptListener).
  static Status Start(Socket listener, const std::array<uint8_t, 16>& secret, int64_t timeout_ms,
                      std::unique_ptr<RootServer>* out);
  ~RootServer();
  RootServer(const RootServer&) = delete;
  RootServer& operator=(const RootServer&) = delete;

  uint16_t port() const { return port_; }
  const std::array<uint8_t, 16>& secret() const { return secret_; }
  // Number of connections dropped for bad input (for tests).
  int rejected() const { return rejected_.load(); }

 private:
  RootServer() = default;
  void Run();

  Socket listener_;
  uint16_t port_ = 0;
  std::array<uint8_t, 16> secret_{};
  int64_t timeout_ms_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<int> rejected_{0};
  std::thread thread_;
};

}  // namespace weft
