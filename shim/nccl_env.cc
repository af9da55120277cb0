#include "shim/nccl_env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "common/environment.h"
#include "common/log.h"

namespace weft_shim {
namespace {

std::string Upper(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    out.push_back(Trim(s.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts)
    out += (out.empty() ? "" : sep) + p;
  return out;
}

// A translator turns the NCCL variable's text into the Weft variable's, or says why not.
using Translator = bool (*)(const std::string& text, std::string* out, std::string* note);

bool Same(const std::string& text, std::string* out, std::string*) {
  *out = text;
  return true;
}

// NCCL's levels: VERSION (the version line only), WARN, INFO, ABORT, TRACE; any case.
bool DebugLevel(const std::string& text, std::string* out, std::string* note) {
  const std::string level = Upper(Trim(text));
  if (level == "WARN" || level == "INFO" || level == "TRACE") {
    *out = level;
  } else if (level == "VERSION" || level == "ABORT") {
    *out = "WARN";
  } else {
    *note = "NCCL_DEBUG='" + text + "' is not one of NCCL's levels (VERSION, WARN, INFO, TRACE)";
    return false;
  }
  return true;
}

// NCCL's subsystems, onto Weft's coarser ones (INIT, TOPO, TUNE, NET, COLL); '^' excludes.
bool DebugSubsystems(const std::string& text, std::string* out, std::string* note) {
  static const std::pair<const char*, const char*> kOnto[] = {
      {"INIT", "INIT"}, {"BOOTSTRAP", "INIT"}, {"ENV", "INIT"},   {"COLL", "COLL"},
      {"CALL", "COLL"}, {"P2P", "COLL"},       {"NET", "NET"},    {"PROXY", "NET"},
      {"SHM", "NET"},   {"GRAPH", "TOPO"},     {"TUNING", "TUNE"}};
  static const char* const kWeft[] = {"INIT", "TOPO", "TUNE", "NET", "COLL"};
  std::string list = Trim(text);
  const bool exclude = !list.empty() && list[0] == '^';
  if (exclude) list.erase(0, 1);
  std::set<std::string> named;
  bool all = false;
  for (const std::string& entry : Split(Upper(list), ',')) {
    if (entry == "ALL") all = true;
    for (const auto& [nccl, weft] : kOnto)
      if (entry == nccl) named.insert(weft);
  }
  std::vector<std::string> chosen;
  for (const char* s : kWeft) {
    const bool listed = all || named.count(s) != 0;
    if (listed != exclude) chosen.push_back(s);
  }
  if (chosen.empty()) {
    *note = "NCCL_DEBUG_SUBSYS='" + text + "' selects none of Weft's subsystems";
    return false;
  }
  *out = chosen.size() == 5 ? "ALL" : Join(chosen, ",");
  return true;
}

// NCCL_ALGO: "Ring,Tree", "^NVLS", "allreduce:tree;allgather:ring"; names in any case. Weft
// has NCCL's ring and tree; an entry left with none of Weft's algorithms is dropped (Weft
// chooses for those collectives), and the names Weft lacks are noted.
bool Algorithms(const std::string& text, std::string* out, std::string* note) {
  std::vector<std::string> entries, lacking;
  for (const std::string& raw : Split(text, ';')) {
    if (raw.empty()) continue;
    std::string prefix, list = raw;
    const size_t colon = raw.find(':');
    if (colon != std::string::npos) {
      prefix = Lower(Trim(raw.substr(0, colon))) + ":";
      list = Trim(raw.substr(colon + 1));
    }
    const bool exclude = !list.empty() && list[0] == '^';
    if (exclude) list.erase(0, 1);
    std::vector<std::string> kept;
    for (const std::string& name : Split(Lower(list), ',')) {
      if (name == "ring" || name == "tree")
        kept.push_back(name);
      else if (!name.empty())
        lacking.push_back(name);
    }
    if (!kept.empty()) entries.push_back(prefix + (exclude ? "^" : "") + Join(kept, ","));
  }
  if (!lacking.empty())
    *note = "NCCL_ALGO='" + text + "': Weft has no " + Join(lacking, ", ") +
            " (it has NCCL's ring and tree); what names none of those is left to Weft's choice";
  if (entries.empty()) {
    if (note->empty()) *note = "NCCL_ALGO='" + text + "' names no algorithm";
    return false;
  }
  *out = Join(entries, ";");
  return true;
}

struct NcclVariable {
  const char* nccl;
  const char* weft;
  Translator translate;
};

// The NCCL variables the shim honours, each where its WEFT_* counterpart is unset.
constexpr NcclVariable kTable[] = {
    {"NCCL_DEBUG", "WEFT_DEBUG", DebugLevel},
    {"NCCL_DEBUG_SUBSYS", "WEFT_DEBUG_SUBSYS", DebugSubsystems},
    {"NCCL_DEBUG_FILE", "WEFT_DEBUG_FILE", Same},  // %h and %p alike
    {"NCCL_ALGO", "WEFT_ALGO", Algorithms},
    {"NCCL_SOCKET_IFNAME", "WEFT_SOCKET_IFNAME", Same},
    {"NCCL_IB_HCA", "WEFT_IB_HCA", Same},
    {"NCCL_TOPO_FILE", "WEFT_TOPO_FILE", Same},
    {"NCCL_TOPO_DUMP_FILE", "WEFT_TOPO_DUMP_FILE", Same},
    {"NCCL_HOSTID", "WEFT_HOSTID", Same},
    {"NCCL_COMM_ID", "WEFT_COMM_ID", Same},
    {"NCCL_BUFFSIZE", "WEFT_BUFFSIZE", Same},  // bytes per channel and peer in both
};

// The process environment alone (ProcessEnv would ask the fallback again).
bool ProcessEnvOnly(const std::string& name, std::string* out) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return false;
  *out = v;
  return true;
}

}  // namespace

bool TranslateNcclVariable(const std::string& weft_name, const weft::EnvLookup& nccl,
                           std::string* value, std::string* note) {
  std::string ignored_note;
  if (note == nullptr) note = &ignored_note;
  note->clear();
  for (const NcclVariable& v : kTable) {
    if (weft_name != v.weft) continue;
    std::string text;
    if (!nccl(v.nccl, &text)) return false;
    return v.translate(text, value, note);
  }
  return false;
}

std::vector<std::string> IgnoredNcclVariables(const std::vector<std::string>& names) {
  std::vector<std::string> ignored;
  for (const std::string& name : names) {
    const bool honoured = std::any_of(std::begin(kTable), std::end(kTable),
                                      [&](const NcclVariable& v) { return name == v.nccl; });
    if (!honoured) ignored.push_back(name);
  }
  return ignored;
}

std::vector<std::string> ProcessNcclVariables() {
  return weft::ProcessVariableNames({"NCCL_"});
}

bool ProcessNcclFallback(const std::string& weft_name, std::string* value) {
  return TranslateNcclVariable(weft_name, ProcessEnvOnly, value, nullptr);
}

void WarnAboutNcclEnvironmentOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::string honoured;
    for (const NcclVariable& v : kTable)
      honoured += std::string(honoured.empty() ? "" : ", ") + v.nccl;
    for (const std::string& name : IgnoredNcclVariables(ProcessNcclVariables()))
      WEFT_WARN(kLogInit, "%s is set, and Weft's NCCL shim ignores it (it honours %s)",
                name.c_str(), honoured.c_str());
    for (const NcclVariable& v : kTable) {
      if (std::getenv(v.weft) != nullptr) continue;  // Weft's own variable wins
      std::string value, note;
      const bool read = TranslateNcclVariable(v.weft, ProcessEnvOnly, &value, &note);
      if (!note.empty()) WEFT_WARN(kLogInit, "%s", note.c_str());
      if (read) WEFT_INFO(kLogInit, "%s read as %s=%s", v.nccl, v.weft, value.c_str());
    }
  });
}

}  // namespace weft_shim
