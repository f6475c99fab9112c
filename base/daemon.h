// Daemon start-up shared by xsd and txend: fork into the background and
// return to the caller only once the child says it is ready (or failed), so
// scripts can use the daemon the moment its command returns; under a service
// manager (systemd's Type=notify), readiness is also sent to it.
#pragma once

#include <string>

#include "base/result.h"
#include "base/status.h"
#include "base/unique_fd.h"

namespace txend {

class Daemonizer {
 public:
  // In the parent: waits for the child's verdict and exits with it (printing
  // the child's pid first when `print_pid`). Returns in the child only, with
  // stdin/stdout on /dev/null and a new session. Does nothing if `foreground`.
  Daemonizer(bool foreground, bool print_pid = false);
  ~Daemonizer();
  // Tells the waiting parent how start-up went (and, when ok, detaches
  // stderr from the caller's terminal and sends READY=1 to $NOTIFY_SOCKET);
  // later calls do nothing. The status is the service manager's notification's.
  Status Ready(bool ok);

 private:
  UniqueFd ready_fd_;  // the pipe to the waiting parent, until Ready()
  bool told_ = false;  // Ready() has run
};

// getpid() in the file at `path` (none if empty), written whole (to <path>.tmp, then renamed);
// removed again on destruction.
class PidFile {
 public:
  // EINVAL for a path that is not a regular file's, ENOSPC and the like: the daemon should
  // not run with a pid file nobody can read.
  static Result<PidFile> Write(std::string path);
  PidFile(PidFile&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  PidFile& operator=(PidFile&&) = delete;
  ~PidFile();

 private:
  explicit PidFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace txend
