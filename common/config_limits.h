// ConfigLimits: the values one WEFT_* variable may take (common/config.def's fifth column).
// Config::Check holds every variable to its limits on every rank before a communicator
// starts, and weft-info and README show them, so a value out of range is an init error
// naming the variable, the value and the range, never a crash or a full disk later.
#pragma once

#include <cstdint>
#include <string>

namespace weft {

// A check for a text variable: true if `value` is acceptable, else false with `why`.
using TextCheck = bool (*)(const std::string& value, std::string* why);

struct ConfigLimits {
  enum class Kind { kNumber, kFlag, kChoice, kList, kText };
  Kind kind = Kind::kText;
  int64_t min = 0;            // kNumber: the least value (below 0 only for Int variables)
  uint64_t max = 0;           // kNumber: the greatest value
  bool zero_allowed = false;  // kNumber: 0 is accepted below `min` (it means pick, or never)
  bool sizes = false;         // kNumber: shown as sizes (4M, 1G)
  const char* units = "";     // kNumber: ms, us, bytes...
  const char* choices = "";   // kChoice, kList: "NONE,WARN,INFO,TRACE" (any case)
  TextCheck check = nullptr;  // kText: null when the variable's own parser checks it at init
  const char* accepts = "";   // kText: what it accepts, in words

  // "1..604800000 ms", "0 or 64..64M bytes", "one of NONE, WARN (any case)", ...
  std::string Describe() const;
  // Whether a value is within the limits; `why` says how it is not.
  bool Accepts(int64_t value) const;
  bool Accepts(uint64_t value) const;
  bool Accepts(const std::string& value, std::string* why) const;
};

// The forms config.def writes its limits in.
ConfigLimits IntRange(int64_t min, int64_t max, const char* units);
ConfigLimits SizeRange(uint64_t min, uint64_t max);
ConfigLimits ZeroOrSizeRange(uint64_t min, uint64_t max);  // 0 picks (or means never)
ConfigLimits AnySize();
ConfigLimits Flag();
ConfigLimits OneOf(const char* choices);
ConfigLimits ListOf(const char* choices);
ConfigLimits TextWhere(TextCheck check, const char* accepts);

// Text checks config.def uses (each accepts the empty value: unset).
bool IsSecret(const std::string& value, std::string* why);        // 32 hex digits
bool IsSecretFile(const std::string& value, std::string* why);    // owner-only, a secret
bool IsHostPort(const std::string& value, std::string* why);      // host:port, port 1..65535
bool IsIpv4Address(const std::string& value, std::string* why);   // dotted quad
bool IsReadableFile(const std::string& value, std::string* why);  // a file we may read
bool IsWritablePath(const std::string& value, std::string* why);  // %h, %p expanded
bool IsHostId(const std::string& value, std::string* why);        // printable, at most 255

// 4M, 1G, 65536: the shortest exact form of a size ("any" for the largest).
std::string SizeText(uint64_t v);

// A path pattern with %h (host name) and %p (pid) expanded.
std::string ExpandHostPid(const std::string& pattern);

// The secret in a WEFT_SECRET_FILE, checked as IsSecretFile does.
bool ReadSecretFile(const std::string& path, std::string* hex, std::string* why);

}  // namespace weft
