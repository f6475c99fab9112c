// The parsed command line of one xm command (CLI11 underneath), and the help
// text xm prints for it: "Usage: xm <name> <synopsis>", description, options.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/status.h"

namespace txend::xm {

// Status codes with a meaning for xm's exit: ECANCELED = help was asked for.
class CommandLine {
 public:
  CommandLine(std::string_view name, std::string_view synopsis, std::string_view description);
  // Options are defined on app() before Parse.
  CLI::App& app() { return app_; }
  // Parses `argv` (the words after the command name); options may come before or
  // after positional arguments. EINVAL with xm's wording on a bad option or
  // a positional count outside [min_args, max_args].
  Status Parse(const std::vector<std::string>& argv, size_t min_args, size_t max_args);
  const std::vector<std::string>& args() const { return args_; }
  // xm's per-command help (cmdHelp).
  std::string Help() const;
  const std::string& name() const { return name_; }

 private:
  std::string name_, synopsis_, description_;
  CLI::App app_;
  std::vector<std::string> args_;
};

}  // namespace txend::xm
