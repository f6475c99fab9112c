#include "toolstack/bootloader/pty_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "base/unique_fd.h"

namespace txend::toolstack {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kConsoleTailBytes = 4096;
// How often the loop looks whether the program ended (it also wakes on output).
constexpr std::chrono::milliseconds kTick{20};

Status Errno(const std::string& what) {
  return Status::Error(errno, what + ": " + std::strerror(errno));
}

// NULL-terminated pointers into `strings` (built before fork: the child may only exec).
std::vector<char*> Pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecOnTerminal(int terminal, int exec_errors, uint64_t max_file_bytes,
                                 char* const* argv, char* const* envp) {
  setsid();
  ioctl(terminal, TIOCSCTTY, 0);
  dup2(terminal, 0);
  dup2(terminal, 1);
  dup2(terminal, 2);
  struct rlimit fsize = {max_file_bytes, max_file_bytes}, core = {0, 0};
  setrlimit(RLIMIT_FSIZE, &fsize);
  setrlimit(RLIMIT_CORE, &core);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, nullptr);  // txend ignores it; the program should not
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0)
    for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  execve(argv[0], argv, envp);
  int err = errno;
  (void)!write(exec_errors, &err, sizeof err);
  _exit(127);
}

// Reads what is there; false once the descriptor has nothing more to give.
bool Drain(int fd, std::string& into, size_t keep_at_most, bool keep_tail) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
      if (into.size() > keep_at_most) {
        if (!keep_tail) return true;
        into.erase(0, into.size() - keep_at_most);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;  // 0 or EIO: the other side is gone
  }
}

void KillSession(pid_t pid) { kill(-pid, SIGKILL); }

int WaitFor(pid_t pid, int options, int& status) {
  pid_t w;
  while ((w = waitpid(pid, &status, options)) < 0 && errno == EINTR) {
  }
  return w;
}

// Runs the loop until the program ends, overruns its time or reports too much.
void Supervise(pid_t pid, int console, const PtyRun& run, PtyOutcome& out) {
  const auto deadline = Clock::now() + run.timeout;
  bool console_open = true;
  int status = 0;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd fds[2] = {{run.report_fd, POLLIN, 0}, {console_open ? console : -1, POLLIN, 0}};
    poll(fds, 2, static_cast<int>(std::clamp(left, std::chrono::milliseconds(0), kTick).count()));
    Drain(run.report_fd, out.report, run.max_report_bytes, false);
    if (console_open) console_open = Drain(console, out.console_tail, kConsoleTailBytes, true);
    out.report_overflow = out.report.size() > run.max_report_bytes;
    if (WaitFor(pid, WNOHANG, status) == pid) break;
    out.timed_out = Clock::now() >= deadline;
    if (out.timed_out || out.report_overflow) {
      KillSession(pid);
      WaitFor(pid, 0, status);
      break;
    }
  }
  KillSession(pid);  // whatever it left running in its session
  Drain(run.report_fd, out.report, run.max_report_bytes, false);
  out.report_overflow = out.report_overflow || out.report.size() > run.max_report_bytes;
  if (out.report_overflow) out.report.resize(run.max_report_bytes);
  if (WIFEXITED(status)) out.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
}

}  // namespace

Result<PtyOutcome> RunOnPty(const PtyRun& run) {
  const std::string& program = run.argv.at(0);
  UniqueFd console(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!console) return Errno(program + ": cannot open a pseudo-terminal");
  char name[128];
  if (grantpt(console.get()) != 0 || unlockpt(console.get()) != 0 ||
      ptsname_r(console.get(), name, sizeof name) != 0)
    return Errno(program + ": cannot set up a pseudo-terminal");
  UniqueFd terminal(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!terminal) return Errno(program + ": cannot open " + std::string(name));
  fcntl(console.get(), F_SETFL, O_NONBLOCK);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Errno(program + ": pipe");
  UniqueFd exec_errors_in(pipe_fds[0]), exec_errors_out(pipe_fds[1]);
  std::vector<char*> argv = Pointers(run.argv), envp = Pointers(run.env);

  pid_t pid = fork();
  if (pid < 0) return Errno(program + ": cannot start");
  if (pid == 0)
    ExecOnTerminal(terminal.get(), exec_errors_out.get(), run.max_file_bytes, argv.data(),
                   envp.data());
  terminal.reset();
  exec_errors_out.reset();
  int exec_errno = 0;
  ssize_t n;
  while ((n = read(exec_errors_in.get(), &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    int status;
    WaitFor(pid, 0, status);
    return Status::Error(exec_errno, program + ": cannot run: " + std::strerror(exec_errno));
  }
  PtyOutcome out;
  Supervise(pid, console.get(), run, out);
  return out;
}

std::string LastConsoleLine(const std::string& console) {
  std::string text;  // printable text, escape sequences dropped, lines split at \r and \n
  for (size_t i = 0; i < console.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(console[i]);
    if (c == 0x1b) {  // ESC [ params letter, or ESC and one character
      if (i + 1 < console.size() && console[i + 1] == '[') {
        i += 2;
        while (i < console.size() && !std::isalpha(static_cast<unsigned char>(console[i]))) ++i;
      } else {
        ++i;
      }
    } else if (c == '\r' || c == '\n') {
      text += '\n';
    } else if (c >= 0x20 && c < 0x7f) {
      text += static_cast<char>(c);
    }
  }
  size_t end = text.find_last_not_of(" \n");
  if (end == std::string::npos) return "";
  size_t start = text.rfind('\n', end);
  std::string line = text.substr(start == std::string::npos ? 0 : start + 1,
                                 end + 1 - (start == std::string::npos ? 0 : start + 1));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

}  // namespace txend::toolstack
