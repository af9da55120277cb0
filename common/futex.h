// Sleeping on a 32-bit word of memory shared between processes (Linux futexes), for the
// waits on shared memory that outlast a spin: the waiter raises its flag, then sleeps while
// the word still holds what it saw; the other side changes the word, then wakes the waiter
// if the flag is up. Both sides' store-then-load is sequentially consistent, so one of them
// always sees the other: no wake-up is lost.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <ctime>

namespace weft {

// Wakes the one waiter sleeping on `word`, if any.
inline void FutexWake(uint32_t* word) {
  syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// Sleeps while *word == seen, for at most timeout_us (or until woken, or a signal).
inline void FutexWait(uint32_t* word, uint32_t seen, int timeout_us) {
  timespec ts{timeout_us / 1000000, (timeout_us % 1000000) * 1000L};
  syscall(SYS_futex, word, FUTEX_WAIT, seen, &ts, nullptr, 0);
}

}  // namespace weft
