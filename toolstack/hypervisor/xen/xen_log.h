// XenLog: the logger handed to libxenctrl and libxenguest. It keeps the last
// error they reported, so a failed call's Status can carry libxc's own
// explanation, and echoes warnings and errors to stderr (the daemon's log).
#pragma once

#include <mutex>
#include <string>

struct xentoollog_logger;

namespace txend::toolstack {

class XenLog {
 public:
  explicit XenLog(bool echo_to_stderr = true);
  ~XenLog();
  XenLog(const XenLog&) = delete;
  XenLog& operator=(const XenLog&) = delete;

  xentoollog_logger* logger();
  // The most recent error-level message ("" if none), cleared by the read.
  std::string TakeLastError();

  // What libxc's messages reach (through Adapter, the C struct it calls).
  void Record(int level, const std::string& message);
  struct Adapter;

 private:
  Adapter* adapter_;
  bool echo_;
  std::mutex mu_;
  std::string last_error_;
};

}  // namespace txend::toolstack
