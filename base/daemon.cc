#include "base/daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#include "base/host_files.h"
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
  Status written = ReplaceRegularFile(path, std::to_string(getpid()) + "\n", false, 0644);
  if (!written.ok())
    return Status::Error(
        written.code(), "cannot write the pid file " + path + ": " + std::strerror(written.code()));
  return PidFile(std::move(path));
}

PidFile::~PidFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

}  // namespace txend
