// The xsd process under bad input and misbehaving clients (SIGKILL with
// persistence: crash_safety_test.cc).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/raw_wire.h"
#include "tests/support/sockets.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"
#include "wire/wire.h"

namespace txend::xsd {
namespace {

using testing::Eventually;
using testing::StartXsd;
using testing::TempDir;
using namespace std::string_literals;

int Dial(const std::string& path) {
  int fd = testing::DialUnix(path);
  EXPECT_GE(fd, 0) << path;
  return fd;
}

void Send(int fd, const std::string& bytes) { ASSERT_TRUE(testing::SendAll(fd, bytes)); }

std::optional<wire::Message> Receive(int fd) { return testing::ReceiveMessage(fd); }

class XsdDaemon : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args = {}) {
    auto d = StartXsd(sock(), std::move(args));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
  }
  std::string sock() const { return dir_ / "socket"; }
  // The daemon still serves a well-behaved client, with data intact.
  void ExpectHealthy(const std::string& path = "/canary", const std::string& value = "alive") {
    auto c = xs::Connection::Open(sock());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto snap = xs::Snapshot::Begin(**c);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    EXPECT_EQ(snap->Read(path).value_or("?"), value);
    EXPECT_TRUE(xsd_->Running());
  }
  void PutCanary() {
    auto c = xs::Connection::Open(sock());
    ASSERT_TRUE(xs::RunTransaction(**c, [](xs::Transaction& tx) {
                  return tx.Write("/canary", "alive");
                }).ok());
  }
  TempDir dir_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
};

TEST_F(XsdDaemon, UnknownTypesAndBadPathsGetErrorRepliesOnTheSameConnection) {
  Start();
  PutCanary();
  int fd = Dial(sock());
  Send(fd, wire::Encode(static_cast<wire::MsgType>(4242), 1, 0, "junk"));
  auto r = Receive(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type(), wire::MsgType::kError);
  EXPECT_EQ(r->header.req_id, 1u);
  Send(fd, wire::Encode(wire::MsgType::kRead, 2, 0, "no/\x01/good\0"s));
  EXPECT_EQ(Receive(fd)->payload, "EINVAL\0"s);
  Send(fd, wire::Encode(wire::MsgType::kRead, 3, 99, "/canary\0"s));  // unknown transaction
  r = Receive(fd);
  EXPECT_EQ(r->payload, "ENOENT\0"s);
  EXPECT_EQ(r->header.tx_id, 99u);  // tx_id echoed
  Send(fd, wire::Encode(wire::MsgType::kRead, 4, 0, "/canary\0"s));
  EXPECT_EQ(Receive(fd)->payload, "alive");  // same connection still served
  close(fd);
  ExpectHealthy();
}

TEST_F(XsdDaemon, OversizedMessageClosesOnlyThatConnection) {
  Start();
  PutCanary();
  int bystander = Dial(sock());
  int fd = Dial(sock());
  wire::Header h{2, 1, 0, 1 << 20};
  Send(fd, std::string(reinterpret_cast<char*>(&h), sizeof h) + std::string(100, 'x'));
  EXPECT_FALSE(Receive(fd));  // closed by xsd
  close(fd);
  Send(bystander, wire::Encode(wire::MsgType::kRead, 5, 0, "/canary\0"s));
  EXPECT_EQ(Receive(bystander)->payload, "alive");
  close(bystander);
  ExpectHealthy();
}

TEST_F(XsdDaemon, GarbageTruncatedAndByteByByteClientsDoNotHurt) {
  Start();
  PutCanary();
  for (int i = 0; i < 20; ++i) {  // random garbage, then hang up mid-message
    int fd = Dial(sock());
    std::string junk;
    for (int j = 0; j < 37 + i; ++j) junk.push_back(static_cast<char>((j * 131 + i * 17) & 0xff));
    Send(fd, junk);
    close(fd);
  }
  int slow = Dial(sock());  // a whole request, one byte at a time
  std::string req = wire::Encode(wire::MsgType::kRead, 9, 0, "/canary\0"s);
  for (char c : req) Send(slow, std::string(1, c));
  EXPECT_EQ(Receive(slow)->payload, "alive");
  int stalled = Dial(sock());  // half a header, then silence: must not block others
  Send(stalled, std::string(7, '\0'));
  ExpectHealthy();
  close(stalled);
  close(slow);
}

TEST_F(XsdDaemon, ClientThatNeverReadsIsDroppedNotBuffered) {
  Start();
  PutCanary();
  int lazy = Dial(sock());
  int buf = 4096;
  setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  Send(lazy, wire::Encode(wire::MsgType::kWatch, 1, 0, "/flood\0t\0"s));
  auto writer = xs::Connection::Open(sock());
  std::string long_path = "/flood/" + std::string(2000, 'n');  // events carry the path
  for (int i = 0; i < 3000; ++i) {  // ~6 MB of watch events for a client that reads none
    std::vector<xs::Transaction::NodeWrite> w{{long_path, "v", std::nullopt}};
    ASSERT_TRUE(
        xs::RunTransaction(**writer, [&](xs::Transaction& tx) { return tx.WriteMany(w); }).ok());
  }
  ExpectHealthy();
  auto stats = (*writer)->Control({"stats"});
  EXPECT_NE(stats->find("connections_dropped 1"), std::string::npos) << *stats;
  close(lazy);
}

TEST_F(XsdDaemon, DaemonizesAndReportsReadinessAndPid) {
  std::string pid_file = dir_ / "xsd.pid";
  auto r = testing::RunCommand(testing::BinPath("xsd") + " --socket " + sock() + " -F " + pid_file);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_TRUE(testing::SocketAccepts(sock()));  // ready as soon as the parent returned
  auto pid = testing::RunCommand("cat " + pid_file).out;
  ASSERT_FALSE(pid.empty());
  EXPECT_EQ(kill(std::stoi(pid), SIGTERM), 0);
  EXPECT_TRUE(Eventually(std::chrono::seconds(2), [&] { return !testing::SocketAccepts(sock()); }));
}

TEST_F(XsdDaemon, BadFlagsFailWithAClearMessage) {
  auto r = testing::RunCommand(
      testing::BinPath("xsd") + " -N --socket " + sock() + " -Q nonsense=3", true);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("unknown quota 'nonsense'"), std::string::npos) << r.out;
  auto help = testing::RunCommand(testing::BinPath("xsd") + " --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--entry-nb"), std::string::npos);
}

}  // namespace
}  // namespace txend::xsd
