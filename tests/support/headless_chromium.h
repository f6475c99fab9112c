// Test support: Debian's chromium, headless, in a profile directory of its own, with its
// DevTools endpoint on a port it picked (read from DevToolsActivePort). The browser and
// every process it starts run in one process group, killed together on destruction.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

#include "base/result.h"
#include "tests/support/daemon_process.h"

namespace txend::testing {

class HeadlessChromium {
 public:
  // The chromium program on PATH, or "" when it is not installed.
  static std::string Program();
  // Starts it and waits up to `timeout` for its DevTools endpoint.
  static Result<std::unique_ptr<HeadlessChromium>> Start(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HeadlessChromium();
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  uint16_t port() const { return port_; }
  // The browser-wide DevTools websocket path ("/devtools/browser/<id>").
  const std::string& browser_path() const { return browser_path_; }
  // Kills the whole process group and reaps the browser; true when no process of this
  // browser (one naming its profile directory) is left afterwards.
  bool Kill();
  // What chromium wrote to stdout and stderr.
  std::string Log() const;

 private:
  HeadlessChromium() = default;
  TempDir profile_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string browser_path_;
};

}  // namespace txend::testing
