// The process environment as lists and lookups: one scan of `environ` for every caller that
// needs the variables of a family (WEFT_*, NCCL_*, UCX_*), and a lookup over a fixed table
// for tests and configurations given as data.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace weft {

// The process's variables whose names start with one of `prefixes` ("WEFT_"), as name and
// value, in the environment's order.
std::vector<std::pair<std::string, std::string>> ProcessVariables(
    std::initializer_list<const char*> prefixes);

// Only their names.
std::vector<std::string> ProcessVariableNames(std::initializer_list<const char*> prefixes);

// A lookup (Config's EnvLookup shape) that finds exactly the entries of `vars`.
std::function<bool(const std::string& name, std::string* value)> TableLookup(
    std::map<std::string, std::string> vars);

}  // namespace weft
