// Test support: what a daemon under test holds, read from /proc — resident
// memory, open descriptors, CPU time used — for tests that prove an attack
// leaves it flat.
#pragma once

#include <chrono>
#include <sys/types.h>

namespace txend::testing {

// Resident set size in KiB; -1 when the process is gone.
long RssKiB(pid_t pid);
// The largest resident set size the process ever had, in KiB (freed memory
// goes back to the system, so a burst shows only here); -1 when it is gone.
long PeakRssKiB(pid_t pid);
// Open file descriptors; -1 when the process is gone.
int FdCount(pid_t pid);
// User plus system CPU time the process has used.
std::chrono::milliseconds CpuTime(pid_t pid);

}  // namespace txend::testing
