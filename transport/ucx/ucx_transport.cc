#include "transport/ucx/ucx_transport.h"

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "common/keep_for_life.h"
#include "common/log.h"

namespace weft {
namespace {

Status UcxStatus(ucs_status_t s, const char* what) {
  return SystemError(Format("%s failed: %s", what, ucs_status_string(s)));
}

ucs_memory_type_t UcsMemoryType(MemoryType m) {
  return m == MemoryType::kCuda ? UCS_MEMORY_TYPE_CUDA : UCS_MEMORY_TYPE_HOST;
}

void Complete(Completion* c, ucs_status_t status) {
  c->done = true;
  c->handle = nullptr;
  if (status == UCS_ERR_MESSAGE_TRUNCATED) {
    // A message longer than its receive: the two sides disagree on a count or type.
    c->status = InvalidUsage(
        "the message is longer than the receive buffer (the sender's count or type differs)");
  } else if (status != UCS_OK) {
    c->status = RemoteError(Format("transport: %s", ucs_status_string(status)));
  }
}

void OnSendDone(void* request, ucs_status_t status, void* user_data) {
  Complete(static_cast<Completion*>(user_data), status);
  ucp_request_free(request);
}

void OnRecvDone(void* request, ucs_status_t status, const ucp_tag_recv_info_t* info,
                void* user_data) {
  auto* c = static_cast<Completion*>(user_data);
  if (status == UCS_OK) c->bytes = info->length;
  Complete(c, status);
  ucp_request_free(request);
}

}  // namespace

Status UcxTransport::Create(int rank, int nranks, const UcxOptions& options,
                            std::unique_ptr<UcxTransport>* out) {
  std::unique_ptr<UcxTransport> t(new UcxTransport());
  t->rank_ = rank;
  t->nranks_ = nranks;
  ucp_config_t* config = nullptr;
  ucs_status_t s = ucp_config_read(nullptr, nullptr, &config);
  if (s != UCS_OK) return UcxStatus(s, "ucp_config_read");
  if (options.eager_max_bytes > 0 && std::getenv("UCX_RNDV_THRESH") == nullptr) {
    const std::string thresh = std::to_string(options.eager_max_bytes + 1);
    s = ucp_config_modify(config, "RNDV_THRESH", thresh.c_str());
    if (s != UCS_OK) {
      ucp_config_release(config);
      return UcxStatus(s, "ucp_config_modify(RNDV_THRESH)");
    }
    WEFT_INFO(kLogInit, "UCX: messages up to %zu bytes go eagerly (RNDV_THRESH=%s)",
              options.eager_max_bytes, thresh.c_str());
  }
  if (!options.net_devices.empty() && std::getenv("UCX_NET_DEVICES") == nullptr) {
    s = ucp_config_modify(config, "NET_DEVICES", options.net_devices.c_str());
    if (s != UCS_OK) {
      ucp_config_release(config);
      return UcxStatus(s, ("ucp_config_modify(NET_DEVICES=" + options.net_devices + ")").c_str());
    }
  }
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED |
                      UCP_PARAM_FIELD_ESTIMATED_NUM_EPS;
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP | UCP_FEATURE_RMA;
  params.mt_workers_shared = 0;
  params.estimated_num_eps = static_cast<size_t>(nranks);
  s = ucp_init(&params, config, &t->context_);
  ucp_config_release(config);
  if (s != UCS_OK) return UcxStatus(s, "ucp_init");
  // Which memory UCX can move itself: CUDA only where it was built with its CUDA transports
  // (Debian's and Ubuntu's packages are not); device collectives stage through host memory
  // otherwise (docs/cuda.md).
  ucp_context_attr_t attr{};
  attr.field_mask = UCP_ATTR_FIELD_MEMORY_TYPES;
  if (ucp_context_query(t->context_, &attr) == UCS_OK) {
    t->cuda_memory_ = (attr.memory_types & UCS_BIT(UCS_MEMORY_TYPE_CUDA)) != 0;
    WEFT_INFO(kLogInit, "UCX %s moves %s", ucp_get_version_string(),
              t->cuda_memory_ ? "host and CUDA memory" : "host memory only (no CUDA transports)");
  }

  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SERIALIZED;
  s = ucp_worker_create(t->context_, &wp, &t->worker_);
  if (s != UCS_OK) return UcxStatus(s, "ucp_worker_create");
  s = ucp_worker_get_efd(t->worker_, &t->event_fd_);
  if (s != UCS_OK) t->event_fd_ = -1;  // no wake-up support: WaitForEvent naps instead

  ucp_address_t* addr = nullptr;
  size_t len = 0;
  s = ucp_worker_get_address(t->worker_, &addr, &len);
  if (s != UCS_OK) return UcxStatus(s, "ucp_worker_get_address");
  const auto* bytes = reinterpret_cast<const uint8_t*>(addr);
  t->address_.assign(bytes, bytes + len);
  ucp_worker_release_address(t->worker_, addr);
  *out = std::move(t);
  return Status::Ok();
}

UcxTransport::~UcxTransport() {
  if (abandoned_) {
    LeaveWorkerBehind();
    return;
  }
  for (ucp_rkey_h k : rkeys_)
    ucp_rkey_destroy(k);
  CloseEndpoints(0);
  for (ucp_mem_h m : mapped_)
    ucp_mem_unmap(context_, m);
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  if (context_ != nullptr) ucp_cleanup(context_);
}

// What a transport with abandoned requests leaves: the worker is never progressed again, so
// no request completes and no endpoint error is reported, but its memory stays valid
// (reachable from here, so leak checkers do not report it). Failed communicators only.
void UcxTransport::LeaveWorkerBehind() {
  struct Remains {
    ucp_context_h context;
    ucp_worker_h worker;
    std::vector<ucp_mem_h> mapped;
    std::vector<ucp_rkey_h> rkeys;
    std::vector<std::unique_ptr<ErrorArg>> error_args;
  };
  for (auto& a : error_args_)
    if (a) a->self = nullptr;
  WEFT_WARN(kLogNet,
            "UCX still holds requests to unreachable peers: leaving this communicator's UCX "
            "worker allocated (UCX cannot destroy endpoints that hold requests)");
  KeepForLife(
      Remains{context_, worker_, std::move(mapped_), std::move(rkeys_), std::move(error_args_)});
}

Status UcxTransport::Connect(std::vector<std::vector<uint8_t>> addresses,
                             std::vector<bool> same_host) {
  WEFT_REQUIRE(static_cast<int>(addresses.size()) == nranks_ &&
                   static_cast<int>(same_host.size()) == nranks_,
               weftInternalError, "got %zu worker addresses for %d ranks", addresses.size(),
               nranks_);
  peer_addresses_ = std::move(addresses);
  same_host_ = std::move(same_host);
  endpoints_.assign(nranks_, nullptr);
  error_args_.resize(nranks_);
  return Status::Ok();
}

void UcxTransport::OnEndpointError(void* arg, ucp_ep_h, ucs_status_t status) {
  auto* a = static_cast<ErrorArg*>(arg);
  if (a->self == nullptr || a->self->closing_ || !a->self->health_.ok()) return;
  a->self->health_ = RemoteError(
      Format("connection to rank %d failed: %s (the process died or the network failed)", a->peer,
             ucs_status_string(status)));
  WEFT_WARN(kLogNet, "%s", a->self->health_.message().c_str());
}

Status UcxTransport::Endpoint(int peer, ucp_ep_h* ep) {
  WEFT_REQUIRE(peer >= 0 && peer < nranks_ && !endpoints_.empty(), weftInternalError,
               "no address for rank %d", peer);
  if (endpoints_[peer] == nullptr) {
    error_args_[peer] = std::make_unique<ErrorArg>(ErrorArg{this, peer});
    ucp_ep_params_t p{};
    p.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                   UCP_EP_PARAM_FIELD_ERR_HANDLER;
    p.address = reinterpret_cast<const ucp_address_t*>(peer_addresses_[peer].data());
    p.err_mode = same_host_[peer] ? UCP_ERR_HANDLING_MODE_NONE : UCP_ERR_HANDLING_MODE_PEER;
    p.err_handler.cb = &UcxTransport::OnEndpointError;
    p.err_handler.arg = error_args_[peer].get();
    ucs_status_t s = ucp_ep_create(worker_, &p, &endpoints_[peer]);
    if (s != UCS_OK) {
      const char* tls = std::getenv("UCX_TLS");
      return SystemError(Format("UCX cannot reach rank %d (%s) with UCX_TLS=%s: %s", peer,
                                same_host_[peer] ? "same host" : "another host",
                                tls ? tls : "(default)", ucs_status_string(s)));
    }
    WEFT_INFO(kLogNet, "rank %d: endpoint to rank %d created", rank_, peer);
  }
  *ep = endpoints_[peer];
  return Status::Ok();
}

Status UcxTransport::RegisterShared(size_t bytes, const RegisteredMemory** out) {
  ucp_mem_map_params_t p{};
  p.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                 UCP_MEM_MAP_PARAM_FIELD_FLAGS;
  p.address = nullptr;
  p.length = bytes;
  p.flags = UCP_MEM_MAP_ALLOCATE;
  ucp_mem_h memh;
  ucs_status_t s = ucp_mem_map(context_, &p, &memh);
  if (s != UCS_OK) return UcxStatus(s, "ucp_mem_map");
  mapped_.push_back(memh);
  ucp_mem_attr_t attr{};
  attr.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS | UCP_MEM_ATTR_FIELD_LENGTH;
  s = ucp_mem_query(memh, &attr);
  if (s != UCS_OK) return UcxStatus(s, "ucp_mem_query");
  void* rkey = nullptr;
  size_t rkey_bytes = 0;
  s = ucp_rkey_pack(context_, memh, &rkey, &rkey_bytes);
  if (s != UCS_OK) return UcxStatus(s, "ucp_rkey_pack");
  const uint64_t addr = reinterpret_cast<uintptr_t>(attr.address);
  auto m = std::make_unique<RegisteredMemory>();
  m->local = attr.address;
  m->bytes = attr.length;
  m->descriptor.resize(8 + rkey_bytes);
  std::memcpy(m->descriptor.data(), &addr, 8);
  std::memcpy(m->descriptor.data() + 8, rkey, rkey_bytes);
  ucp_rkey_buffer_release(rkey);
  std::memset(m->local, 0, bytes);
  registered_.push_back(std::move(m));
  *out = registered_.back().get();
  return Status::Ok();
}

Status UcxTransport::MapPeerMemory(int peer, const std::vector<uint8_t>& descriptor, void** local) {
  WEFT_REQUIRE(descriptor.size() > 8, weftRemoteError, "shared region descriptor too short");
  ucp_ep_h ep;
  WEFT_CHECK(Endpoint(peer, &ep));
  uint64_t addr;
  std::memcpy(&addr, descriptor.data(), 8);
  ucp_rkey_h rkey;
  ucs_status_t s = ucp_ep_rkey_unpack(ep, descriptor.data() + 8, &rkey);
  if (s != UCS_OK) return UcxStatus(s, "ucp_ep_rkey_unpack");
  rkeys_.push_back(rkey);
  s = ucp_rkey_ptr(rkey, addr, local);
  if (s != UCS_OK) return UcxStatus(s, Format("ucp_rkey_ptr for rank %d", peer).c_str());
  return Status::Ok();
}

Status UcxTransport::Send(int peer, const void* buf, size_t bytes, MemoryType mem, uint64_t tag,
                          Completion* c) {
  WEFT_CHECK(health_);
  ucp_ep_h ep;
  WEFT_CHECK(Endpoint(peer, &ep));
  *c = Completion();
  ucp_request_param_t p{};
  p.op_attr_mask =
      UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_MEMORY_TYPE;
  p.cb.send = OnSendDone;
  p.user_data = c;
  p.memory_type = UcsMemoryType(mem);
  ucs_status_ptr_t r = ucp_tag_send_nbx(ep, buf, bytes, tag, &p);
  if (r == nullptr) {
    c->done = true;
  } else if (UCS_PTR_IS_ERR(r)) {
    return RemoteError(
        Format("send to rank %d failed: %s", peer, ucs_status_string(UCS_PTR_STATUS(r))));
  } else {
    c->handle = r;
  }
  return Status::Ok();
}

Status UcxTransport::Recv(int peer, void* buf, size_t bytes, MemoryType mem, uint64_t tag,
                          Completion* c) {
  (void)peer;  // the tag carries the source rank
  *c = Completion();
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                   UCP_OP_ATTR_FIELD_MEMORY_TYPE | UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  p.cb.recv = OnRecvDone;
  p.user_data = c;
  p.memory_type = UcsMemoryType(mem);
  ucs_status_ptr_t r = ucp_tag_recv_nbx(worker_, buf, bytes, tag, ~uint64_t{0}, &p);
  if (UCS_PTR_IS_ERR(r))
    return RemoteError(Format("receive failed: %s", ucs_status_string(UCS_PTR_STATUS(r))));
  c->handle = r;
  return Status::Ok();
}

void UcxTransport::Cancel(Completion* c) {
  if (!c->done && c->handle != nullptr) ucp_request_cancel(worker_, c->handle);
}

bool UcxTransport::Progress() {
  return ucp_worker_progress(worker_) != 0;
}

void UcxTransport::WaitForEvent(int timeout_ms) {
  if (event_fd_ < 0) {
    poll(nullptr, 0, timeout_ms > 1 ? 1 : timeout_ms);
    return;
  }
  ucs_status_t s = ucp_worker_arm(worker_);
  if (s == UCS_ERR_BUSY) return;  // events are pending: progress again
  pollfd p{event_fd_, POLLIN, 0};
  poll(&p, 1, timeout_ms);
}

void UcxTransport::CloseEndpoints(int64_t timeout_ms) {
  closing_ = true;
  std::vector<ucs_status_ptr_t> pending;
  for (ucp_ep_h& ep : endpoints_) {
    if (ep == nullptr) continue;
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = timeout_ms > 0 && health_.ok() ? 0 : UCP_EP_CLOSE_FLAG_FORCE;
    ucs_status_ptr_t r = ucp_ep_close_nbx(ep, &p);
    if (r != nullptr && !UCS_PTR_IS_ERR(r)) pending.push_back(r);
    ep = nullptr;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (ucs_status_ptr_t r : pending) {
    while (ucp_request_check_status(r) == UCS_INPROGRESS &&
           std::chrono::steady_clock::now() < deadline) {
      if (ucp_worker_progress(worker_) == 0) WaitForEvent(1);
    }
    if (ucp_request_check_status(r) == UCS_INPROGRESS) ucp_request_cancel(worker_, r);
    ucp_request_free(r);
  }
}

}  // namespace weft
