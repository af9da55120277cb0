// UcxTransport: the Transport over UCX's tag API. One UCP context and worker per
// communicator (so tags need no communicator id), endpoints created on first use from the
// worker addresses exchanged at bootstrap, peer failures reported by endpoint error
// callbacks. Not thread-safe: the communicator serializes every call (UCS_THREAD_MODE_SERIALIZED).
#pragma once

#include <ucp/api/ucp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transport/transport.h"

namespace weft {

struct UcxOptions {
  // Messages up to this many bytes go eagerly (UCX's RNDV_THRESH just above it); 0 leaves
  // the protocols to UCX. A UCX_RNDV_THRESH in the environment wins either way.
  size_t eager_max_bytes = 0;
  // The network devices UCX may use (UCX_NET_DEVICES' syntax, "mlx5_0:1"); empty leaves it
  // to UCX. A UCX_NET_DEVICES in the environment wins.
  std::string net_devices;
};

class UcxTransport : public Transport {
 public:
  // UCX chooses its protocols itself (UCX_* variables apply) unless `options` say otherwise:
  // docs/design-notes.md has when Weft does and the measurements.
  static Status Create(int rank, int nranks, const UcxOptions& options,
                       std::unique_ptr<UcxTransport>* out);
  ~UcxTransport() override;

  // This worker's address, to publish through the bootstrap.
  const std::vector<uint8_t>& address() const override { return address_; }
  // Whether this UCX build moves CUDA device memory (its cuda_copy/cuda_ipc transports).
  bool cuda_memory() const { return cuda_memory_; }
  // Everyone's addresses, indexed by rank (endpoints are made lazily from them), and which
  // ranks share this host. UCX 1.13's shared-memory transports cannot report a peer's
  // failure, so endpoints to local ranks use no UCX error handling (the communicator
  // watches local peers' processes instead); remote ones ask UCX to report failures.
  Status Connect(std::vector<std::vector<uint8_t>> addresses, std::vector<bool> same_host) override;
  void CloseEndpoints(int64_t timeout_ms) override;

  // Shared memory through UCX: a region this rank allocates with UCX's shared-memory
  // allocator (ucp_mem_map ALLOCATE) that a peer on the same host maps into its own address
  // space (ucp_rkey_ptr). The descriptor is the address and the packed rkey. Freed with the
  // transport. Mapping fails (no error state) when UCX has no transport that can map it,
  // e.g. with UCX_TLS=tcp.
  Status RegisterShared(size_t bytes, const RegisteredMemory** out) override;
  Status MapPeerMemory(int peer, const std::vector<uint8_t>& descriptor, void** local) override;

  int rank() const override { return rank_; }
  int nranks() const override { return nranks_; }
  Status Send(int peer, const void* buf, size_t bytes, MemoryType mem, uint64_t tag,
              Completion* c) override;
  Status Recv(int peer, void* buf, size_t bytes, MemoryType mem, uint64_t tag,
              Completion* c) override;
  void Cancel(Completion* c) override;
  bool Progress() override;
  void WaitForEvent(int timeout_ms) override;
  Status Health() const override { return health_; }
  // UCX cannot destroy an endpoint that still holds requests (ucp_worker_destroy asserts),
  // so a transport with abandoned requests leaves its worker and context allocated, and
  // reachable, for the life of the process (see the destructor).
  void AbandonOutstanding() override { abandoned_ = true; }

 private:
  struct ErrorArg {
    UcxTransport* self;  // null once the transport is gone and its worker left behind
    int peer;
  };
  void LeaveWorkerBehind();
  UcxTransport() = default;
  Status Endpoint(int peer, ucp_ep_h* ep);
  static void OnEndpointError(void* arg, ucp_ep_h ep, ucs_status_t status);

  int rank_ = 0;
  int nranks_ = 0;
  bool cuda_memory_ = false;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int event_fd_ = -1;
  std::vector<uint8_t> address_;
  std::vector<std::vector<uint8_t>> peer_addresses_;
  std::vector<bool> same_host_;
  std::vector<ucp_ep_h> endpoints_;
  std::vector<std::unique_ptr<ErrorArg>> error_args_;
  std::vector<ucp_mem_h> mapped_;
  std::vector<std::unique_ptr<RegisteredMemory>> registered_;
  std::vector<ucp_rkey_h> rkeys_;
  bool closing_ = false;
  bool abandoned_ = false;
  Status health_;
};

}  // namespace weft
