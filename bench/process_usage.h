// ProcessUsage: what the kernel accounts to one process (all its threads):
// CPU time (also per thread, to the nanosecond), resident memory, bytes written and context
// switches, from /proc/<pid>/{stat,status,io} and /proc/<pid>/task/*/{schedstat,status}.
#pragma once

#include <cstdint>
#include <sys/types.h>

#include "base/result.h"

namespace txend::bench {

struct ProcessUsage {
  double cpu_seconds = 0;  // utime + stime (in clock ticks: 10 ms steps)
  // The CPU time of its live threads to the nanosecond (/proc/<pid>/task/*/schedstat):
  // for short windows, where 10 ms steps are most of the figure. Threads that
  // ended are not in it.
  double thread_cpu_seconds = 0;
  uint64_t rss_bytes = 0;    // VmRSS
  uint64_t write_bytes = 0;  // bytes this process caused to be sent to storage
  uint64_t wchar = 0;        // bytes passed to write(2) and friends (files and sockets)
  // Context switches summed over the threads alive now (/proc/<pid>/task/*/status): a thread
  // that blocks (voluntary) or is preempted (involuntary). Threads gone since take theirs along.
  uint64_t voluntary_switches = 0;
  uint64_t involuntary_switches = 0;
};

Result<ProcessUsage> ReadProcessUsage(pid_t pid);

}  // namespace txend::bench
