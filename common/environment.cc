#include "common/environment.h"

#include <cstring>

extern char** environ;

namespace weft {

std::vector<std::pair<std::string, std::string>> ProcessVariables(
    std::initializer_list<const char*> prefixes) {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    bool wanted = false;
    for (const char* prefix : prefixes)
      wanted = wanted || std::strncmp(*e, prefix, std::strlen(prefix)) == 0;
    if (!wanted) continue;
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr)
      out.emplace_back(*e, "");
    else
      out.emplace_back(std::string(*e, static_cast<size_t>(eq - *e)), eq + 1);
  }
  return out;
}

std::vector<std::string> ProcessVariableNames(std::initializer_list<const char*> prefixes) {
  std::vector<std::string> names;
  for (auto& [name, value] : ProcessVariables(prefixes))
    names.push_back(std::move(name));
  return names;
}

std::function<bool(const std::string& name, std::string* value)> TableLookup(
    std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name, std::string* value) {
    auto it = vars.find(name);
    if (it == vars.end()) return false;
    *value = it->second;
    return true;
  };
}

}  // namespace weft
