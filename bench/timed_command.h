// TimedCommand: runs a program (no shell) with extra environment entries,
// captures its stdout and measures its wall time from spawn to exit.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace txend::bench {

struct CommandRun {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  double seconds = 0;
};

// `env` entries are "NAME=value", added to ours.
Result<CommandRun> RunTimed(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env);

}  // namespace txend::bench
