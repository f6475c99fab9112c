// Readiness under a service manager: xsd and txend send sd_notify's READY=1 to the
// datagram socket named by NOTIFY_SOCKET (systemd's Type=notify), from their own pid,
// once their sockets accept. A real socket of the test stands in for systemd.
#include <poll.h>

#include <csignal>
#include <fstream>
#include <optional>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include "base/numbers.h"
#include "base/unique_fd.h"
#include "tests/support/daemon_process.h"

namespace txend::testing {
namespace {

// One notification: its text and the sender's pid (SCM_CREDENTIALS).
struct Notification {
  std::string text;
  pid_t pid = 0;
};

// The service manager's end: a datagram socket at `path` that sees senders' credentials.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    int on = 1;
    ok_ = fd_ && bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          setsockopt(fd_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0;
  }
  bool ok() const { return ok_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // The next notification within `timeout`, if any.
  std::optional<Notification> Receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{data, sizeof(data)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    Notification note{std::string(data, n), 0};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
        note.pid = reinterpret_cast<ucred*>(CMSG_DATA(c))->pid;
    return note;
  }

 private:
  std::string path_;
  UniqueFd fd_;
  bool ok_ = false;
};

// The xsd txend started (it daemonized: not our child), stopped at the end of the test.
struct BundledXsd {
  explicit BundledXsd(const std::string& pid_file) {
    std::ifstream in(pid_file);
    std::string text;
    std::getline(in, text);
    pid = ParseInteger<pid_t>(text).value_or(0);
  }
  ~BundledXsd() {
    if (pid > 0) kill(pid, SIGTERM);
  }
  pid_t pid = 0;
};

constexpr auto kWait = std::chrono::seconds(20);
constexpr auto kQuiet = std::chrono::milliseconds(500);

TEST(ServiceReady, XsdSendsReadyOnceFromItsOwnPid) {
  TempDir dir;
  NotifySocket manager(dir / "notify");
  ASSERT_TRUE(manager.ok());
  auto xsd = DaemonProcess::Start({BinPath("xsd"), "--no-fork", "--socket", dir / "socket"},
                                  dir / "socket", {manager.env()});
  ASSERT_TRUE(xsd.ok()) << xsd.status().ToString();
  auto ready = manager.Receive(kWait);
  ASSERT_TRUE(ready.has_value()) << "no notification from xsd";
  EXPECT_EQ(ready->text, "READY=1");
  EXPECT_EQ(ready->pid, (*xsd)->pid());
  EXPECT_TRUE(SocketAccepts(dir / "socket"));
  EXPECT_FALSE(manager.Receive(kQuiet).has_value()) << "xsd said more than READY=1 once";
}

// txend starting its bundled xsd: only txend speaks to the service manager.
TEST(ServiceReady, TxendSendsReadyAndItsBundledXsdDoesNot) {
  TempDir dir;
  NotifySocket manager(dir / "notify");
  ASSERT_TRUE(manager.ok());
  auto txend =
      DaemonProcess::Start({BinPath("txend"), "--no-fork", "--unix-socket", dir / "xend-socket",
                            "--xenstored", dir / "xs/socket", "--state-dir", dir / "state",
                            "--log-file", dir / "txend.log", "--hypervisor", "sim"},
                           dir / "xend-socket", {manager.env()});
  ASSERT_TRUE(txend.ok()) << txend.status().ToString();
  BundledXsd bundled(dir / "state/xsd.pid");
  ASSERT_TRUE(bundled.pid > 0) << "txend did not start its bundled xsd";
  auto ready = manager.Receive(kWait);
  ASSERT_TRUE(ready.has_value()) << "no notification from txend";
  EXPECT_EQ(ready->text, "READY=1");
  EXPECT_EQ(ready->pid, (*txend)->pid());
  EXPECT_FALSE(manager.Receive(kQuiet).has_value()) << "a second notification arrived";
}

}  // namespace
}  // namespace txend::testing
