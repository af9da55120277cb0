#include "transport/bootstrap/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>

#include "common/name_list.h"

namespace weft {

int RemainingMs(Deadline d) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left > 1 << 30 ? 1 << 30 : left);
}

void Socket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status Socket::Listen(const sockaddr_in& addr, Socket* out, uint16_t* bound_port) {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return ErrnoStatus("socket");
  int one = 1;
  setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0)
    return ErrnoStatus(("bind " + AddressText(addr)).c_str());
  if (::listen(s.fd(), 1024) != 0) return ErrnoStatus("listen");
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  if (getsockname(s.fd(), reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    return ErrnoStatus("getsockname");
  *bound_port = ntohs(bound.sin_port);
  *out = std::move(s);
  return Status::Ok();
}

Status Socket::AdoptListener(int fd, uint16_t port, Socket* out) {
  int listening = 0, type = 0;
  socklen_t len = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    return ErrnoStatus(Format("fd %d is not a socket of this process", fd).c_str());
  len = sizeof(int);
  if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
      !listening)
    return InvalidArgument(Format("fd %d is not a listening TCP socket", fd));
  sockaddr_in bound{};
  len = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0 ||
      bound.sin_family != AF_INET)
    return InvalidArgument(Format("fd %d is not an IPv4 socket", fd));
  if (ntohs(bound.sin_port) != port)
    return InvalidArgument(
        Format("fd %d listens on port %u, not on port %u", fd, ntohs(bound.sin_port), port));
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return ErrnoStatus("fcntl(FD_CLOEXEC)");
  *out = Socket(fd);
  return Status::Ok();
}

Status Socket::Connect(const sockaddr_in& addr, Deadline deadline, Socket* out) {
  int delay_ms = 1;
  while (true) {
    Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return ErrnoStatus("socket");
    if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      int one = 1;
      setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      *out = std::move(s);
      return Status::Ok();
    }
    int err = errno;
    bool retry = err == ECONNREFUSED || err == EINTR || err == ETIMEDOUT || err == EAGAIN;
    if (!retry || Clock::now() >= deadline) {
      return Status(
          err == ECONNREFUSED || err == ETIMEDOUT ? weftTimeout : weftSystemError,
          Format("cannot connect to %s: %s", AddressText(addr).c_str(), std::strerror(err)));
    }
    // The root may not be listening yet: back off, bounded by the deadline.
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(delay_ms, RemainingMs(deadline))));
    delay_ms = std::min(delay_ms * 2, 100);
  }
}

Status Socket::Accept(Socket* out) const {
  int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    Status s = ErrnoStatus("accept");
    errno = e;  // the caller tells EMFILE from EAGAIN
    return s;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *out = Socket(fd);
  return Status::Ok();
}

namespace {
Status WaitFd(int fd, short events, Deadline deadline, const char* what) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, RemainingMs(deadline));
    if (rc > 0) return Status::Ok();
    if (rc == 0) return TimeoutError(Format("bootstrap %s timed out", what));
    if (errno != EINTR) return ErrnoStatus("poll");
  }
}
}  // namespace

Status Socket::SendAll(const void* data, size_t bytes, Deadline deadline) const {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = ::send(fd_, p, bytes, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      bytes -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      WEFT_CHECK(WaitFd(fd_, POLLOUT, deadline, "send"));
      continue;
    }
    return RemoteError(Format("bootstrap connection lost while sending: %s", std::strerror(errno)));
  }
  return Status::Ok();
}

Status Socket::RecvAll(void* data, size_t bytes, Deadline deadline) const {
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    ssize_t n = ::recv(fd_, p, bytes, MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      bytes -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return RemoteError("bootstrap connection closed by the peer");
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      WEFT_CHECK(WaitFd(fd_, POLLIN, deadline, "receive"));
      continue;
    }
    return RemoteError(Format("bootstrap connection lost: %s", std::strerror(errno)));
  }
  return Status::Ok();
}

Status ResolveHost(const std::string& host, uint16_t port, sockaddr_in* out) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr)
    return InvalidArgument(Format("cannot resolve host '%s': %s", host.c_str(), gai_strerror(rc)));
  *out = *reinterpret_cast<sockaddr_in*>(res->ai_addr);
  out->sin_port = htons(port);
  freeaddrinfo(res);
  return Status::Ok();
}

Status ResolveHostPort(const std::string& host_port, sockaddr_in* out) {
  size_t colon = host_port.rfind(':');
  WEFT_REQUIRE(colon != std::string::npos && colon > 0 && colon + 1 < host_port.size(),
               weftInvalidArgument, "'%s' is not host:port", host_port.c_str());
  std::string port_text = host_port.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  WEFT_REQUIRE(*end == '\0' && port > 0 && port < 65536, weftInvalidArgument,
               "'%s': port must be 1..65535", host_port.c_str());
  return ResolveHost(host_port.substr(0, colon), static_cast<uint16_t>(port), out);
}

std::string AddressText(const sockaddr_in& addr) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, buf, sizeof(buf));
  return Format("%s:%u", buf, ntohs(addr.sin_port));
}

bool InterfaceAllowed(const std::string& spec, const std::string& name) {
  return NameListAllows(spec, false, [&](const std::string& entry, bool exact) {
    return NameMatches(entry, name, exact);
  });
}

Status LocalAdvertisedAddress(const std::string& configured, const std::string& ifname_spec,
                              in_addr* out) {
  if (!configured.empty()) {
    WEFT_REQUIRE(inet_pton(AF_INET, configured.c_str(), out) == 1, weftInvalidArgument,
                 "WEFT_SOCKET_ADDR='%s' is not an IPv4 address", configured.c_str());
    return Status::Ok();
  }
  out->s_addr = htonl(INADDR_LOOPBACK);
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return Status::Ok();
  bool found = false;
  std::string seen;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0) continue;
    seen += std::string(seen.empty() ? "" : ", ") + i->ifa_name;
    if (found || !InterfaceAllowed(ifname_spec, i->ifa_name)) continue;
    *out = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr;
    found = true;
  }
  freeifaddrs(list);
  // An exclusion list that leaves nothing (a machine with loopback alone) falls back to the
  // loopback; interfaces asked for by name that are not there are the caller's mistake.
  WEFT_REQUIRE(found || ifname_spec.empty() || ifname_spec[0] == '^', weftInvalidArgument,
               "WEFT_SOCKET_IFNAME='%s' matches no IPv4 interface that is up (up: %s)",
               ifname_spec.c_str(), seen.empty() ? "none" : seen.c_str());
  return Status::Ok();
}

}  // namespace weft
