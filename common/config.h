// Config: one snapshot of every WEFT_* variable, parsed and checked at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/config_limits.h"
#include "common/status.h"

namespace weft {

// One row of common/config.def, for listings (weft-info, README).
struct ConfigVar {
  const char* name;  // with the WEFT_ prefix
  const char* type;  // Int, Size, Bool or String
  const char* default_value;
  const char* help;
  ConfigLimits limits;
};

const std::vector<ConfigVar>& ConfigTable();

// Looks up an environment variable; returns false if unset.
using EnvLookup = std::function<bool(const std::string& name, std::string* value)>;

// All variables of the process environment whose name starts with WEFT_.
std::vector<std::string> ProcessWeftVariables();

// The process environment; for a variable it leaves unset, the fallback if one is set.
bool ProcessEnv(const std::string& name, std::string* value);

// A second source for variables the environment leaves unset, consulted by ProcessEnv and
// so by Config::FromProcess: the NCCL shim's translation of NCCL's variables
// (shim/nccl_env.h). A plain function, set once before the first communicator (the shim
// sets it when it is loaded); null turns it off.
using EnvFallback = bool (*)(const std::string& name, std::string* value);
void SetEnvFallback(EnvFallback fallback);

struct Config {
#define WEFT_CONFIG_Int int64_t
#define WEFT_CONFIG_Size size_t
#define WEFT_CONFIG_Bool bool
#define WEFT_CONFIG_String std::string
#define WEFT_CONFIG(NAME, field, Type, def, limits, help) WEFT_CONFIG_##Type field{};
#include "common/config.def"
#undef WEFT_CONFIG
#undef WEFT_CONFIG_Int
#undef WEFT_CONFIG_Size
#undef WEFT_CONFIG_Bool
#undef WEFT_CONFIG_String

  // Defaults, then every set variable; a value that does not parse is an error naming it.
  static Status Load(const EnvLookup& env, Config* out);
  static Status FromProcess(Config* out) {
    return Load(ProcessEnv, out);
  }

  // Variables a weftConfig_t field set instead of the environment: WEFT_ name -> the
  // field's name ("weftConfig_t.nChannels"), so that errors name what the caller wrote.
  std::map<std::string, std::string> set_by_api;
  // The field's name where the API set `var`, else `var`.
  std::string SourceOf(const std::string& var) const;
  // Every variable within its limits (config.def); the first that is not is
  // weftInvalidArgument naming its source, its value and its range.
  Status Check() const;

  // The current value of a variable as text (for weft-info).
  std::string ValueText(const std::string& name) const;
};

// Names in `names` that are not in the table, each with the closest known name.
std::vector<std::string> UnknownVariableWarnings(const std::vector<std::string>& names);

// Parsers shared with the command-line tools.
bool ParseInt(const std::string& text, int64_t* out);
bool ParseSize(const std::string& text, size_t* out);  // 65536, 512K, 4M, 1G (powers of 2)
bool ParseBool(const std::string& text, bool* out);

}  // namespace weft
