#include "transport/bootstrap/root.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "transport/bootstrap/rendezvous.h"

namespace weft {

Status RootServer::Start(const sockaddr_in& addr, const std::array<uint8_t, 16>& secret,
                         int64_t timeout_ms, std::unique_ptr<RootServer>* out) {
  Socket listener;
  uint16_t port = 0;
  WEFT_CHECK(Socket::Listen(addr, &listener, &port));
  return Start(std::move(listener), secret, timeout_ms, out);
}

Status RootServer::Start(Socket listener, const std::array<uint8_t, 16>& secret, int64_t timeout_ms,
                         std::unique_ptr<RootServer>* out) {
  std::unique_ptr<RootServer> root(new RootServer());
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  if (getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&bound), &len) != 0)
    return ErrnoStatus("getsockname");
  root->port_ = ntohs(bound.sin_port);
  root->listener_ = std::move(listener);
  fcntl(root->listener_.fd(), F_SETFL, O_NONBLOCK);
  if (pipe2(root->stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus("pipe2");
  root->secret_ = secret;
  root->timeout_ms_ = timeout_ms;
  root->thread_ = std::thread([r = root.get()] { r->Run(); });
  *out = std::move(root);
  return Status::Ok();
}

RootServer::~RootServer() {
  if (stop_pipe_[1] >= 0) {
    char c = 1;
    (void)!write(stop_pipe_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : stop_pipe_)
    if (fd >= 0) close(fd);
}

// Out of descriptors (EMFILE, ENFILE), the listener stays readable: the root frees one by
// dropping a stranger and stops listening for a moment instead of spinning on accept.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);

void RootServer::Run() {
  Rendezvous job(secret_, timeout_ms_, &rejected_);
  Deadline listen_again = Clock::now();
  while (true) {
    const bool listening = Clock::now() >= listen_again;
    std::vector<pollfd> fds = {{stop_pipe_[0], POLLIN, 0},
                               {listening ? listener_.fd() : -1, POLLIN, 0}};
    const std::vector<pollfd> members = job.PollFds();
    fds.insert(fds.end(), members.begin(), members.end());
    Deadline wake = job.NextWake();
    if (!listening && listen_again < wake) wake = listen_again;
    const int rc = poll(fds.data(), fds.size(), RemainingMs(wake));
    if (rc < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;  // the owner asked us to stop
    for (size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents != 0) job.Read(i - 2);
    if (fds[1].revents & POLLIN) {
      Socket s;
      while (listener_.Accept(&s).ok())
        job.Accept(std::move(s));
      if (errno == EMFILE || errno == ENFILE) {
        job.DropOldestStranger("out of descriptors");
        listen_again = Clock::now() + kAcceptBackoff;
      }
    }
    if (job.Tick()) break;
  }
}

}  // namespace weft
