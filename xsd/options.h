// XsdOptions: xsd's command line — the stock xenstored's flags with the same
// meaning, plus --socket, --domain-sockets, --persist and --sockets-only.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "xsd/quota.h"
#include "xsd/server.h"

namespace txend::xsd {

struct XsdOptions {
  bool no_fork = false;       // -N
  bool output_pid = false;    // -P
  bool verbose = false;       // -V
  bool sockets_only = false;  // --sockets-only: no Xen rings even on Xen
  std::string pid_file;       // -F
  std::string persist_dir;    // --persist: journal + snapshot here (off when empty)
  ServerOptions server;       // --socket, --domain-sockets, -T, -D
  Quota quota;                // -E -S -W -t -A -M -Q
};

// Parses argv. `help` receives the usage text when -H/--help was given (then
// the result holds defaults and the caller should print and exit 0).
Result<XsdOptions> ParseOptions(int argc, const char* const* argv, std::string* help);

}  // namespace txend::xsd
