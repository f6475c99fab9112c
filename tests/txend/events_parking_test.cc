// Parked long polls (GET /xend/events?wait=S) against a real txend and xsd:
// hundreds of waiters hold no thread and never hold up another request, and a
// waiter whose client went away is dropped at once.
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/sockets.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

using std::chrono::seconds;

constexpr int kPeers = 4;           // loopback addresses, so each stays under the per-peer limit
constexpr int kParkedPerPeer = 50;  // txend admits 64 per peer and 512 in all

std::string LongPoll(const std::string& since) {
  return "GET /xend/events?since=" + since +
         "&wait=30 HTTP/1.1\r\nHost: localhost\r\nAccept: application/sxp\r\n"
         "Connection: close\r\n\r\n";
}

// True while nothing has come back on `fd`: the poll is still parked.
bool StillWaiting(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

// Everything the server sends until it closes, or "" after `limit`.
std::string ReadReply(int fd, std::chrono::milliseconds limit) {
  std::string reply;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return reply;
    reply.append(buf, static_cast<size_t>(n));
  }
}

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Threads of a process, from /proc/<pid>/status.
int Threads(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

class EventsParkingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TxendStack::Options o;
    o.tcp_port = FreeTcpPort();
    auto s = TxendStack::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    port_ = o.tcp_port;
    std::ofstream(stack_->path("demo.cfg"))
        << "name = 'demo'\nkernel = '" << stack_->kernel() << "'\nmemory = 64\n";
  }
  XendClient Client() { return stack_->client().set_timeout_s(10); }
  std::string Next() {
    auto now = Client().Get("/xend/events");
    EXPECT_EQ(now.status, 200) << now.body;
    return sxp::ChildValue(now.sxp, "next");
  }
  // kPeers * kParkedPerPeer long polls over TCP, each checked still waiting.
  std::vector<UniqueFd> ParkMany(const std::string& since) {
    std::vector<UniqueFd> polls;
    for (int peer = 0; peer < kPeers; ++peer)
      for (int i = 0; i < kParkedPerPeer; ++i) {
        UniqueFd fd(DialTcpFrom("127.0.0." + std::to_string(peer + 2), port_));
        EXPECT_TRUE(fd.valid());
        EXPECT_TRUE(SendAll(fd.get(), LongPoll(since)));
        polls.push_back(std::move(fd));
      }
    // Parked, not refused or answered: a plain read after them has been served.
    EXPECT_EQ(Client().Get("/xend/node").status, 200);
    for (auto& fd : polls) EXPECT_TRUE(StillWaiting(fd.get()));
    return polls;
  }
  CommandResult Xm(const std::string& args) {
    return RunCommand("cd " + stack_->path("") + " && TXEND_SOCKET=" + stack_->xend_socket() +
                          " timeout 20 " TXEND_BIN_DIR "/xm " + args,
                      true);
  }
  std::unique_ptr<TxendStack> stack_;
  uint16_t port_ = 0;
};

TEST_F(EventsParkingTest, TwoHundredParkedPollsHoldUpNeitherAPlainPollNorXmShutdownWait) {
  ASSERT_EQ(Xm("create -q demo.cfg").exit_code, 0);
  std::string since = Next();
  std::vector<UniqueFd> parked = ParkMany(since);

  auto start = std::chrono::steady_clock::now();
  auto plain = Client().Get("/xend/events?since=" + since + "&wait=0");  // 10 s at most
  auto plain_done = std::chrono::steady_clock::now();
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(sxp::ChildValue(plain.sxp, "next"), since);

  CommandResult down = Xm("shutdown -w demo");  // long polls until demo is gone
  auto down_done = std::chrono::steady_clock::now();
  std::cout << "with " << parked.size() << " polls parked: GET /xend/events?wait=0 "
            << Ms(plain_done - start) << " ms, xm shutdown -w " << Ms(down_done - plain_done)
            << " ms\n";
  EXPECT_EQ(down.exit_code, 0) << down.out;
  EXPECT_NE(down.out.find("terminated"), std::string::npos) << down.out;
  for (auto& fd : parked) {  // and demo's end answered every parked poll
    std::string reply = ReadReply(fd.get(), std::chrono::milliseconds(10000));
    EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
    EXPECT_NE(reply.find("demo"), std::string::npos) << reply;
  }
}

TEST_F(EventsParkingTest, ClosedPollsAreDroppedAtOnceAndFreeTheirConnections) {
  std::string since = Next();
  {
    std::vector<UniqueFd> gone;  // 60 of the 64 a client process may hold
    for (int i = 0; i < 60; ++i) {
      UniqueFd fd(DialUnix(stack_->xend_socket()));
      ASSERT_TRUE(fd.valid());
      ASSERT_TRUE(SendAll(fd.get(), LongPoll(since)));
      gone.push_back(std::move(fd));
    }
    EXPECT_EQ(Client().Get("/xend/node").status, 200);  // all read and parked by now
  }  // closed: txend must let their connections go now, not after their 30 s
  std::vector<UniqueFd> fresh;
  ASSERT_TRUE(Eventually(seconds(20),
                         [&] {
                           UniqueFd fd(DialUnix(stack_->xend_socket()));
                           if (!fd.valid() || !SendAll(fd.get(), LongPoll(since))) return false;
                           pollfd p{fd.get(), POLLIN, 0};
                           if (::poll(&p, 1, 50) != 0)
                             return false;  // refused (too many connections), try again
                           fresh.push_back(std::move(fd));
                           return fresh.size() == 40;
                         }))
      << fresh.size() << " fresh polls parked";
  ASSERT_EQ(Xm("create -q demo.cfg").exit_code, 0);  // the event
  for (auto& fd : fresh) {
    std::string reply = ReadReply(fd.get(), std::chrono::milliseconds(10000));
    EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
    EXPECT_NE(reply.find("started"), std::string::npos) << reply;
  }
}

TEST_F(EventsParkingTest, ParkedPollsCostNoThreads) {
  std::string since = Next();
  int idle = Threads(stack_->txend().pid());
  ASSERT_GT(idle, 0);
  std::vector<UniqueFd> parked = ParkMany(since);
  int busy = Threads(stack_->txend().pid());
  std::cout << "txend threads: " << idle << " idle, " << busy << " with " << parked.size()
            << " polls parked\n";
  EXPECT_LE(busy, idle + 1) << "threads: " << idle << " idle, " << busy << " with " << parked.size()
                            << " parked polls";
  EXPECT_LT(busy, 32) << "txend in all runs fewer threads than the 32 its waits once took";
}

}  // namespace
}  // namespace txend::testing
