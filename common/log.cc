#include "common/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

#include "common/config.h"

namespace weft {
namespace {

thread_local int tls_rank = -1;

// The process's logger: the one piece of global state besides the config snapshot.
struct Logger {
  LogLevel level = LogLevel::kWarn;
  uint32_t subsys = kLogAll;
  FILE* out = stderr;
  char host[64] = {};
  std::mutex mutex;

  Logger() {
    gethostname(host, sizeof(host) - 1);
    Config config;
    if (!Config::FromProcess(&config).ok()) return;  // the communicator reports the error
    // Any case, as NCCL_DEBUG.
    std::string l = config.debug;
    for (char& c : l)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (l == "NONE")
      level = LogLevel::kNone;
    else if (l == "INFO")
      level = LogLevel::kInfo;
    else if (l == "TRACE")
      level = LogLevel::kTrace;
    subsys = ParseSubsys(config.debug_subsys);
    if (!config.debug_file.empty()) OpenFile(config.debug_file);
  }

  static uint32_t ParseSubsys(const std::string& list) {
    uint32_t mask = 0;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(',', start);
      if (end == std::string::npos) end = list.size();
      std::string s = list.substr(start, end - start);
      for (char& c : s)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (s == "INIT")
        mask |= kLogInit;
      else if (s == "TOPO")
        mask |= kLogTopo;
      else if (s == "TUNE")
        mask |= kLogTune;
      else if (s == "NET")
        mask |= kLogNet;
      else if (s == "COLL")
        mask |= kLogColl;
      else if (s == "ALL")
        mask |= kLogAll;
      start = end + 1;
    }
    return mask == 0 ? static_cast<uint32_t>(kLogAll) : mask;
  }

  void OpenFile(const std::string& pattern) {
    // Config::Check names a path that cannot be written at init; until then, stderr.
    FILE* f = std::fopen(ExpandHostPid(pattern).c_str(), "a");
    if (f != nullptr) out = f;
  }
};

Logger& TheLogger() {
  static Logger logger;
  return logger;
}

const char* SubsysName(LogSubsys s) {
  switch (s) {
    case kLogInit:
      return "INIT";
    case kLogTopo:
      return "TOPO";
    case kLogTune:
      return "TUNE";
    case kLogNet:
      return "NET";
    case kLogColl:
      return "COLL";
    default:
      return "ALL";
  }
}

}  // namespace

bool LogEnabled(LogLevel level, LogSubsys subsys) {
  Logger& l = TheLogger();
  return level <= l.level && (l.subsys & subsys) != 0;
}

void SetLogRank(int rank) {
  tls_rank = rank;
}

void LogWrite(LogLevel level, LogSubsys subsys, const char* fmt, ...) {
  Logger& l = TheLogger();
  char message[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(message, sizeof(message), fmt, args);
  va_end(args);
  timeval tv;
  gettimeofday(&tv, nullptr);
  const char* lvl = level == LogLevel::kWarn ? "WARN" : level == LogLevel::kInfo ? "INFO" : "TRACE";
  std::lock_guard<std::mutex> lock(l.mutex);
  std::fprintf(l.out, "%ld.%06ld %s:%d [%d] weft %s %s %s\n", static_cast<long>(tv.tv_sec),
               static_cast<long>(tv.tv_usec), l.host, static_cast<int>(getpid()), tls_rank, lvl,
               SubsysName(subsys), message);
  std::fflush(l.out);
}

}  // namespace weft
