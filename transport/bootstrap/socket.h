// Socket: an owned TCP file descriptor, and the deadline-bounded I/O the bootstrap uses.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace weft {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline DeadlineIn(int64_t ms) {
  return Clock::now() + std::chrono::milliseconds(ms);
}
int RemainingMs(Deadline d);  // >= 0

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { Close(); }
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      Close();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();

  // Listens on addr:port (port 0 picks one); reports the bound port.
  static Status Listen(const sockaddr_in& addr, Socket* out, uint16_t* bound_port);
  // Takes over a listening socket another process handed down (a launcher that chose and
  // bound the port, so that nothing can take it before this process listens). Fails unless
  // `fd` is a listening TCP socket bound to `port`; the socket is closed on exec from then.
  static Status AdoptListener(int fd, uint16_t port, Socket* out);
  // Connects, retrying refused connections until the deadline (the listener may start late).
  static Status Connect(const sockaddr_in& addr, Deadline deadline, Socket* out);
  Status Accept(Socket* out) const;

  Status SendAll(const void* data, size_t bytes, Deadline deadline) const;
  Status RecvAll(void* data, size_t bytes, Deadline deadline) const;

 private:
  int fd_ = -1;
};

// "host:port" -> address (host by name or dotted quad).
Status ResolveHostPort(const std::string& host_port, sockaddr_in* out);
Status ResolveHost(const std::string& host, uint16_t port, sockaddr_in* out);
std::string AddressText(const sockaddr_in& addr);
// Whether WEFT_SOCKET_IFNAME's `spec` (NCCL_SOCKET_IFNAME's syntax: "eth,ib" name prefixes,
// "^docker,lo" all but those, "=eth0" whole names) allows interface `name`.
bool InterfaceAllowed(const std::string& spec, const std::string& name);
// The address weftGetUniqueId advertises: `configured` (WEFT_SOCKET_ADDR), else the first
// IPv4 interface that is up and `ifname_spec` allows; if none, 127.0.0.1 where the spec only
// excludes, an error naming the interfaces up where it names some.
Status LocalAdvertisedAddress(const std::string& configured, const std::string& ifname_spec,
                              in_addr* out);

}  // namespace weft
