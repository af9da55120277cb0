// Logging: WEFT_DEBUG (level), WEFT_DEBUG_SUBSYS (which parts), WEFT_DEBUG_FILE (where).
// Each line: time, host, pid, rank, subsystem, message.
#pragma once

#include <cstdint>

namespace weft {

enum class LogLevel { kNone = 0, kWarn = 1, kInfo = 2, kTrace = 3 };

enum LogSubsys : uint32_t {
  kLogInit = 1u << 0,
  kLogTopo = 1u << 1,
  kLogTune = 1u << 2,
  kLogNet = 1u << 3,
  kLogColl = 1u << 4,
  kLogAll = ~0u,
};

// True if a message of this level and subsystem would be written (cheap; check before
// formatting expensive messages).
bool LogEnabled(LogLevel level, LogSubsys subsys);

void LogWrite(LogLevel level, LogSubsys subsys, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// The rank printed on this thread's log lines (-1: none). Set by the communicator.
void SetLogRank(int rank);

}  // namespace weft

#define WEFT_LOG(level, subsys, ...)                                          \
  do {                                                                        \
    if (::weft::LogEnabled(::weft::LogLevel::level, ::weft::subsys))          \
      ::weft::LogWrite(::weft::LogLevel::level, ::weft::subsys, __VA_ARGS__); \
  } while (0)

#define WEFT_WARN(subsys, ...) WEFT_LOG(kWarn, subsys, __VA_ARGS__)
#define WEFT_INFO(subsys, ...) WEFT_LOG(kInfo, subsys, __VA_ARGS__)
#define WEFT_TRACE(subsys, ...) WEFT_LOG(kTrace, subsys, __VA_ARGS__)
