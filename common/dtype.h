// Data types and reduction operations: sizes and the names nccl-tests uses.
#pragma once

#include <cstddef>
#include <string>

#include "weft/weft.h"

namespace weft {

inline bool ValidType(int t) {
  return t >= 0 && t < weftNumTypes;
}
inline bool ValidOp(int op) {
  return op >= 0 && op < weftNumOps;
}

inline size_t TypeSize(weftDataType_t t) {
  switch (t) {
    case weftInt8:
    case weftUint8:
    case weftFloat8e4m3:
    case weftFloat8e5m2:
      return 1;
    case weftFloat16:
    case weftBfloat16:
      return 2;
    case weftInt32:
    case weftUint32:
    case weftFloat32:
      return 4;
    case weftInt64:
    case weftUint64:
    case weftFloat64:
      return 8;
    default:
      return 0;
  }
}

inline bool IsFloatType(weftDataType_t t) {
  return t == weftFloat16 || t == weftFloat32 || t == weftFloat64 || t == weftBfloat16 ||
         t == weftFloat8e4m3 || t == weftFloat8e5m2;
}

inline bool IsSignedType(weftDataType_t t) {
  return t == weftInt8 || t == weftInt32 || t == weftInt64 || IsFloatType(t);
}

// nccl-tests spellings: int8 uint8 int32 uint32 int64 uint64 half float double bfloat16
// f8e4m3 f8e5m2.
const char* TypeName(weftDataType_t t);
bool ParseTypeName(const std::string& name, weftDataType_t* out);

// sum prod max min avg
const char* OpName(weftRedOp_t op);
bool ParseOpName(const std::string& name, weftRedOp_t* out);

}  // namespace weft
