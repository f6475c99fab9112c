#include "bench/idle_monitors.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "sxp/sxp.h"
#include "tests/support/xend_client.h"

namespace txend::bench {
namespace {

// A forked child (of a threaded process: no allocation from here on): opens
// `n` long polls sending `request`, writes to `report` how many are still
// parked after 300 ms, then holds them until killed.
[[noreturn]] void Monitors(const sockaddr_un& addr, int n, const std::string& request, int report) {
  pollfd polls[kIdleMonitorsPerProcess];
  int open = 0;
  for (int i = 0; i < n; ++i) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) continue;
    // MSG_NOSIGNAL: txend closes a connection over its admission limits at once, and
    // SIGPIPE from writing to it killed this child before it reported, which left
    // the parent waiting for the report forever (the other children hold the pipe).
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
      close(fd);
      continue;
    }
    polls[open++] = {fd, POLLIN, 0};
  }
  poll(polls, open, 300);
  int waiting = 0;
  for (int i = 0; i < open; ++i) waiting += polls[i].revents == 0;
  (void)!write(report, &waiting, sizeof waiting);
  for (;;) pause();
}

}  // namespace

Result<std::string> NextEvent(const std::string& xend_socket) {
  auto now = testing::XendClient::Unix(xend_socket).Get("/xend/events");
  if (now.status != 200)
    return Status::Error(EIO, "GET /xend/events: HTTP " + std::to_string(now.status));
  return sxp::ChildValue(now.sxp, "next", "1");
}

Result<IdleFigures> MeasureIdleMonitors(const std::string& xend_socket, const std::string& since,
                                        StackMeter& meter, int monitors, double seconds) {
  std::string request = "GET /xend/events?since=" + since +
                        "&wait=30 HTTP/1.1\r\nHost: localhost\r\nAccept: application/sxp\r\n\r\n";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, xend_socket.c_str(), sizeof addr.sun_path - 1);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return Status::Error(errno, "pipe");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  std::vector<pid_t> children;
  for (int left = monitors; left > 0; left -= kIdleMonitorsPerProcess) {
    pid_t pid = fork();
    if (pid == 0) Monitors(addr, std::min(left, kIdleMonitorsPerProcess), request, pipe_fds[1]);
    if (pid > 0) children.push_back(pid);
  }
  write_end.reset();  // a child that dies before reporting ends the read below
  IdleFigures f;
  f.monitors = monitors;
  for (size_t i = 0; i < children.size(); ++i) {
    int n = 0;
    if (read(read_end.get(), &n, sizeof n) != sizeof n) break;
    f.waiting += n;
  }
  auto before = meter.Sample();
  if (before.ok()) {
    // The window's CPU is read without xsd's stats request in it (SampleProcesses).
    auto quiet_before = meter.SampleProcesses();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    auto quiet_after = meter.SampleProcesses();
    auto after = meter.Sample();
    if (after.ok()) f.cost = *after - *before;
    if (after.ok() && quiet_before.ok() && quiet_after.ok()) {
      StackCost quiet = *quiet_after - *quiet_before;
      f.cost.seconds = quiet.seconds;
      f.cost.xsd_cpu_seconds = quiet.xsd_cpu_seconds;
      f.cost.txend_cpu_seconds = quiet.txend_cpu_seconds;
      f.cost.xsd_thread_cpu_seconds = quiet.xsd_thread_cpu_seconds;
      f.cost.txend_thread_cpu_seconds = quiet.txend_thread_cpu_seconds;
    }
  }
  for (pid_t pid : children) kill(pid, SIGKILL);
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  if (!before.ok()) return before.status();
  return f;
}

}  // namespace txend::bench
