#include "common/config.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common/environment.h"

namespace weft {

const std::vector<ConfigVar>& ConfigTable() {
  static const std::vector<ConfigVar> table = {
#define WEFT_CONFIG(NAME, field, Type, def, limits, help) {"WEFT_" #NAME, #Type, def, help, limits},
#include "common/config.def"
#undef WEFT_CONFIG
  };
  return table;
}

namespace {
std::atomic<EnvFallback> env_fallback{nullptr};
}  // namespace

void SetEnvFallback(EnvFallback fallback) {
  env_fallback.store(fallback, std::memory_order_release);
}

bool ProcessEnv(const std::string& name, std::string* value) {
  if (const char* v = std::getenv(name.c_str())) {
    *value = v;
    return true;
  }
  const EnvFallback fallback = env_fallback.load(std::memory_order_acquire);
  return fallback != nullptr && fallback(name, value);
}

std::vector<std::string> ProcessWeftVariables() {
  return ProcessVariableNames({"WEFT_"});
}

bool ParseInt(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

bool ParseSize(const std::string& text, size_t* out) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str()) return false;
  unsigned shift = 0;
  std::string suffix(end);
  if (suffix == "K" || suffix == "k" || suffix == "KB" || suffix == "KiB")
    shift = 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MB" || suffix == "MiB")
    shift = 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GB" || suffix == "GiB")
    shift = 30;
  else if (!suffix.empty() && suffix != "B")
    return false;
  if (shift != 0 && v > (std::numeric_limits<unsigned long long>::max() >> shift)) return false;
  *out = static_cast<size_t>(v << shift);
  return true;
}

bool ParseBool(const std::string& text, bool* out) {
  if (text == "1" || text == "true" || text == "yes" || text == "on") return *out = true, true;
  if (text == "0" || text == "false" || text == "no" || text == "off") return *out = false, true;
  return false;
}

namespace {

Status ParseField(const char* name, const std::string& text, int64_t* out) {
  if (ParseInt(text, out)) return Status::Ok();
  return InvalidArgument(Format("%s='%s' is not an integer", name, text.c_str()));
}
Status ParseField(const char* name, const std::string& text, size_t* out) {
  if (ParseSize(text, out)) return Status::Ok();
  return InvalidArgument(
      Format("%s='%s' is not a size (examples: 65536, 512K, 4M, 1G)", name, text.c_str()));
}
Status ParseField(const char* name, const std::string& text, bool* out) {
  if (ParseBool(text, out)) return Status::Ok();
  return InvalidArgument(Format("%s='%s' is not a boolean (0 or 1)", name, text.c_str()));
}
Status ParseField(const char*, const std::string& text, std::string* out) {
  *out = text;
  return Status::Ok();
}

std::string ToText(int64_t v) {
  return std::to_string(v);
}
std::string ToText(size_t v) {
  return std::to_string(v);
}
std::string ToText(bool v) {
  return v ? "1" : "0";
}
std::string ToText(const std::string& v) {
  return v;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1u : 0u)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

Status Config::Load(const EnvLookup& env, Config* out) {
  Config c;
  std::string text;
#define WEFT_CONFIG(NAME, field, Type, def, range, help) \
  WEFT_CHECK(ParseField("WEFT_" #NAME, def, &c.field));  \
  if (env("WEFT_" #NAME, &text)) WEFT_CHECK(ParseField("WEFT_" #NAME, text, &c.field));
#include "common/config.def"
#undef WEFT_CONFIG
  *out = c;
  return Status::Ok();
}

std::string Config::SourceOf(const std::string& var) const {
  auto it = set_by_api.find(var);
  return it == set_by_api.end() ? var : it->second;
}

namespace {

std::string OutOfRange(const std::string& source, const std::string& value,
                       const ConfigLimits& limits, const std::string& why) {
  if (!why.empty()) return Format("%s=%s: %s", source.c_str(), value.c_str(), why.c_str());
  return Format("%s=%s: the range is %s", source.c_str(), value.c_str(), limits.Describe().c_str());
}

Status CheckField(const std::string& source, int64_t v, const ConfigLimits& limits) {
  if (limits.Accepts(v)) return Status::Ok();
  return InvalidArgument(OutOfRange(source, std::to_string(v), limits, ""));
}
Status CheckField(const std::string& source, size_t v, const ConfigLimits& limits) {
  if (limits.Accepts(static_cast<uint64_t>(v))) return Status::Ok();
  return InvalidArgument(OutOfRange(source, SizeText(v), limits, ""));
}
Status CheckField(const std::string&, bool, const ConfigLimits&) {
  return Status::Ok();  // parsing took only 0 or 1
}
Status CheckField(const std::string& source, const std::string& v, const ConfigLimits& limits) {
  std::string why;
  if (limits.Accepts(v, &why)) return Status::Ok();
  // The secret's value stays out of messages and logs.
  const bool secret =
      source.find("SECRET") != std::string::npos && source.find("FILE") == std::string::npos;
  return InvalidArgument(OutOfRange(source, secret ? "(hidden)" : "'" + v + "'", limits, why));
}

}  // namespace

Status Config::Check() const {
  size_t row = 0;
#define WEFT_CONFIG(NAME, field, Type, def, range, help) \
  WEFT_CHECK(CheckField(SourceOf("WEFT_" #NAME), field, ConfigTable()[row++].limits));
#include "common/config.def"
#undef WEFT_CONFIG
  return Status::Ok();
}

std::string Config::ValueText(const std::string& name) const {
#define WEFT_CONFIG(NAME, field, Type, def, range, help) \
  if (name == "WEFT_" #NAME) return ToText(field);
#include "common/config.def"
#undef WEFT_CONFIG
  return "";
}

std::vector<std::string> UnknownVariableWarnings(const std::vector<std::string>& names) {
  std::vector<std::string> warnings;
  for (const std::string& name : names) {
    const ConfigVar* closest = nullptr;
    size_t best = std::numeric_limits<size_t>::max();
    bool known = false;
    for (const ConfigVar& var : ConfigTable()) {
      if (name == var.name) {
        known = true;
        break;
      }
      size_t d = EditDistance(name, var.name);
      if (d < best) best = d, closest = &var;
    }
    if (known) continue;
    std::string w = "unknown variable " + name;
    if (closest != nullptr && best <= 4) w += Format(" (did you mean %s?)", closest->name);
    warnings.push_back(w);
  }
  return warnings;
}

}  // namespace weft
