// Test support: real daemons started by tests, in temp directories of their own.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "base/result.h"

namespace txend::xs {
class Connection;
}  // namespace txend::xs

namespace txend::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A child process (a daemon under test). Ready once `socket_path` accepts
// connections. Killed with SIGKILL and reaped on destruction.
class DaemonProcess {
 public:
  // argv[0] is the program path. `env` entries are "NAME=value", added to ours.
  static Result<std::unique_ptr<DaemonProcess>> Start(
      std::vector<std::string> argv, const std::string& socket_path,
      std::vector<std::string> env = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(20));
  ~DaemonProcess();

  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the exit; returns the wait status.
  int Stop(int signal);
  // True while the process has not exited.
  bool Running();

 private:
  explicit DaemonProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
};

// Path of a program built into build/bin.
std::string BinPath(const std::string& program);

// True when a unix socket at `path` accepts a connection.
bool SocketAccepts(const std::string& path);

// Starts build/bin/xsd in the foreground on `socket_path` with `extra_args`.
Result<std::unique_ptr<DaemonProcess>> StartXsd(const std::string& socket_path,
                                                std::vector<std::string> extra_args = {});

// A counter from the CONTROL stats of the xenstored on `socket` (~0 when unavailable).
uint64_t XsdStat(const std::string& socket, const std::string& name);
// The same over an open connection (no new client in xsd's own counts).
uint64_t XsdStat(xs::Connection& conn, const std::string& name);

// Runs a shell command; returns its exit status and captures stdout (and stderr if asked).
struct CommandResult {
  int exit_code = -1;
  std::string out;
};
CommandResult RunCommand(const std::string& command, bool merge_stderr = false);

}  // namespace txend::testing
