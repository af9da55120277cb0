// weftCommInitFromEnv: rank, size and rendezvous from the launcher's variables.
#include <arpa/inet.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collectives/api_internal.h"
#include "common/config.h"
#include "common/log.h"
#include "transport/bootstrap/socket.h"

namespace weft {
namespace {

struct LaunchInfo {
  int rank = -1;
  int nranks = -1;
  std::string root;  // host:port
  std::string source;
};

bool EnvInt(const char* name, int* out) {
  std::string v;
  int64_t x;
  if (!ProcessEnv(name, &v) || !ParseInt(v, &x)) return false;
  *out = static_cast<int>(x);
  return true;
}

// The first launcher whose variables are present wins: Weft's own, then mpirun, srun and
// torchrun. The rendezvous address is WEFT_ROOT, else torchrun's MASTER_ADDR with
// MASTER_PORT+1 (MASTER_PORT itself is torch's store).
std::string HostOf(const std::string& host_port) {
  return host_port.substr(0, host_port.rfind(':'));
}

Status ReadLaunchInfo(const Config& config, LaunchInfo* info) {
  if (config.rank >= 0 || config.nranks >= 0) {
    info->rank = static_cast<int>(config.rank);
    info->nranks = static_cast<int>(config.nranks);
    info->source = "WEFT_RANK/WEFT_NRANKS";
  } else if (EnvInt("OMPI_COMM_WORLD_RANK", &info->rank) &&
             EnvInt("OMPI_COMM_WORLD_SIZE", &info->nranks)) {
    info->source = "OMPI_COMM_WORLD_RANK/SIZE";
  } else if (EnvInt("PMI_RANK", &info->rank) && EnvInt("PMI_SIZE", &info->nranks)) {
    info->source = "PMI_RANK/PMI_SIZE";
  } else if (EnvInt("SLURM_PROCID", &info->rank) && EnvInt("SLURM_NTASKS", &info->nranks)) {
    info->source = "SLURM_PROCID/SLURM_NTASKS";
  } else if (EnvInt("RANK", &info->rank) && EnvInt("WORLD_SIZE", &info->nranks)) {
    info->source = "RANK/WORLD_SIZE";
  } else {
    return InvalidArgument(
        "weftCommInitFromEnv: no rank found: set WEFT_RANK, WEFT_NRANKS and WEFT_ROOT, or start "
        "the processes with weft-run, mpirun, srun or torchrun");
  }
  WEFT_REQUIRE(info->nranks >= 1 && info->rank >= 0 && info->rank < info->nranks,
               weftInvalidArgument, "weftCommInitFromEnv: rank %d / size %d from %s is invalid",
               info->rank, info->nranks, info->source.c_str());
  std::string addr, port;
  int port_num = 0;
  if (!config.root.empty()) {
    info->root = config.root;
  } else if (ProcessEnv("MASTER_ADDR", &addr) && EnvInt("MASTER_PORT", &port_num)) {
    info->root = addr + ":" + std::to_string(port_num + 1);
  } else {
    return InvalidArgument(
        Format("weftCommInitFromEnv: rank %d of %d (from %s) has no rendezvous address: set "
               "WEFT_ROOT=host:port (rank 0 listens there) or MASTER_ADDR/MASTER_PORT",
               info->rank, info->nranks, info->source.c_str()));
  }
  return Status::Ok();
}

Status ParseSecret(const std::string& hex, const char* source, std::array<uint8_t, 16>* out) {
  std::string why;
  WEFT_REQUIRE(IsSecret(hex, &why) && !hex.empty(), weftInvalidArgument, "%s: %s", source,
               why.c_str());
  for (size_t i = 0; i < 16; ++i)
    (*out)[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  return Status::Ok();
}

}  // namespace

// WEFT_SECRET, else WEFT_SECRET_FILE; without either the secret is derived from what every
// rank of this job shares: it keeps other jobs out, not attackers, and the process is told
// so once.
Status JobSecret(const Config& config, const std::string& key, std::array<uint8_t, 16>* out) {
  if (!config.secret.empty()) return ParseSecret(config.secret, "WEFT_SECRET", out);
  if (!config.secret_file.empty()) {
    std::string hex, why;
    WEFT_REQUIRE(ReadSecretFile(config.secret_file, &hex, &why), weftInvalidArgument,
                 "WEFT_SECRET_FILE='%s' %s", config.secret_file.c_str(), why.c_str());
    return ParseSecret(hex, "WEFT_SECRET_FILE", out);
  }
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true))
    WEFT_WARN(kLogInit,
              "the bootstrap at %s is unauthenticated: any process that reaches it can join as a "
              "rank. Set WEFT_SECRET or WEFT_SECRET_FILE on every rank (weft-run and the torch "
              "backend do), or pass a weftGetUniqueId id (docs/security.md)",
              key.substr(0, key.find('/')).c_str());
  uint64_t h1 = 1469598103934665603ull, h2 = 0x9e3779b97f4a7c15ull;
  for (unsigned char c : key) {
    h1 = (h1 ^ c) * 1099511628211ull;
    h2 = (h2 ^ c) * 0x100000001b3ull + 0x7f4a7c15;
  }
  for (int i = 0; i < 8; ++i) {
    (*out)[i] = static_cast<uint8_t>(h1 >> (8 * i));
    (*out)[8 + i] = static_cast<uint8_t>(h2 >> (8 * i));
  }
  return Status::Ok();
}

// The address the root listens on: the one its host:port names, so that a job on
// 127.0.0.1 is not reachable from the network. One exception: a host name (not an address
// or "localhost") that resolves to loopback here, as Debian's /etc/hosts maps a machine's
// own name to 127.0.1.1 while other hosts resolve it to its network address; then every
// address, or ranks elsewhere could not reach it.
sockaddr_in RootBindAddress(const sockaddr_in& root, const std::string& host) {
  sockaddr_in bind_to = root;
  in_addr literal{};
  const bool named = inet_pton(AF_INET, host.c_str(), &literal) != 1 && host != "localhost";
  const bool loopback = (ntohl(root.sin_addr.s_addr) >> 24) == 127;
  if (named && loopback) bind_to.sin_addr.s_addr = htonl(INADDR_ANY);
  return bind_to;
}

// On the socket rank 0's launcher bound for it (WEFT_ROOT_FD; choosing a free port and
// binding it later in another process races with every other process that binds or
// connects), else it binds the port itself. The handed down socket serves the process's
// first communicator from the environment; later ones bind, as there is no second socket.
Status ServeRoot(const Config& config, const UniqueIdData& id, const std::string& host,
                 std::unique_ptr<RootServer>* root) {
  static std::atomic<bool> inherited_socket_taken{false};
  const uint16_t port = ntohs(id.root.sin_port);
  if (config.root_fd >= 0 && !inherited_socket_taken.exchange(true)) {
    Socket listener;
    WEFT_CHECK(
        Socket::AdoptListener(static_cast<int>(config.root_fd), port, &listener)
            .WithContext(Format("WEFT_ROOT_FD=%lld", static_cast<long long>(config.root_fd))));
    return RootServer::Start(std::move(listener), id.secret, config.timeout_ms, root);
  }
  return RootServer::Start(RootBindAddress(id.root, host), id.secret, config.timeout_ms, root);
}

namespace {

Status InitFromEnv(weftComm_t* comm) {
  WEFT_REQUIRE(comm != nullptr, weftInvalidArgument, "comm pointer is NULL");
  Config config;
  WEFT_CHECK(LoadCommConfig(nullptr, &config));
  LaunchInfo info;
  WEFT_CHECK(ReadLaunchInfo(config, &info));
  UniqueIdData id;
  WEFT_CHECK(ResolveHostPort(info.root, &id.root));
  WEFT_CHECK(JobSecret(config, info.root + "/" + std::to_string(info.nranks), &id.secret));
  std::unique_ptr<RootServer> root;
  if (info.rank == 0)
    WEFT_CHECK(ServeRoot(config, id, HostOf(info.root), &root)
                   .WithContext("rank 0 cannot listen on WEFT_ROOT " + info.root));
  return InitCommunicator(comm, info.nranks, id, info.rank, std::move(root), config);
}

}  // namespace
}  // namespace weft

extern "C" weftResult_t weftCommInitFromEnv(weftComm_t* comm) {
  return weft::Report(weft::InitFromEnv(comm).WithContext("weftCommInitFromEnv"));
}
