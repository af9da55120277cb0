#include "common/config_limits.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>

namespace weft {
namespace {

std::string Upper(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Whether `word` (any case) is one of the comma-separated `choices`.
bool Listed(const std::string& word, const char* choices) {
  const std::string list = std::string(",") + choices + ",";
  return !word.empty() && list.find("," + Upper(word) + ",") != std::string::npos;
}

std::string Choices(const char* choices) {
  std::string text;
  for (const char* c = choices; *c != '\0'; ++c)
    text += *c == ',' ? std::string(", ") : std::string(1, *c);
  return text;
}

}  // namespace

std::string SizeText(uint64_t v) {
  if (v == UINT64_MAX) return "any";
  static const char* const kSuffix[] = {"G", "M", "K"};
  for (int i = 0; i < 3; ++i) {
    const unsigned shift = 30 - 10 * static_cast<unsigned>(i);
    if (v != 0 && v % (uint64_t{1} << shift) == 0) return std::to_string(v >> shift) + kSuffix[i];
  }
  return std::to_string(v);
}

namespace {

bool IsHex(const std::string& s) {
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

ConfigLimits IntRange(int64_t min, int64_t max, const char* units) {
  ConfigLimits l;
  l.kind = ConfigLimits::Kind::kNumber;
  l.min = min;
  l.max = static_cast<uint64_t>(max);
  l.units = units;
  return l;
}

ConfigLimits SizeRange(uint64_t min, uint64_t max) {
  ConfigLimits l;
  l.kind = ConfigLimits::Kind::kNumber;
  l.min = static_cast<int64_t>(min);
  l.max = max;
  l.sizes = true;
  l.units = "bytes";
  return l;
}

ConfigLimits ZeroOrSizeRange(uint64_t min, uint64_t max) {
  ConfigLimits l = SizeRange(min, max);
  l.zero_allowed = true;
  return l;
}

ConfigLimits AnySize() {
  return SizeRange(0, UINT64_MAX);
}

ConfigLimits Flag() {
  ConfigLimits l;
  l.kind = ConfigLimits::Kind::kFlag;
  return l;
}

ConfigLimits OneOf(const char* choices) {
  ConfigLimits l;
  l.kind = ConfigLimits::Kind::kChoice;
  l.choices = choices;
  return l;
}

ConfigLimits ListOf(const char* choices) {
  ConfigLimits l;
  l.kind = ConfigLimits::Kind::kList;
  l.choices = choices;
  return l;
}

ConfigLimits TextWhere(TextCheck check, const char* accepts) {
  ConfigLimits l;
  l.kind = ConfigLimits::Kind::kText;
  l.check = check;
  l.accepts = accepts;
  return l;
}

std::string ConfigLimits::Describe() const {
  switch (kind) {
    case Kind::kNumber: {
      if (sizes && min == 0 && max == UINT64_MAX) return "any size";
      std::string lo = sizes ? SizeText(static_cast<uint64_t>(min)) : std::to_string(min);
      std::string hi = sizes ? SizeText(max) : std::to_string(static_cast<int64_t>(max));
      std::string text = (zero_allowed ? "0 or " : "") + lo + ".." + hi;
      return units[0] != '\0' ? text + " " + units : text;
    }
    case Kind::kFlag:
      return "0 or 1";
    case Kind::kChoice:
      return "one of " + Choices(choices) + " (any case)";
    case Kind::kList:
      return "a comma-separated list of " + Choices(choices);
    case Kind::kText:
      return accepts;
  }
  return "";
}

bool ConfigLimits::Accepts(int64_t value) const {
  if (kind != Kind::kNumber) return true;
  if (zero_allowed && value == 0) return true;
  return value >= min && (value < 0 || static_cast<uint64_t>(value) <= max);
}

bool ConfigLimits::Accepts(uint64_t value) const {
  if (kind != Kind::kNumber) return true;
  if (zero_allowed && value == 0) return true;
  return (min <= 0 || value >= static_cast<uint64_t>(min)) && value <= max;
}

bool ConfigLimits::Accepts(const std::string& value, std::string* why) const {
  switch (kind) {
    case Kind::kChoice:
      if (Listed(value, choices)) return true;
      *why = "not one of " + Choices(choices) + " (any case)";
      return false;
    case Kind::kList: {
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        const std::string word = value.substr(start, end - start);
        if (!Listed(word, choices)) {
          *why = "'" + word + "' is not one of " + Choices(choices);
          return false;
        }
        start = end + 1;
      }
      return true;
    }
    case Kind::kText:
      return check == nullptr || check(value, why);
    default:
      return true;
  }
}

bool IsSecret(const std::string& value, std::string* why) {
  if (value.empty() || (value.size() == 32 && IsHex(value))) return true;
  *why = "a secret is 32 hex digits (0-9, a-f)";
  return false;
}

bool ReadSecretFile(const std::string& path, std::string* hex, std::string* why) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *why = "cannot be opened";
    return false;
  }
  struct stat st {};
  char text[66] = {};
  const bool stat_ok = fstat(fd, &st) == 0;
  const ssize_t n = stat_ok ? read(fd, text, sizeof(text) - 1) : -1;
  close(fd);
  if (!stat_ok || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    *why = "is not a regular file of this user";
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    *why = "is readable or writable by others (chmod 600 it)";
    return false;
  }
  std::string s(text, n > 0 ? static_cast<size_t>(n) : 0);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  if (s.size() != 32 || !IsHex(s)) {
    *why = "does not hold 32 hex digits";
    return false;
  }
  *hex = s;
  return true;
}

bool IsSecretFile(const std::string& value, std::string* why) {
  std::string hex;
  if (value.empty() || ReadSecretFile(value, &hex, why)) return true;
  *why = "the file " + *why;
  return false;
}

bool IsHostPort(const std::string& value, std::string* why) {
  if (value.empty()) return true;
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    *why = "not host:port";
    return false;
  }
  const std::string port = value.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 1 || p > 65535) {
    *why = "the port is not 1..65535";
    return false;
  }
  return true;
}

bool IsIpv4Address(const std::string& value, std::string* why) {
  in_addr a{};
  if (value.empty() || inet_pton(AF_INET, value.c_str(), &a) == 1) return true;
  *why = "not an IPv4 address (a.b.c.d)";
  return false;
}

bool IsReadableFile(const std::string& value, std::string* why) {
  struct stat st {};
  if (value.empty()) return true;
  if (stat(value.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *why = "no such file";
    return false;
  }
  if (access(value.c_str(), R_OK) != 0) {
    *why = "the file is not readable";
    return false;
  }
  return true;
}

std::string ExpandHostPid(const std::string& pattern) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::string path;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'h') {
      path += host, ++i;
    } else if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'p') {
      path += std::to_string(getpid()), ++i;
    } else {
      path += pattern[i];
    }
  }
  return path;
}

// A file that exists must be a writable file; one that does not needs a writable folder.
bool IsWritablePath(const std::string& value, std::string* why) {
  if (value.empty()) return true;
  const std::string path = ExpandHostPid(value);
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode) && access(path.c_str(), W_OK) == 0) return true;
    *why = "'" + path + "' is not a writable file";
    return false;
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (access(dir.c_str(), W_OK | X_OK) == 0) return true;
  *why = "the folder '" + dir + "' is not writable";
  return false;
}

bool IsHostId(const std::string& value, std::string* why) {
  bool printable = value.size() <= 255;
  for (char c : value)
    printable = printable && std::isprint(static_cast<unsigned char>(c));
  if (printable) return true;
  *why = "a host id is at most 255 printable characters";
  return false;
}

}  // namespace weft
