#include "common/dtype.h"

namespace weft {
namespace {
const char* const kTypeNames[weftNumTypes] = {"int8",   "uint8",    "int32",  "uint32",
                                              "int64",  "uint64",   "half",   "float",
                                              "double", "bfloat16", "f8e4m3", "f8e5m2"};
const char* const kOpNames[weftNumOps] = {"sum", "prod", "max", "min", "avg"};
}  // namespace

const char* TypeName(weftDataType_t t) {
  return ValidType(t) ? kTypeNames[t] : "invalid";
}

bool ParseTypeName(const std::string& name, weftDataType_t* out) {
  for (int t = 0; t < weftNumTypes; ++t) {
    if (name == kTypeNames[t]) return *out = static_cast<weftDataType_t>(t), true;
  }
  // Aliases people type.
  if (name == "float32") return *out = weftFloat32, true;
  if (name == "float16" || name == "fp16") return *out = weftFloat16, true;
  if (name == "float64") return *out = weftFloat64, true;
  if (name == "bf16") return *out = weftBfloat16, true;
  return false;
}

const char* OpName(weftRedOp_t op) {
  return ValidOp(op) ? kOpNames[op] : "invalid";
}

bool ParseOpName(const std::string& name, weftRedOp_t* out) {
  for (int op = 0; op < weftNumOps; ++op) {
    if (name == kOpNames[op]) return *out = static_cast<weftRedOp_t>(op), true;
  }
  return false;
}

}  // namespace weft
