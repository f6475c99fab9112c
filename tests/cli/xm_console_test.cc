// `xm console` and `xm create -c` on the simulator: each running guest has a
// pty in /local/domain/<id>/console/tty (held by txend, as xenconsoled holds
// it on Xen) carrying its boot log and a small shell. xm runs on a terminal
// the test owns (openpty), so raw mode, Ctrl-] and the restored settings are
// seen as an operator's terminal sees them. Every wait is bounded.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/process_usage.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/plain.h"

namespace txend::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kEscape = 0x1d;  // Ctrl-]
// txend's RSS growth allowed while a console is flooded. ASan keeps freed
// blocks in quarantine (hundreds of MiB under this churn), so there only the
// unread-output bound below, which holds in both trees, shows the buffer bounded.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kRssSlackKiB = 1L << 20;
#else
constexpr long kRssSlackKiB = 16L << 10;
#endif

// Reads what is there on a non-blocking `fd` for up to `limit`, until `done` says enough.
template <typename Done>
void ReadUntil(int fd, std::string& into, std::chrono::milliseconds limit, Done done) {
  const auto deadline = Clock::now() + limit;
  char buf[4096];
  while (!done() && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) into.append(buf, static_cast<size_t>(n));
    if (n <= 0 && errno != EAGAIN) return;
  }
}

// xm running on a terminal the test owns: the master to type and read, the
// slave kept open here too, to read the terminal's settings after xm is gone.
class XmOnPty {
 public:
  XmOnPty(const std::string& socket, const std::string& dir, const std::vector<std::string>& args) {
    int master = -1, slave = -1;
    if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return;
    master_.reset(master);
    slave_.reset(slave);
    fcntl(master, F_SETFL, O_NONBLOCK);
    tcgetattr(slave, &before_);
    std::string xm = TXEND_BIN_DIR "/xm", env = "TXEND_SOCKET=" + socket;
    std::vector<char*> argv{xm.data()}, envp{env.data(), nullptr};
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setsid();
      ioctl(slave, TIOCSCTTY, 0);
      for (int fd : {0, 1, 2}) dup2(slave, fd);
      close(master);
      close(slave);
      if (chdir(dir.c_str()) != 0) _exit(126);
      execve(xm.c_str(), argv.data(), envp.data());
      _exit(127);
    }
  }
  ~XmOnPty() {
    if (pid_ > 0 && !exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  void Type(std::string_view bytes) {
    ASSERT_EQ(write(master_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // True once xm has written `text` (within `limit`).
  bool Shows(const std::string& text, std::chrono::milliseconds limit = 10s) {
    ReadUntil(master_.get(), out_, limit, [&] { return out_.find(text) != std::string::npos; });
    return out_.find(text) != std::string::npos;
  }
  // xm's exit code, once it has exited within `limit`.
  std::optional<int> Exit(std::chrono::milliseconds limit = 10s) {
    Eventually(limit, [&] {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_)
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_.has_value();
    });
    ReadUntil(master_.get(), out_, 200ms, [] { return false; });
    return exit_code_;
  }
  termios Now() const {
    termios t{};
    tcgetattr(slave_.get(), &t);
    return t;
  }
  const termios& before() const { return before_; }
  const std::string& output() const { return out_; }
  bool started() const { return pid_ > 0; }

 private:
  UniqueFd master_, slave_;
  termios before_{};
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_;
};

bool SameSettings(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_lflag == b.c_lflag &&
         a.c_cflag == b.c_cflag;
}

// Whether `pid` holds a descriptor open on `path`.
bool Holds(pid_t pid, const std::string& path) {
  std::error_code ec;
  for (const auto& fd :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(fd.path(), link_ec) == path) return true;
  }
  return false;
}

class XmConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    std::ofstream(stack_->path("demo.cfg"))
        << "name = 'demo'\nkernel = '" << stack_->kernel() << "'\nmemory = 64\nvcpus = 2\n"
        << "disk = [ 'phy:/dev/vg0/demo,xvda,w' ]\nvif = [ 'bridge=xenbr0' ]\n";
    auto xs = xs::Connection::Open(stack_->xs_socket());
    ASSERT_TRUE(xs.ok()) << xs.status().ToString();
    xs_ = std::move(*xs);
  }
  CommandResult Xm(const std::string& args) {
    return RunCommand("cd " + stack_->path("") + " && TXEND_SOCKET=" + stack_->xend_socket() +
                          " " TXEND_BIN_DIR "/xm " + args,
                      true);
  }
  std::unique_ptr<XmOnPty> XmOnTerminal(std::vector<std::string> args) {
    return std::make_unique<XmOnPty>(stack_->xend_socket(), stack_->path(""), args);
  }
  std::string Domid(const std::string& name) {
    return sxp::ChildValue(stack_->client().Get("/xend/domain/" + name).sxp, "domid");
  }
  // The console/tty node of `name`, once there (libvirt's `virsh console` reads it).
  std::string TtyNode(const std::string& name) {
    std::string tty;
    Eventually(5s, [&] {
      auto r = xs::PlainRead(*xs_, "/local/domain/" + Domid(name) + "/console/tty");
      if (r.ok()) tty = *r;
      return r.ok();
    });
    return tty;
  }
  void Create() {
    CommandResult created = Xm("create -q demo.cfg");
    ASSERT_EQ(created.exit_code, 0) << created.out;
  }

  std::unique_ptr<TxendStack> stack_;
  std::unique_ptr<xs::Connection> xs_;
};

TEST_F(XmConsoleTest, TtyNodeNamesAPtyTxendHoldsUntilTheDomainGoes) {
  Create();
  std::string domid = Domid("demo");
  std::string tty = TtyNode("demo");
  ASSERT_TRUE(tty.starts_with("/dev/pts/")) << tty;
  struct stat st;
  ASSERT_EQ(stat(tty.c_str(), &st), 0) << tty;
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_TRUE(Holds(stack_->txend().pid(), tty));
  EXPECT_EQ(sxp::ChildValue(stack_->client().Get("/xend/domain/demo").sxp, "console_tty"), tty);

  ASSERT_EQ(Xm("destroy demo").exit_code, 0);
  EXPECT_TRUE(Eventually(5s, [&] { return !Holds(stack_->txend().pid(), tty); }));
  EXPECT_FALSE(xs::PlainRead(*xs_, "/local/domain/" + domid + "/console/tty").ok());
}

TEST_F(XmConsoleTest, ShowsTheBootLogAnswersAndCtrlBracketDetachesRestoringTheTerminal) {
  Create();
  auto xm = XmOnTerminal({"console", "demo"});
  ASSERT_TRUE(xm->started());
  ASSERT_TRUE(xm->Shows("root@demo:~# ")) << xm->output();
  EXPECT_NE(xm->output().find("Linux version"), std::string::npos) << xm->output();
  EXPECT_NE(xm->output().find("Memory: 64MiB"), std::string::npos) << xm->output();
  EXPECT_NE(xm->output().find("2 CPUs"), std::string::npos) << xm->output();
  EXPECT_FALSE(xm->Now().c_lflag & ICANON) << "xm runs the terminal raw while attached";

  xm->Type("hostname\r");
  EXPECT_TRUE(xm->Shows("hostname\r\ndemo\r\n")) << xm->output();
  xm->Type("frobnicate\r");
  EXPECT_TRUE(xm->Shows("frobnicate: command not found")) << xm->output();

  auto start = Clock::now();
  xm->Type(std::string(1, kEscape));
  EXPECT_EQ(xm->Exit(), 0) << xm->output();
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_TRUE(SameSettings(xm->Now(), xm->before()));
  EXPECT_EQ(Xm("list demo").exit_code, 0) << "detaching leaves the domain running";
}

TEST_F(XmConsoleTest, CreateWithDashCAttachesToTheNewGuest) {
  auto xm = XmOnTerminal({"create", "-c", "demo.cfg"});
  ASSERT_TRUE(xm->Shows("root@demo:~# ", 20s)) << xm->output();
  EXPECT_NE(xm->output().find("Started domain demo"), std::string::npos) << xm->output();
  xm->Type("uname -a\r");
  EXPECT_TRUE(xm->Shows("Linux demo 6.1.0")) << xm->output();
  xm->Type(std::string(1, kEscape));
  EXPECT_EQ(xm->Exit(), 0) << xm->output();
  EXPECT_TRUE(SameSettings(xm->Now(), xm->before()));
}

TEST_F(XmConsoleTest, DestroyWhileAttachedEndsXmWithAMessage) {
  Create();
  auto xm = XmOnTerminal({"console", "demo"});
  ASSERT_TRUE(xm->Shows("root@demo:~# ")) << xm->output();
  ASSERT_EQ(Xm("destroy demo").exit_code, 0);
  EXPECT_EQ(xm->Exit(), 0) << xm->output();
  EXPECT_NE(xm->output().find("Domain demo went away"), std::string::npos) << xm->output();
  EXPECT_TRUE(SameSettings(xm->Now(), xm->before()));
}

TEST_F(XmConsoleTest, PoweroffAtThePromptShutsTheGuestDown) {
  Create();
  auto xm = XmOnTerminal({"console", "demo"});
  ASSERT_TRUE(xm->Shows("root@demo:~# ")) << xm->output();
  xm->Type("poweroff\r");
  EXPECT_EQ(xm->Exit(), 0) << xm->output();
  EXPECT_NE(xm->output().find("went away"), std::string::npos) << xm->output();
  EXPECT_TRUE(Eventually(5s, [&] { return Xm("list demo").exit_code == 3; }));
}

TEST_F(XmConsoleTest, UnknownOrStoppedDomainsGetXmsErrors) {
  CommandResult unknown = Xm("console nosuch");
  EXPECT_EQ(unknown.exit_code, 3) << unknown.out;
  EXPECT_NE(unknown.out.find("Error:"), std::string::npos) << unknown.out;
  CommandResult quiet = Xm("console -q nosuch");
  EXPECT_NE(quiet.exit_code, 0);
  EXPECT_EQ(quiet.out.find("Error:"), std::string::npos) << quiet.out;
}

// A domain restored from a saved image (as after a migration) gets a new pty,
// which says it resumed rather than booted.
TEST_F(XmConsoleTest, ARestoredGuestGetsANewConsoleThatSaysItResumed) {
  Create();
  std::string before = TtyNode("demo");
  ASSERT_FALSE(before.empty());
  CommandResult saved = Xm("save demo demo.save");
  ASSERT_EQ(saved.exit_code, 0) << saved.out;
  EXPECT_TRUE(Eventually(5s, [&] { return !Holds(stack_->txend().pid(), before); }));
  CommandResult restored = Xm("restore demo.save");
  ASSERT_EQ(restored.exit_code, 0) << restored.out;
  std::string after = TtyNode("demo");
  EXPECT_TRUE(Holds(stack_->txend().pid(), after)) << after;
  auto xm = XmOnTerminal({"console", "demo"});
  ASSERT_TRUE(xm->Shows("resumed from a saved image")) << xm->output();
  EXPECT_EQ(xm->output().find("Linux version"), std::string::npos) << xm->output();
  xm->Type("hostname\r");
  EXPECT_TRUE(xm->Shows("hostname\r\ndemo\r\n")) << xm->output();
  xm->Type(std::string(1, kEscape));
  EXPECT_EQ(xm->Exit(), 0) << xm->output();
}

// Nobody reads the console while a client floods it with commands: the
// output kept for it stays bounded (the oldest is dropped), txend's memory
// stays flat and it keeps answering, and the guest answers afterwards.
TEST_F(XmConsoleTest, AnUnreadFloodedConsoleStaysBoundedAndAnswers) {
  Create();
  std::string tty = TtyNode("demo");
  ASSERT_FALSE(tty.empty());
  UniqueFd fd(open(tty.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK));
  ASSERT_GE(fd.get(), 0);
  pid_t txend = stack_->txend().pid();
  long rss_before = RssKiB(txend);
  const std::string command = "help\r";
  size_t sent = 0;
  const auto deadline = Clock::now() + 20s;
  while (sent < (4u << 20) && Clock::now() < deadline) {
    std::string chunk;
    while (chunk.size() < 4096) chunk += command;
    ssize_t n = write(fd.get(), chunk.data(), chunk.size());
    if (n > 0) sent += static_cast<size_t>(n);
    if (n < 0) {
      pollfd p{fd.get(), POLLOUT, 0};
      poll(&p, 1, 100);
    }
  }
  RecordProperty("flood_bytes_sent", std::to_string(sent));
  EXPECT_GT(sent, 1u << 20) << "the guest takes input while nobody reads its output";
  CommandResult list = Xm("list demo");
  EXPECT_EQ(list.exit_code, 0) << list.out;
  long rss_after = RssKiB(txend);
  RecordProperty("txend_rss_growth_kib", std::to_string(rss_after - rss_before));
  EXPECT_LT(rss_after - rss_before, kRssSlackKiB);

  // What waited for a reader: at most the bounded buffer plus the pty's own queue,
  // though every "help" answered some 80 bytes (megabytes in all).
  std::string waiting;
  ReadUntil(fd.get(), waiting, 3s, [&] {
    pollfd p{fd.get(), POLLIN, 0};
    return poll(&p, 1, 300) == 0;
  });
  RecordProperty("unread_output_bytes", std::to_string(waiting.size()));
  EXPECT_LT(waiting.size(), 512u * 1024);
  ASSERT_EQ(write(fd.get(), "\rhostname\r", 10), 10);  // a new line: the flood may end mid-command
  std::string answer;
  ReadUntil(fd.get(), answer, 5s,
            [&] { return answer.find("hostname\r\ndemo\r\n") != std::string::npos; });
  EXPECT_NE(answer.find("hostname\r\ndemo\r\n"), std::string::npos) << answer.substr(0, 400);
}

// The cheap, honest behaviour: a restarted txend holds no old masters (they
// died with it), so running guests get new ptys and the tty nodes are rewritten.
TEST_F(XmConsoleTest, RestartedTxendGivesRunningGuestsNewConsoles) {
  Create();
  std::string before = TtyNode("demo");
  ASSERT_FALSE(before.empty());
  ASSERT_TRUE(stack_->RestartTxend(SIGTERM).ok());
  std::string after;
  EXPECT_TRUE(Eventually(10s, [&] {
    auto r = xs::PlainRead(*xs_, "/local/domain/" + Domid("demo") + "/console/tty");
    if (r.ok()) after = *r;
    return r.ok() && Holds(stack_->txend().pid(), after);
  })) << after;
  auto xm = XmOnTerminal({"console", "demo"});
  ASSERT_TRUE(xm->Shows("console reopened")) << xm->output();
  xm->Type("hostname\r");
  EXPECT_TRUE(xm->Shows("hostname\r\ndemo\r\n")) << xm->output();
  xm->Type(std::string(1, kEscape));
  EXPECT_EQ(xm->Exit(), 0) << xm->output();
}

}  // namespace
}  // namespace txend::testing
