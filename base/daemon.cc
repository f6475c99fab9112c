#include "base/daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace txend {

Daemonizer::Daemonizer(bool foreground, bool print_pid) {
  if (foreground) return;
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t pid = fork();
  if (pid < 0) return;
  if (pid > 0) {
    close(fds[1]);
    char verdict = 1;
    ssize_t n = read(fds[0], &verdict, 1);
    bool ok = n == 1 && verdict == 0;
    if (ok && print_pid) printf("%d\n", pid);
    fflush(stdout);
    _exit(ok ? 0 : 1);
  }
  close(fds[0]);
  setsid();
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (null > 2) close(null);
  }
  ready_fd_ = fds[1];
}

Daemonizer::~Daemonizer() { Ready(false); }

void Daemonizer::Ready(bool ok) {
  if (ready_fd_ < 0) return;
  char verdict = ok ? 0 : 1;
  ssize_t ignored = write(ready_fd_, &verdict, 1);
  (void)ignored;
  close(ready_fd_);
  ready_fd_ = -1;
  // Start-up errors went to the caller's stderr; from now on the log is the place.
  int null = open("/dev/null", O_WRONLY);
  if (ok && null >= 0) dup2(null, STDERR_FILENO);
  if (null > 2) close(null);
}

PidFile::PidFile(std::string path) : path_(std::move(path)) {
  if (!path_.empty()) std::ofstream(path_) << getpid() << "\n";
}

PidFile::~PidFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

}  // namespace txend
