#include "topology/link_facts.h"

#include <cstdio>
#include <cstdlib>

namespace weft {
namespace {

std::string Attr(const std::vector<std::pair<std::string, std::string>>& attrs, const char* name) {
  for (const auto& [key, value] : attrs)
    if (key == name) return value;
  return "";
}

bool StartsWith(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

double NvLinkGbpsPerLink(int sm) {
  if (sm >= 100) return 40.1;
  if (sm >= 90) return 20.6;
  if (sm == 86) return 12.0;
  if (sm >= 70) return 20.0;
  return 18.0;
}

double XgmiGbpsPerLink(const std::string& gcn) {
  if (StartsWith(gcn, "gfx94") || StartsWith(gcn, "gfx95")) return 48.0;
  if (StartsWith(gcn, "gfx90a")) return 36.0;
  return 0;
}

double InterCpuGbps(const std::vector<std::pair<std::string, std::string>>& cpu_attrs) {
  const std::string arch = Attr(cpu_attrs, "arch");
  const std::string vendor = Attr(cpu_attrs, "vendor");
  if (StartsWith(arch, "ppc") || StartsWith(vendor, "IBM")) return 32.0;
  if (StartsWith(arch, "aarch64") || StartsWith(arch, "arm")) return 6.0;
  if (vendor == "AuthenticAMD" || vendor == "HygonGenuine") return 16.0;
  if (vendor == "GenuineIntel") {
    const long family = std::strtol(Attr(cpu_attrs, "familyid").c_str(), nullptr, 10);
    const long model = std::strtol(Attr(cpu_attrs, "modelid").c_str(), nullptr, 10);
    if (family != 6) return 6.0;
    if (model >= 0xcf) return 40.0;  // Emerald Rapids and later
    if (model >= 0x8f) return 22.0;  // Sapphire Rapids
    if (model >= 0x55) return 10.0;  // Skylake, Cascade Lake, Ice Lake (UPI)
    return 6.0;                      // Broadwell and older (QPI)
  }
  return 0;
}

std::string LinkLayerFromPci(uint32_t pci_class, uint16_t vendor, uint16_t device) {
  const uint32_t base_sub = pci_class >> 8;  // 0x0207 InfiniBand, 0x0200 Ethernet
  if (base_sub == 0x0207) return "ib";
  if (vendor == 0x1d0f && device >= 0xefa0 && device <= 0xefa3) return "efa";
  if (vendor == 0x17db) return "slingshot";
  if (base_sub == 0x0200) return vendor == 0x15b3 ? "roce" : "ethernet";
  return "unknown";
}

bool IsFabricLinkLayer(const std::string& link_layer) {
  return link_layer == "ib" || link_layer == "roce" || link_layer == "efa" ||
         link_layer == "slingshot";
}

std::string GbpsText(double gbps) {
  char buf[32];
  if (gbps >= 10 || gbps <= 0)
    std::snprintf(buf, sizeof(buf), "%.0f", gbps);
  else if (gbps >= 1)
    std::snprintf(buf, sizeof(buf), "%.1f", gbps);
  else
    std::snprintf(buf, sizeof(buf), "%.2g", gbps);
  return buf;
}

}  // namespace weft
