// xm against servers that misbehave: one that never answers, one whose
// backlog is full so a connection never completes, and one that answers with
// names and messages full of terminal escape sequences. The xm binary runs as
// a script would run it, bounded by timeout(1).
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "tests/support/daemon_process.h"
#include "tests/support/files.h"
#include "tests/support/sockets.h"

namespace txend::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct XmRun {
  int code = -1;
  std::string out, err;
  double seconds = 0;
};

// `xm <args>` with TXEND_SOCKET=`socket` and `env`, killed after 60 s (exit 124).
XmRun Xm(const TempDir& dir, const std::string& socket, const std::string& args,
         const std::string& env = "") {
  std::string err_file = dir / "xm.err";
  auto start = Clock::now();
  auto r = RunCommand("TXEND_SOCKET=" + socket + " " + env + " timeout 60 " TXEND_BIN_DIR "/xm " +
                      args + " 2>" + err_file);
  return XmRun{r.exit_code, r.out, ReadFile(err_file),
               std::chrono::duration<double>(Clock::now() - start).count()};
}

UniqueFd Listen(const std::string& path, int backlog) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd.get(), backlog) != 0)
    return UniqueFd();
  return fd;
}

TEST(XmAgainstASilentServer, NoReplyIsATimeoutWithAClearError) {
  TempDir dir;
  UniqueFd listener = Listen(dir / "silent", 16);  // connections queue; nobody answers
  ASSERT_TRUE(listener);
  XmRun list = Xm(dir, dir / "silent", "list", "XM_TIMEOUT=1");
  EXPECT_EQ(list.code, 1) << "124: xm hung until timeout(1) killed it";
  EXPECT_EQ(list.err,
            "Error: xend did not answer within 1 s; the request may still be carried out "
            "(XM_TIMEOUT=SECONDS waits longer).\n");
  EXPECT_EQ(list.out, "");
  EXPECT_LT(list.seconds, 30);
}

TEST(XmAgainstASilentServer, AConnectionThatNeverCompletesIsATimeoutToo) {
  TempDir dir;
  UniqueFd listener = Listen(dir / "full", 0);
  ASSERT_TRUE(listener);
  // Fill the backlog: further connects block until the server accepts, which it never does.
  std::vector<UniqueFd> queued;
  for (int i = 0; i < 8; ++i) {
    UniqueFd c(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    (dir / "full").copy(addr.sun_path, sizeof addr.sun_path - 1);
    if (connect(c.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) break;
    queued.push_back(std::move(c));
  }
  XmRun list = Xm(dir, dir / "full", "list", "XM_TIMEOUT=1");
  EXPECT_EQ(list.code, 1) << "124: xm hung until timeout(1) killed it";
  EXPECT_EQ(list.err,
            "Error: Unable to connect to xend: no connection within 1 s. Is xend running?\n");
  EXPECT_LT(list.seconds, 30);
}

TEST(XmAgainstASilentServer, XmTimeoutMustBeANumberOfSeconds) {
  TempDir dir;
  for (const char* bad : {"0", "-1", "soon", "99999999999"}) {
    XmRun list = Xm(dir, dir / "none", "list", std::string("XM_TIMEOUT=") + bad);
    EXPECT_EQ(list.code, 1) << bad;
    EXPECT_EQ(list.err, "Error: XM_TIMEOUT: expected a number of seconds (1 to 86400), got '" +
                            std::string(bad) + "'\n");
  }
}

// A server answering every request with `reply` (status line, headers, body).
class CannedServer {
 public:
  CannedServer(const std::string& path, std::string reply)
      : listener_(Listen(path, 16)), reply_(std::move(reply)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      UniqueFd c(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) continue;
      std::string request;
      char buf[4096];
      ssize_t n;
      while (request.find("\r\n\r\n") == std::string::npos &&
             (n = read(c.get(), buf, sizeof buf)) > 0)
        request.append(buf, static_cast<size_t>(n));
      SendAll(c.get(), reply_);
    }
  }
  UniqueFd listener_;
  std::string reply_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string HttpReply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/sxp\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

bool HasControlBytes(const std::string& text) {
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
  return false;
}

TEST(XmAgainstAHostileServer, NamesAndMessagesReachTheTerminalWithoutEscapeSequences) {
  TempDir dir;
  // SXP escapes: \x1b]0;owned\x07 retitles the terminal, \x1b[2J clears it, \r rewinds the
  // line, \xc2\x9b is a C1 CSI; "caf\xc3\xa9" is plain UTF-8 and stays.
  std::string domains =
      "((domain (domid 0) (name 'Domain-0') (memory 1024) (vcpus 2) (state r-----) "
      "(cpu_time 1.5)) (domain (domid 7) (name '\\x1b]0;owned\\x07evil\\x1b[2J\\r') (memory 64) "
      "(vcpus 1) (state '-b\\x1b[31m---') (cpu_time 2.0)) (domain (domid 8) "
      "(name 'caf\\xc3\\xa9\\xc2\\x9b') (memory 64) (vcpus 1) (state -b----) (cpu_time 0)))";
  {
    CannedServer server(dir / "sock", HttpReply(200, domains));
    XmRun list = Xm(dir, dir / "sock", "list");
    EXPECT_EQ(list.code, 0) << list.err;
    EXPECT_FALSE(HasControlBytes(list.out)) << list.out;
    EXPECT_NE(list.out.find("\\x1b]0;owned\\x07evil\\x1b[2J\\x0d"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("caf\xc3\xa9\\xc2\\x9b "), std::string::npos) << list.out;
  }
  {
    CannedServer server(dir / "sock2", HttpReply(500, "(xend.err 'no\\x1b[2J\\x1b]0;x\\x07')"));
    XmRun pause = Xm(dir, dir / "sock2", "pause demo");
    EXPECT_EQ(pause.code, 1);
    EXPECT_FALSE(HasControlBytes(pause.err)) << pause.err;
    EXPECT_TRUE(pause.err.starts_with("Error: no\\x1b[2J\\x1b]0;x\\x07\n")) << pause.err;
  }
  {
    CannedServer server(dir / "sock3", HttpReply(200, "boot\x1b[2Jmessages\r\nline two\n"));
    XmRun dmesg = Xm(dir, dir / "sock3", "dmesg");
    EXPECT_EQ(dmesg.code, 0) << dmesg.err;
    EXPECT_EQ(dmesg.out, "boot\\x1b[2Jmessages\\x0d\nline two\n");
  }
}

// `xm list` reads its rows straight off the reply text (sxp::Tape) rather than
// from a Value per domain: the table must be what the Values gave, field for
// field (online_vcpus over vcpus, a list where an atom belongs read as 0,
// absent fields empty), sorted by name with equal names in reply order, and
// --pool must treat a domain without pool_name as Pool-0.
TEST(XmAgainstACannedServer, ListReadsEveryFieldAsTheDomainValuesWould) {
  TempDir dir;
  std::string domains =
      "((domain (domid 12) (name zed) (memory 16) (vcpus 1) (online_vcpus 3) (state --p---) "
      "(cpu_time 7) (pool_name other))"
      " (domain (domid 9) (name dup) (memory 64.9) (vcpus 1) (state -b----))"
      " (domain (name \"it's x\") (memory 256) (vcpus (2)) # a comment\n)"
      " (domain (domid 3) (name dup) (memory (16)) (vcpus 4) (state -b----) (cpu_time 2.25)"
      " (pool_name other))"
      " (domain (domid 0) (name Domain-0) (memory 1024) (vcpus 2) (state r-----) (cpu_time 1.5)))";
  CannedServer server(dir / "sock", HttpReply(200, domains));
  XmRun list = Xm(dir, dir / "sock", "list");
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(
      list.out,
      "Name                                        ID   Mem VCPUs      State   Time(s)\nDomain-0   "
      "                                  0  1024     2     r-----      1.5\ndup                    "
      "                      9    64     1     -b----      0.0\ndup                                "
      "          3     0     4     -b----      2.2\nit's x                                         "
      "  256     0                 0.0\nzed                                         12    16     3 "
      "    --p---      7.0\n");
  XmRun pool = Xm(dir, dir / "sock", "list --pool other");
  EXPECT_EQ(pool.code, 0) << pool.err;
  EXPECT_EQ(pool.out,
            "Name                                        ID   Mem VCPUs      State   Time(s)\ndup  "
            "                                        3     0     4     -b----      2.2\nzed        "
            "                                 12    16     3     --p---      7.0\n");
}

TEST(XmAgainstACannedServer, ListRefusesADomainListThatIsNotAList) {
  TempDir dir;
  {
    CannedServer server(dir / "sock", HttpReply(200, "(unterminated"));
    XmRun list = Xm(dir, dir / "sock", "list");
    EXPECT_EQ(list.code, 1);
    EXPECT_EQ(list.err, "Error: xend sent a domain list that is not a list\n");
  }
  {
    CannedServer server(dir / "sock2", HttpReply(200, ""));
    XmRun list = Xm(dir, dir / "sock2", "list");
    EXPECT_EQ(list.code, 0) << list.err;
    EXPECT_EQ(list.out,
              "Name                                        ID   Mem VCPUs      State   Time(s)\n");
  }
}

}  // namespace
}  // namespace txend::testing
