#include "topology/nvml.h"

#include "topology/link_facts.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "common/log.h"

namespace weft {
namespace {

// The few NVML types used, as nvml.h declares them (a stable C ABI).
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
constexpr nvmlReturn_t kNvmlSuccess = 0;
constexpr int kNvmlFeatureEnabled = 1;
constexpr int kNvmlNvLinkCapP2pSupported = 0;
struct nvmlPciInfo_t {
  char busIdLegacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];
};

// libnvidia-ml, opened and initialized for the lifetime of the object.
class Nvml {
 public:
  Nvml() {
    lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib_ == nullptr) return;
    ok_ = Sym(init_, "nvmlInit_v2") && Sym(shutdown_, "nvmlShutdown") &&
          Sym(count_, "nvmlDeviceGetCount_v2") && Sym(handle_, "nvmlDeviceGetHandleByIndex_v2") &&
          Sym(pci_, "nvmlDeviceGetPciInfo_v3") && Sym(name_, "nvmlDeviceGetName") &&
          Sym(cc_, "nvmlDeviceGetCudaComputeCapability") &&
          Sym(state_, "nvmlDeviceGetNvLinkState") && Sym(cap_, "nvmlDeviceGetNvLinkCapability") &&
          Sym(remote_, "nvmlDeviceGetNvLinkRemotePciInfo_v2");
    ok_ = ok_ && init_() == kNvmlSuccess;
    initialized_ = ok_;
  }
  ~Nvml() {
    if (initialized_) shutdown_();
    if (lib_ != nullptr) dlclose(lib_);
  }
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;
  bool ok() const { return ok_; }
  const char* why() const {
    return lib_ == nullptr ? "libnvidia-ml.so.1 not found" : "NVML did not initialize";
  }

  nvmlReturn_t (*init_)() = nullptr;
  nvmlReturn_t (*shutdown_)() = nullptr;
  nvmlReturn_t (*count_)(unsigned int*) = nullptr;
  nvmlReturn_t (*handle_)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*pci_)(nvmlDevice_t, nvmlPciInfo_t*) = nullptr;
  nvmlReturn_t (*name_)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*cc_)(nvmlDevice_t, int*, int*) = nullptr;
  nvmlReturn_t (*state_)(nvmlDevice_t, unsigned int, int*) = nullptr;
  nvmlReturn_t (*cap_)(nvmlDevice_t, unsigned int, int, unsigned int*) = nullptr;
  nvmlReturn_t (*remote_)(nvmlDevice_t, unsigned int, nvmlPciInfo_t*) = nullptr;

 private:
  template <typename F>
  bool Sym(F& f, const char* name) {
    f = reinterpret_cast<F>(dlsym(lib_, name));
    return f != nullptr;
  }
  void* lib_ = nullptr;
  bool ok_ = false;
  bool initialized_ = false;
};

// Links to probe, by compute capability (GB/s per link: link_facts.h).
int MaxLinks(int major) {
  return major >= 9 ? 18 : major == 8 ? 12 : major == 7 ? 6 : 4;
}

}  // namespace

Status AddNvmlNvLinks(SystemGraph* g) {
  if (g->gpus.empty()) return Status::Ok();
  Nvml nvml;
  if (!nvml.ok()) {
    WEFT_INFO(kLogTopo, "no NVLink information: %s", nvml.why());
    return Status::Ok();
  }
  unsigned int count = 0;
  if (nvml.count_(&count) != kNvmlSuccess) return Status::Ok();
  for (unsigned int d = 0; d < count; ++d) {
    nvmlDevice_t dev;
    nvmlPciInfo_t pci{};
    if (nvml.handle_(d, &dev) != kNvmlSuccess || nvml.pci_(dev, &pci) != kNvmlSuccess) continue;
    const int gpu = g->FindPci(NormalizePciId(pci.busId));
    if (gpu < 0) continue;
    char name[96] = {};
    if (nvml.name_(dev, name, sizeof(name)) == kNvmlSuccess &&
        g->nodes[gpu].name.rfind("NVIDIA 10de", 0) == 0)
      g->nodes[gpu].name = name;
    int major = 0, minor = 0;
    if (nvml.cc_(dev, &major, &minor) == kNvmlSuccess) {
      auto& attrs = g->nodes[gpu].device_attrs;  // NCCL's dumps give it as <gpu sm="90">
      if (std::none_of(attrs.begin(), attrs.end(), [](const auto& a) { return a.first == "sm"; }))
        attrs.emplace_back("sm", std::to_string(major * 10 + minor));
    }
    std::map<int, int> links;  // remote node -> link count
    for (int l = 0; l < MaxLinks(major); ++l) {
      unsigned int p2p = 0;
      int active = 0;
      nvmlPciInfo_t remote{};
      if (nvml.cap_(dev, l, kNvmlNvLinkCapP2pSupported, &p2p) != kNvmlSuccess || !p2p) continue;
      if (nvml.state_(dev, l, &active) != kNvmlSuccess || active != kNvmlFeatureEnabled) continue;
      if (nvml.remote_(dev, l, &remote) != kNvmlSuccess) continue;
      int other = g->FindPci(NormalizePciId(remote.busId));
      if (other == gpu) continue;
      if (other < 0 || g->nodes[other].kind != NodeKind::kGpu) {
        if (other < 0 || g->nodes[other].kind != NodeKind::kNvSwitch) other = g->NvSwitchFabric();
      }
      ++links[other];
    }
    for (const auto& [other, n] : links) {
      bool seen = false;
      for (const NvLink& e : g->nvlinks)
        seen = seen || (e.a == other && e.b == gpu);
      if (!seen) g->nvlinks.push_back({gpu, other, n, n * NvLinkGbpsPerLink(major * 10 + minor)});
    }
  }
  WEFT_INFO(kLogTopo, "NVML: %u GPUs, %zu NVLink connections", count, g->nvlinks.size());
  return Status::Ok();
}

}  // namespace weft
