// Status: a result code plus the reason, propagated inside Weft and turned into a
// weftResult_t (and the thread's last-error text) at the C boundary.
#pragma once

#include <string>
#include <utility>

#include "weft/weft.h"

namespace weft {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(weftResult_t code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == weftSuccess; }
  weftResult_t code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with where and what was being done, keeping the code.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  weftResult_t code_ = weftSuccess;
  std::string message_;
};

// Formats like printf into a std::string (used to build error messages).
std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

inline Status InvalidArgument(std::string m) {
  return Status(weftInvalidArgument, std::move(m));
}
inline Status InvalidUsage(std::string m) {
  return Status(weftInvalidUsage, std::move(m));
}
inline Status SystemError(std::string m) {
  return Status(weftSystemError, std::move(m));
}
inline Status InternalError(std::string m) {
  return Status(weftInternalError, std::move(m));
}
inline Status RemoteError(std::string m) {
  return Status(weftRemoteError, std::move(m));
}
inline Status TimeoutError(std::string m) {
  return Status(weftTimeout, std::move(m));
}
inline Status CudaError(std::string m) {
  return Status(weftUnhandledCudaError, std::move(m));
}

// What every call on a communicator that has failed returns (`cause` is the failure that
// put it in error, which stays; communicators do not recover).
inline Status CommunicatorInError(const Status& cause) {
  return InvalidUsage("the communicator is in error (" + cause.message() +
                      "); only weftCommAbort or weftCommDestroy may follow");
}

// Status from errno with the call that failed.
Status ErrnoStatus(const char* what);

}  // namespace weft

// Returns early with the failed status. Messages are for users: callers add context that
// means something to them (which collective, which peer) with WithContext, not file:line.
#define WEFT_CHECK(expr)                         \
  do {                                           \
    ::weft::Status weft_status_ = (expr);        \
    if (!weft_status_.ok()) return weft_status_; \
  } while (0)

// Returns early with an error of `code` if `cond` is false.
#define WEFT_REQUIRE(cond, code, ...)                                        \
  do {                                                                       \
    if (!(cond)) return ::weft::Status((code), ::weft::Format(__VA_ARGS__)); \
  } while (0)
