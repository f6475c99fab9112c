// xm domain config files (xmdomain.cfg(5)): a Python-syntax list of
// assignments, read with `xm create`'s VAR=VALUE overrides into an ordered
// set of settings. cli/xm_make_config.h turns them into the (vm ...) SXP.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "cli/xm_python.h"

namespace txend::xm {

// One option or script variable and where its value came from.
struct XmSetting {
  std::string name;
  PyValue value;       // options normalised (see NormalizeXmOption); variables as written
  std::string origin;  // "demo.cfg:7", "command line" or "default"
  bool is_option = false;
};

// Everything a config file and the command line set, in the order the file set them.
struct XmConfig {
  std::string filename;
  std::vector<XmSetting> settings;
  std::vector<std::string> warnings;  // values xm ignores, e.g. acpi = True

  const XmSetting* Find(std::string_view name) const;
};

// Parses config `text` named `filename` (used in errors and as the default
// domain name). `overrides` are xm create's VAR=VALUE arguments: for an xm
// option they replace the file's value; any other VAR becomes a string
// variable the file can use ("vm%d" % vmid) and may reassign.
// Errors: "demo.cfg:7: memory: expected an integer, got 'lots'".
Result<XmConfig> ParseXmConfigText(std::string_view text, std::string_view filename,
                                   const std::vector<std::string>& overrides = {});
// The bytes of a config file (a pipe too: `xm create <(...)`), read up to `max_bytes`:
// E2BIG past it, so /dev/zero ends in an error, not in all of memory.
Result<std::string> ReadXmConfigBytes(const std::string& path, size_t max_bytes);

// Reads the file at `path` (at most 1 MiB) and parses it.
Result<XmConfig> ParseXmConfigFile(const std::string& path,
                                   const std::vector<std::string>& overrides = {});

}  // namespace txend::xm
