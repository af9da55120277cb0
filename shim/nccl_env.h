// NCCL's environment under the shim: a program that sets NCCL_DEBUG, NCCL_ALGO or
// NCCL_SOCKET_IFNAME keeps its knobs. For each WEFT_* variable left unset, its NCCL
// counterpart is read and said in Weft's terms (the table in nccl_env.cc, README's "NCCL's
// variables"); NCCL_* variables Weft has no counterpart for are warned about once.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"

namespace weft_shim {

// The value of `weft_name` that its NCCL counterpart asks for, looked up through `nccl`.
// False where no NCCL variable maps to it, where that is unset, or where it asks for nothing
// Weft has; then *note (if not null) says why, for a warning.
bool TranslateNcclVariable(const std::string& weft_name, const weft::EnvLookup& nccl,
                           std::string* value, std::string* note);

// Of the NCCL_* names given, those the shim neither translates nor needs: each is ignored.
std::vector<std::string> IgnoredNcclVariables(const std::vector<std::string>& names);

// Every NCCL_* variable set in the process environment.
std::vector<std::string> ProcessNcclVariables();

// The EnvFallback the shim installs (common/config.h): the translation of the process's
// NCCL_* variables.
bool ProcessNcclFallback(const std::string& weft_name, std::string* value);

// Logs once per process: every NCCL_* variable set and ignored, and every honoured one Weft
// follows only in part (NCCL_ALGO naming NVLS, say). The shim calls it at each init.
void WarnAboutNcclEnvironmentOnce();

}  // namespace weft_shim
