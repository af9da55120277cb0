// A stand-in for libnvidia-ml.so.1, so that Weft's NVML sequence (topology/nvml.cc) runs
// without a GPU: the machine it reports comes from the environment, read at nvmlInit_v2.
//   FAKE_NVML_GPUS   comma-separated PCI addresses, device i at position i
//   FAKE_NVML_CC     compute capability of every device, e.g. "70"
//   FAKE_NVML_LINKS  comma-separated links "from:to:count[:flag]", to a device index, "sw"
//                    (an NVSwitch address no graph holds) or "self"; flag "down" (inactive)
//                    or "nop2p" (no P2P capability): both must be skipped
//   FAKE_NVML_FAIL   "init": nvmlInit_v2 fails
// Link numbers are given out per device in the order the links are listed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct PciInfo {  // nvmlPciInfo_t
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
};

struct Link {
  std::string remote;  // PCI address
  bool active = true, p2p = true;
};

struct Machine {
  std::vector<std::string> gpus;
  std::vector<std::vector<Link>> links;  // per device, by link number
  int cc = 70;
};

Machine machine;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size() && !s.empty()) {
    size_t end = s.find(sep, at);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void Fill(PciInfo* info, const std::string& address) {
  std::memset(info, 0, sizeof(*info));
  std::snprintf(info->busId, sizeof(info->busId), "%s", address.c_str());
}

}  // namespace

extern "C" {

int nvmlInit_v2() {
  if (std::strcmp(Env("FAKE_NVML_FAIL"), "init") == 0) return 1;
  machine = Machine{};
  machine.gpus = Split(Env("FAKE_NVML_GPUS"), ',');
  machine.links.assign(machine.gpus.size(), {});
  if (*Env("FAKE_NVML_CC")) machine.cc = std::atoi(Env("FAKE_NVML_CC"));
  for (const std::string& spec : Split(Env("FAKE_NVML_LINKS"), ',')) {
    const std::vector<std::string> f = Split(spec, ':');
    if (f.size() < 3) continue;
    const size_t from = std::strtoul(f[0].c_str(), nullptr, 10);
    if (from >= machine.gpus.size()) continue;
    Link link;
    link.remote = f[1] == "sw"     ? "0000:ff:00.0"
                  : f[1] == "self" ? machine.gpus[from]
                                   : machine.gpus[std::strtoul(f[1].c_str(), nullptr, 10)];
    if (f.size() > 3) link.active = f[3] != "down", link.p2p = f[3] != "nop2p";
    for (int n = std::atoi(f[2].c_str()); n > 0; --n)
      machine.links[from].push_back(link);
  }
  return 0;
}

int nvmlShutdown() {
  return 0;
}

int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = static_cast<unsigned int>(machine.gpus.size());
  return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index >= machine.gpus.size()) return 2;
  *device = reinterpret_cast<void*>(static_cast<uintptr_t>(index + 1));
  return 0;
}

static size_t Index(void* device) {
  return static_cast<size_t>(reinterpret_cast<uintptr_t>(device)) - 1;
}

int nvmlDeviceGetPciInfo_v3(void* device, PciInfo* info) {
  Fill(info, machine.gpus[Index(device)]);
  return 0;
}

int nvmlDeviceGetName(void* device, char* name, unsigned int length) {
  std::snprintf(name, length, "Fake GPU %zu", Index(device));
  return 0;
}

int nvmlDeviceGetCudaComputeCapability(void*, int* major, int* minor) {
  *major = machine.cc / 10;
  *minor = machine.cc % 10;
  return 0;
}

// Links past the device's last are "not supported" (NVML's error 3), as on real hardware.
int nvmlDeviceGetNvLinkCapability(void* device, unsigned int link, int, unsigned int* result) {
  const auto& links = machine.links[Index(device)];
  if (link >= links.size()) return 3;
  *result = links[link].p2p ? 1 : 0;
  return 0;
}

int nvmlDeviceGetNvLinkState(void* device, unsigned int link, int* active) {
  const auto& links = machine.links[Index(device)];
  if (link >= links.size()) return 3;
  *active = links[link].active ? 1 : 0;
  return 0;
}

int nvmlDeviceGetNvLinkRemotePciInfo_v2(void* device, unsigned int link, PciInfo* info) {
  const auto& links = machine.links[Index(device)];
  if (link >= links.size()) return 3;
  Fill(info, links[link].remote);
  return 0;
}

}  // extern "C"
