// weft-run: the local launcher. Starts N processes of one command with the variables
// weftCommInitFromEnv reads (WEFT_RANK, WEFT_NRANKS, WEFT_ROOT, WEFT_SECRET), prefixes
// every line they print with their rank, and ends the job as soon as one rank fails (unless
// --keep-going) or the timeout passes (SIGTERM, then SIGKILL two seconds later). Exits with
// the first failing rank's status (124 on timeout), 0 if every rank succeeded. Rank 0 gets
// its bootstrap listener already bound (WEFT_ROOT_FD).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/build_info.h"

namespace {

struct Rank {
  pid_t pid = -1;
  int out_fd = -1;  // the child's stdout
  int err_fd = -1;  // the child's stderr
  std::string out_partial, err_partial;
  bool exited = false;
  int status = 0;
};

volatile sig_atomic_t g_interrupted = 0;
void OnSignal(int) {
  g_interrupted = 1;
}

// Rank 0's bootstrap listener, bound to a free port of the loopback interface here and
// handed down to rank 0 (WEFT_ROOT_FD). Choosing a free port and letting rank 0 bind it
// later would race with every process that binds or connects meanwhile (parallel tests
// did take the port). Closed on exec: only rank 0 keeps it (its child clears the flag).
int BoundListener(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(fd, 1024) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

// The job's secret from the kernel's random source; empty if it has none to give (then the
// launch fails: a guessable secret would let strangers join).
std::string RandomHex() {
  std::array<unsigned char, 16> b{};
  size_t got = 0;
  while (got < b.size()) {
    const ssize_t n = getrandom(b.data() + got, b.size() - got, 0);
    if (n < 0 && errno != EINTR) return "";
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string s;
  char tmp[3];
  for (unsigned char x : b) {
    std::snprintf(tmp, sizeof(tmp), "%02x", x);
    s += tmp;
  }
  return s;
}

// Writes complete lines of `data` with the rank prefix; keeps the rest for later.
void EmitLines(int rank, std::string* partial, const char* data, size_t n, FILE* to, bool flush) {
  partial->append(data, n);
  size_t start = 0, nl;
  while ((nl = partial->find('\n', start)) != std::string::npos) {
    std::fprintf(to, "[%d] %.*s\n", rank, static_cast<int>(nl - start), partial->data() + start);
    start = nl + 1;
  }
  partial->erase(0, start);
  if (flush && !partial->empty()) {
    std::fprintf(to, "[%d] %s\n", rank, partial->c_str());
    partial->clear();
  }
  std::fflush(to);
}

bool Drain(int rank, int* fd, std::string* partial, FILE* to) {
  char buf[65536];
  ssize_t n = read(*fd, buf, sizeof(buf));
  if (n > 0) {
    EmitLines(rank, partial, buf, static_cast<size_t>(n), to, false);
    return true;
  }
  if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    EmitLines(rank, partial, "", 0, to, true);
    close(*fd);
    *fd = -1;
  }
  return false;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-run: run N local ranks of a Weft program"};
  app.set_version_flag("--version", "weft-run: " + weft::VersionName());
  int nranks = 0;
  double timeout_s = 0;
  std::vector<std::string> command;
  app.add_option("-n,--nranks", nranks, "number of ranks")->required()->check(CLI::Range(1, 4096));
  app.add_option("--timeout", timeout_s, "seconds before the job is killed (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  bool keep_going = false;
  app.add_flag("--keep-going", keep_going,
               "let the other ranks run on when one fails (fault tests); the exit status is "
               "still the first failing rank's");
  app.add_option("command", command, "program and its arguments (after --)")->required();
  CLI11_PARSE(app, argc, argv);

  int port = 0;
  int listener = BoundListener(&port);
  if (listener < 0) {
    std::fprintf(stderr, "weft-run: cannot listen on a free port: %s\n", std::strerror(errno));
    return 1;
  }
  const std::string root = "127.0.0.1:" + std::to_string(port);
  const std::string secret = RandomHex();
  if (secret.empty()) {
    std::fprintf(stderr, "weft-run: no random bytes for the job's secret: %s\n",
                 std::strerror(errno));
    return 1;
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  signal(SIGPIPE, SIG_IGN);

  std::vector<Rank> ranks(nranks);
  for (int r = 0; r < nranks; ++r) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      std::perror("weft-run: pipe");
      return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("weft-run: fork");
      return 1;
    }
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      setenv("WEFT_RANK", std::to_string(r).c_str(), 1);
      setenv("WEFT_NRANKS", std::to_string(nranks).c_str(), 1);
      setenv("WEFT_ROOT", root.c_str(), 1);
      setenv("WEFT_SECRET", secret.c_str(), 1);
      if (r == 0) {
        fcntl(listener, F_SETFD, 0);  // rank 0 keeps it across exec
        setenv("WEFT_ROOT_FD", std::to_string(listener).c_str(), 1);
      } else {
        unsetenv("WEFT_ROOT_FD");
      }
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      std::vector<char*> args;
      for (auto& a : command)
        args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      std::fprintf(stderr, "weft-run: cannot run %s: %s\n", args[0], std::strerror(errno));
      _exit(127);
    }
    if (r == 0) close(listener);  // rank 0 has it now
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    ranks[r].pid = pid;
    ranks[r].out_fd = out[0];
    ranks[r].err_fd = err[0];
  }

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  Clock::time_point kill_at{};  // when SIGKILL follows the SIGTERM
  Clock::time_point all_exited_at{};
  bool terminating = false;
  int result = 0;
  int first_failed = -1;
  auto terminate_all = [&](const char* why) {
    if (terminating) return;
    terminating = true;
    std::fprintf(stderr, "weft-run: %s; stopping the other ranks\n", why);
    for (Rank& rk : ranks)
      if (!rk.exited) kill(rk.pid, SIGTERM);
    kill_at = Clock::now() + std::chrono::seconds(2);
  };

  while (true) {
    std::vector<pollfd> fds;
    std::vector<std::pair<int, bool>> who;  // rank, is_stderr
    for (int r = 0; r < nranks; ++r) {
      if (ranks[r].out_fd >= 0)
        fds.push_back({ranks[r].out_fd, POLLIN, 0}), who.push_back({r, false});
      if (ranks[r].err_fd >= 0)
        fds.push_back({ranks[r].err_fd, POLLIN, 0}), who.push_back({r, true});
    }
    poll(fds.data(), fds.size(), 50);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Rank& rk = ranks[who[i].first];
      if (who[i].second)
        Drain(who[i].first, &rk.err_fd, &rk.err_partial, stderr);
      else
        Drain(who[i].first, &rk.out_fd, &rk.out_partial, stdout);
    }
    bool all_exited = true;
    for (int r = 0; r < nranks; ++r) {
      Rank& rk = ranks[r];
      if (!rk.exited && waitpid(rk.pid, &rk.status, WNOHANG) == rk.pid) {
        rk.exited = true;
        int code = ExitCode(rk.status);
        if (code != 0 && first_failed < 0 && !terminating) {
          first_failed = r;
          result = code;
          std::string why =
              "rank " + std::to_string(r) + " failed with status " + std::to_string(code);
          if (keep_going)
            std::fprintf(stderr, "weft-run: %s; the other ranks run on\n", why.c_str());
          else
            terminate_all(why.c_str());
        }
      }
      all_exited = all_exited && rk.exited;
    }
    if (all_exited) {
      bool open_fds = false;
      for (Rank& rk : ranks)
        open_fds = open_fds || rk.out_fd >= 0 || rk.err_fd >= 0;
      if (!open_fds) break;
      // A rank's own children may hold its pipes open: read for one more second at most.
      if (all_exited_at == Clock::time_point{}) all_exited_at = Clock::now();
      if (Clock::now() - all_exited_at > std::chrono::seconds(1)) break;
    }
    if (g_interrupted) terminate_all("interrupted");
    if (timeout_s > 0 && !terminating &&
        Clock::now() - start > std::chrono::duration<double>(timeout_s)) {
      result = 124;
      terminate_all("timeout expired");
    }
    if (terminating && Clock::now() >= kill_at) {
      for (Rank& rk : ranks)
        if (!rk.exited) kill(rk.pid, SIGKILL);
      if (all_exited) break;
    }
  }
  if (g_interrupted && result == 0) result = 130;
  return result;
}
