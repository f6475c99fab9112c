#include "base/daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "base/service_notify.h"

namespace txend {
namespace {

// Points the standard descriptors `to` at /dev/null (opened with `flags`).
void RedirectToNull(int flags, std::initializer_list<int> to) {
  UniqueFd null(open("/dev/null", flags));
  if (!null) return;
  for (int fd : to) dup2(null.get(), fd);
  if (null.get() <= STDERR_FILENO) null.release();  // it was free, so it is one of them now
}

}  // namespace

Daemonizer::Daemonizer(bool foreground, bool print_pid) {
  if (foreground) return;
  int fds[2];
  if (pipe(fds) != 0) return;
  UniqueFd verdict_in(fds[0]), verdict_out(fds[1]);
  pid_t pid = fork();
  if (pid < 0) return;
  if (pid > 0) {
    verdict_out.reset();
    char verdict = 1;
    ssize_t n = read(verdict_in.get(), &verdict, 1);
    bool ok = n == 1 && verdict == 0;
    if (ok && print_pid) printf("%d\n", pid);
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  verdict_in.reset();
  setsid();
  RedirectToNull(O_RDWR, {STDIN_FILENO, STDOUT_FILENO});
  ready_fd_ = std::move(verdict_out);
}

Daemonizer::~Daemonizer() { (void)Ready(false); }

Status Daemonizer::Ready(bool ok) {
  if (told_) return Status::Ok();
  told_ = true;
  if (ready_fd_) {
    char verdict = ok ? 0 : 1;
    ssize_t ignored = write(ready_fd_.get(), &verdict, 1);
    (void)ignored;
    ready_fd_.reset();
    // Start-up errors went to the caller's stderr; from now on the log is the place.
    if (ok) RedirectToNull(O_WRONLY, {STDERR_FILENO});
  }
  return ok ? NotifyServiceReady() : Status::Ok();
}

Result<PidFile> PidFile::Write(std::string path) {
  if (path.empty()) return PidFile("");
  const std::string tmp = path + ".tmp", text = std::to_string(getpid()) + "\n";
  auto fail = [&] {
    int err = errno ? errno : EIO;
    unlink(tmp.c_str());
    return Status::Error(err, "cannot write the pid file " + path + ": " + std::strerror(err));
  };
  errno = 0;
  // O_NONBLOCK: a FIFO there fails (ENXIO), never waited on.
  UniqueFd fd(
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644));
  if (!fd || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      rename(tmp.c_str(), path.c_str()) != 0)
    return fail();
  return PidFile(std::move(path));
}

PidFile::~PidFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

}  // namespace txend
