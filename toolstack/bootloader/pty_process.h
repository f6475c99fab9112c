// A program run on a pseudo-terminal of its own, as xend ran bootloaders
// (pygrub draws its menu with curses), bounded in time, in what it reports and
// in the size of the files it writes. Its console output is drained and only
// the end is kept, for error messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace txend::toolstack {

struct PtyRun {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;   // the whole environment, "NAME=value"
  std::chrono::milliseconds timeout{60000};
  // Read while the program runs (a FIFO opened O_RDWR | O_NONBLOCK); at most
  // max_report_bytes of it are kept, more stops the program.
  int report_fd = -1;
  size_t max_report_bytes = 64 << 10;
  uint64_t max_file_bytes = 1ull << 30;  // RLIMIT_FSIZE of the program
};

struct PtyOutcome {
  int exit_status = -1;  // the program's exit status; -1 when a signal ended it
  int signal = 0;        // the signal that ended it
  bool timed_out = false;
  bool report_overflow = false;  // it reported more than max_report_bytes
  std::string report;            // what it wrote to report_fd
  std::string console_tail;      // the last bytes it wrote to its terminal
};

// Runs the program to its end, killing its whole session when the timeout
// passes or it reports too much. Errors are only for what stopped it from
// running at all (no terminal, exec failed: the message names the program).
Result<PtyOutcome> RunOnPty(const PtyRun& run);

// The console tail's last line with printable text, escape sequences removed
// (what a bootloader printed last, usually its error).
std::string LastConsoleLine(const std::string& console);

}  // namespace txend::toolstack
