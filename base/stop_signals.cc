#include "base/stop_signals.h"

#include <pthread.h>
#include <signal.h>

namespace txend {
namespace {

// SIGUSR1 is only the destructor's way to end the waiter.
sigset_t WaitSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

StopSignals::StopSignals() {
  sigset_t set = WaitSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

StopSignals::~StopSignals() {
  if (waiter_.joinable()) {
    pthread_kill(waiter_.native_handle(), SIGUSR1);
    waiter_.join();
  }
}

void StopSignals::OnStop(std::function<void()> on_stop) {
  waiter_ = std::thread([on_stop = std::move(on_stop)] {
    sigset_t set = WaitSet();
    int sig = 0;
    if (sigwait(&set, &sig) == 0 && sig != SIGUSR1) on_stop();
  });
}

void StopSignals::Wait() {
  sigset_t set = WaitSet();
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
  }
}

}  // namespace txend
