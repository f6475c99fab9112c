// The options of `xm create` that a config file or VAR=VALUE may set
// (Xen 4.2's tools/python/xen/xm/create.py gopts.var), their kinds and defaults.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "cli/xm_python.h"

namespace txend::xm {

// How create.py treats an option's value.
enum class XmOptionKind {
  kString,   // set_value: a string (numbers are written as they print)
  kInteger,  // set_int / set_long
  kBool,     // set_bool: 0/1 in files, yes/no on the command line
  kList,     // append_value: a list of strings, one per device
};

struct XmOption {
  std::string_view name;
  XmOptionKind kind;
  PyValue default_value;  // None when create.py's default is None
};

// The option called `name`, or nullptr for a plain script variable.
const XmOption* FindXmOption(std::string_view name);

// A config-file value in the option's normal form: int for kInteger/kBool,
// str for kString (a list of str for cpus and serial), list of str for kList.
// Errors read "memory: expected an integer, got 'lots'".
Result<PyValue> NormalizeXmOption(const XmOption& option, const PyValue& value);

// A VAR=VALUE command-line value for the option (create.py's set_* functions;
// bool options take yes/y/no/n, and 1/0 too). kList options yield one item.
Result<PyValue> ParseXmOptionArgument(const XmOption& option, const std::string& text);

}  // namespace txend::xm
