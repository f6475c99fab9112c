// StopSignals: SIGTERM and SIGINT handled without signal handlers or globals.
// Construct it before starting threads: it blocks the signals, so only its
// own waiter receives them. SIGPIPE is ignored.
#pragma once

#include <functional>
#include <thread>

namespace txend {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  // Runs `on_stop` on a background thread when SIGTERM or SIGINT arrives.
  void OnStop(std::function<void()> on_stop);
  // Blocks the calling thread until SIGTERM or SIGINT arrives.
  void Wait();

 private:
  std::thread waiter_;
};

}  // namespace txend
