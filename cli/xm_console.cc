#include "cli/xm_console.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/signalfd.h>
#include <thread>

#include "base/unique_fd.h"

namespace txend::xm {
namespace {

using Clock = std::chrono::steady_clock;
// How long a started domain's console may take to appear in xenstore
// (xenconsoled, or the simulator, writes it once the guest runs).
constexpr auto kTtyWait = std::chrono::seconds(5);
constexpr auto kTtyRetry = std::chrono::milliseconds(50);
constexpr int kPollBoundMs = 1000;
constexpr size_t kChunk = 4096;

// A terminal in raw mode for this object's life (nothing when `fd` is no terminal).
class RawMode {
 public:
  explicit RawMode(int fd) : fd_(fd) {
    if (!isatty(fd) || tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    active_ = tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawMode() {
    if (active_) tcsetattr(fd_, TCSANOW, &saved_);
  }
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

// The signals that end a session, taken through a descriptor while it lasts so
// the terminal is restored before xm goes.
class SessionSignals {
 public:
  SessionSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, &saved_);
    fd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  }
  ~SessionSignals() { sigprocmask(SIG_SETMASK, &saved_, nullptr); }
  SessionSignals(const SessionSignals&) = delete;
  SessionSignals& operator=(const SessionSignals&) = delete;
  int fd() const { return fd_.get(); }
  // The signal that arrived, or 0.
  int Take() {
    signalfd_siginfo info;
    return read(fd_.get(), &info, sizeof info) == sizeof info ? static_cast<int>(info.ssi_signo)
                                                              : 0;
  }

 private:
  UniqueFd fd_;
  sigset_t saved_;
};

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The domain's console pty, waiting (bounded) for it to be announced.
Result<std::string> ConsoleTty(XmContext& ctx, const std::string& ref) {
  const auto deadline = Clock::now() + kTtyWait;
  while (true) {
    TXEND_ASSIGN_OR_RETURN(sxp::Value d, ctx.xend.Domain(ref));
    if (sxp::ChildValue(d, "domid").empty())
      return Status::Error(EREMOTEIO, "Domain '" + ref + "' is not started");
    std::string tty = sxp::ChildValue(d, "console_tty");
    if (!tty.empty()) return tty;
    if (Clock::now() >= deadline)
      return Status::Error(ENOENT, "Domain '" + ref +
                                       "' has no console: no console/tty in xenstore (on Xen, is "
                                       "xenconsoled running?)");
    std::this_thread::sleep_for(kTtyRetry);
  }
}

enum class End { kDetached, kGone, kSignal, kOutputClosed };

// Moves bytes both ways until the escape key, the console's end, or a signal.
End Session(int tty, SessionSignals& signals, int& signal) {
  std::string to_tty;
  char buf[kChunk];
  while (true) {
    pollfd fds[3] = {{tty, static_cast<short>(POLLIN | (to_tty.empty() ? 0 : POLLOUT)), 0},
                     {signals.fd(), POLLIN, 0},
                     {STDIN_FILENO, static_cast<short>(to_tty.size() < kChunk ? POLLIN : 0), 0}};
    if (poll(fds, 3, kPollBoundMs) < 0 && errno != EINTR) return End::kGone;
    if (fds[1].revents & POLLIN) {
      signal = signals.Take();
      if (signal != 0) return End::kSignal;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(tty, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return End::kGone;
      if (n > 0 && !WriteAll(STDOUT_FILENO, buf, static_cast<size_t>(n))) return End::kOutputClosed;
    }
    if (fds[2].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n == 0) return End::kDetached;  // end of input: as good as the escape key
      if (n > 0) {
        std::string_view typed(buf, static_cast<size_t>(n));
        size_t escape = typed.find(kConsoleEscape);
        to_tty.append(typed.substr(0, escape));
        if (escape != std::string_view::npos) {
          (void)!write(tty, to_tty.data(), to_tty.size());
          return End::kDetached;
        }
      }
    }
    if (!to_tty.empty()) {
      ssize_t n = write(tty, to_tty.data(), to_tty.size());
      if (n > 0) to_tty.erase(0, static_cast<size_t>(n));
    }
  }
}

}  // namespace

Status AttachConsole(XmContext& ctx, const std::string& ref) {
  TXEND_ASSIGN_OR_RETURN(std::string path, ConsoleTty(ctx, ref));
  UniqueFd tty(open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (tty.get() < 0)
    return Status::Error(
        errno, "cannot open " + path + " (the console of " + ref + "): " + std::strerror(errno));
  termios raw;
  if (tcgetattr(tty.get(), &raw) == 0) {  // the pty passes bytes as they are, as xenconsole sets it
    cfmakeraw(&raw);
    tcsetattr(tty.get(), TCSANOW, &raw);
  }
  ctx.out.flush();
  End end;
  int signal = 0;
  {
    SessionSignals signals;
    RawMode raw_mode(STDIN_FILENO);
    end = Session(tty.get(), signals, signal);
  }  // the terminal is restored here, before any message
  switch (end) {
    case End::kDetached:
    case End::kOutputClosed:
      return Status::Ok();
    case End::kGone:
      ctx.err << "\nDomain " << ref << " went away: its console closed.\n";
      return Status::Ok();
    case End::kSignal:
      break;
  }
  return Status::Error(EINTR, std::string("console: ") + strsignal(signal));
}

}  // namespace txend::xm
