#include "bench/perf_gloo.h"

#ifdef WEFT_HAVE_GLOO
#include <arpa/inet.h>
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/reduce.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <stdexcept>
#include <vector>

#include "common/config.h"
#include "transport/bootstrap/socket.h"
#endif

namespace weft::perf {

#ifdef WEFT_HAVE_GLOO
namespace {

// Gloo's rendezvous store over the Weft communicator. Gloo's full-mesh connect has every rank
// set exactly one key (its pairs' addresses) and then wait for and get the others', so a set
// is collective here: every rank's (key, value) travels to every rank by two all-gathers
// (lengths, then the padded records) and lands in a local map that get and wait read.
class WeftStore : public gloo::rendezvous::Store {
 public:
  explicit WeftStore(weftComm_t comm) : comm_(comm) { weftCommCount(comm, &nranks_); }

  void set(const std::string& key, const std::vector<char>& data) override {
    std::vector<char> record(sizeof(uint64_t) + key.size() + data.size());
    const uint64_t key_size = key.size();
    std::memcpy(record.data(), &key_size, sizeof(key_size));
    std::memcpy(record.data() + sizeof(key_size), key.data(), key.size());
    std::memcpy(record.data() + sizeof(key_size) + key.size(), data.data(), data.size());
    uint64_t mine = record.size();
    std::vector<uint64_t> sizes(static_cast<size_t>(nranks_));
    Check(weftAllGather(&mine, sizes.data(), 1, weftUint64, comm_, nullptr));
    uint64_t longest = 0;
    for (uint64_t s : sizes)
      longest = std::max(longest, s);
    record.resize(longest);
    std::vector<char> all(longest * static_cast<size_t>(nranks_));
    Check(weftAllGather(record.data(), all.data(), longest, weftInt8, comm_, nullptr));
    for (size_t r = 0; r < sizes.size(); ++r) {
      const char* rec = all.data() + r * longest;
      uint64_t ks;
      std::memcpy(&ks, rec, sizeof(ks));
      const char* value = rec + sizeof(ks) + ks;
      values_[std::string(rec + sizeof(ks), ks)] = std::vector<char>(value, rec + sizes[r]);
    }
  }

  std::vector<char> get(const std::string& key) override {
    auto it = values_.find(key);
    if (it == values_.end())
      throw std::runtime_error("Gloo asked for key '" + key + "' that no rank set");
    return it->second;
  }

  void wait(const std::vector<std::string>& keys) override {
    for (const std::string& k : keys)
      get(k);
  }

 private:
  static void Check(weftResult_t r) {
    if (r != weftSuccess)
      throw std::runtime_error(std::string("the store's all-gather: ") + weftGetLastError(nullptr));
  }

  weftComm_t comm_;
  int nranks_ = 1;
  std::map<std::string, std::vector<char>> values_;
};

using ReduceFn = void (*)(void*, const void*, const void*, size_t);

template <typename T>
ReduceFn ReduceFunction(weftRedOp_t op) {
  switch (op) {
    case weftSum:
      return &gloo::sum<T>;
    case weftProd:
      return &gloo::product<T>;
    case weftMax:
      return &gloo::max<T>;
    case weftMin:
      return &gloo::min<T>;
    default:
      return nullptr;
  }
}

class GlooRun final : public GlooBaseline {
 public:
  explicit GlooRun(std::shared_ptr<gloo::Context> context) : context_(std::move(context)) {}

  bool Collective(CollType coll, const void* send, void* recv, size_t count, weftDataType_t type,
                  weftRedOp_t op, int root) override {
    try {
      switch (type) {
        case weftFloat32:
          return Run<float>(coll, send, recv, count, op, root);
        case weftFloat64:
          return Run<double>(coll, send, recv, count, op, root);
        case weftInt32:
          return Run<int32_t>(coll, send, recv, count, op, root);
        case weftInt64:
          return Run<int64_t>(coll, send, recv, count, op, root);
        case weftUint8:
          return Run<uint8_t>(coll, send, recv, count, op, root);
        case weftInt8:
          return Run<int8_t>(coll, send, recv, count, op, root);
        default:
          return false;
      }
    } catch (const std::exception& e) {
      error_ = e.what();
      return false;
    }
  }

  const std::string& error() const override { return error_; }

 private:
  template <typename T>
  bool Run(CollType coll, const void* send_v, void* recv_v, size_t count, weftRedOp_t op,
           int root) {
    T* send = static_cast<T*>(const_cast<void*>(send_v));
    T* recv = static_cast<T*>(recv_v);
    const size_t n = static_cast<size_t>(context_->size);
    const uint32_t tag = next_tag_++;
    switch (coll) {
      case CollType::kAllReduce: {
        const ReduceFn fn = ReduceFunction<T>(op);
        if (fn == nullptr) return false;
        gloo::AllreduceOptions o(context_);
        o.setInput(send, count);
        o.setOutput(recv, count);
        o.setReduceFunction(fn);
        o.setTag(tag);
        gloo::allreduce(o);
        return true;
      }
      case CollType::kAllGather: {
        gloo::AllgatherOptions o(context_);
        o.setInput(send, count);
        o.setOutput(recv, count * n);
        o.setTag(tag);
        gloo::allgather(o);
        return true;
      }
      case CollType::kBroadcast: {
        gloo::BroadcastOptions o(context_);
        if (context_->rank == root) o.setInput(send, count);
        o.setOutput(recv, count);
        o.setRoot(root);
        o.setTag(tag);
        gloo::broadcast(o);
        return true;
      }
      case CollType::kReduce: {
        const ReduceFn fn = ReduceFunction<T>(op);
        if (fn == nullptr) return false;
        gloo::ReduceOptions o(context_);
        o.setInput(send, count);
        o.setOutput(recv, count);
        o.setRoot(root);
        o.setReduceFunction(fn);
        o.setTag(tag);
        gloo::reduce(o);
        return true;
      }
      case CollType::kReduceScatter:
        return false;  // Gloo's new API has none (torch composes it)
    }
    return false;
  }

  std::shared_ptr<gloo::Context> context_;
  uint32_t next_tag_ = 1;
  std::string error_;
};

}  // namespace

std::unique_ptr<GlooBaseline> GlooBaseline::Connect(weftComm_t comm, std::string* error) {
  int rank = 0, nranks = 1;
  weftCommUserRank(comm, &rank);
  weftCommCount(comm, &nranks);
  gloo::transport::tcp::attr attr;
  if (const char* iface = std::getenv("GLOO_SOCKET_IFNAME")) {
    attr.iface = iface;
  } else {
    // Where Weft's own bootstrap would advertise (WEFT_SOCKET_ADDR, WEFT_SOCKET_IFNAME).
    Config config;
    in_addr addr{};
    char text[INET_ADDRSTRLEN] = "127.0.0.1";
    if (Config::FromProcess(&config).ok() &&
        LocalAdvertisedAddress(config.socket_addr, config.socket_ifname, &addr).ok())
      inet_ntop(AF_INET, &addr, text, sizeof(text));
    attr.hostname = text;
  }
  try {
    auto device = gloo::transport::tcp::CreateDevice(attr);
    auto context = std::make_shared<gloo::rendezvous::Context>(rank, nranks);
    WeftStore store(comm);
    context->connectFullMesh(store, device);
    return std::make_unique<GlooRun>(context);
  } catch (const std::exception& e) {
    *error = std::string("Gloo: ") + e.what();
    return nullptr;
  }
}

#else

std::unique_ptr<GlooBaseline> GlooBaseline::Connect(weftComm_t, std::string* error) {
  *error = "this weft-perf was built without Gloo (install libgloo-dev and rebuild)";
  return nullptr;
}

#endif

}  // namespace weft::perf
