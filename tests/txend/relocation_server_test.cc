// The relocation service in front of a simulated host: the hosts-allow list,
// a real incoming migration, and stopping with a migration in progress.
#include "txend/relocation_server.h"

#include <mutex>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/toolstack/sim_host.h"
#include "toolstack/migration/migration_protocol.h"

namespace txend::daemon {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using toolstack::SimHost;

// How long a simulated guest or backend may take to react.
constexpr std::chrono::seconds kWait{10};

class RelocationServerTest : public ::testing::Test {
 protected:
  // A plain server; `insecure` is the operator's opt-out that lets it take migrations.
  std::unique_ptr<RelocationServer> Start(const std::string& allow, bool insecure = true) {
    RelocationServer::Options o;
    o.endpoint = {"127.0.0.1", 0};
    o.hosts_allow = *http::HostAllowList::Parse(allow);
    o.io_timeout = 5s;
    o.insecure = insecure;
    auto s = RelocationServer::Start(*dst_.toolstack, o, [this](const std::string& line) {
      std::lock_guard lock(mu_);
      log_ += line + "\n";
    });
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string Log() {
    std::lock_guard lock(mu_);
    return log_;
  }

  SimHost src_, dst_;
  std::mutex mu_;
  std::string log_;
};

TEST_F(RelocationServerTest, HostsNotAllowedAreCutOffAndLocalhostMatchesLoopback) {
  ASSERT_TRUE(src_.toolstack->lifecycle().Create(src_.Valid("guest"), false).ok());
  {
    auto server = Start("^10\\.99\\.");
    auto refused = src_.toolstack->migration().Migrate(
        "guest", {"127.0.0.1", server->port(), true, 2s, 5s, {}, {}});
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("keeps running here"), std::string::npos);
    EXPECT_TRUE(Eventually(kWait, [&] {
      return Log().find("refused a connection from 127.0.0.1") != std::string::npos;
    }));
  }
  auto server = Start("^localhost$");
  auto moved = src_.toolstack->migration().Migrate(
      "guest", {"127.0.0.1", server->port(), true, 2s, 5s, {}, {}});
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_TRUE(Eventually(
      kWait, [&] { return Log().find("received 'guest' from 127.0.0.1") != std::string::npos; }));
}

TEST_F(RelocationServerTest, StoppingCutsAMigrationInProgress) {
  auto server = Start("");
  auto peer = toolstack::TcpSocket::Connect("127.0.0.1", server->port(), 2s);
  ASSERT_TRUE(peer.ok());
  ASSERT_TRUE(toolstack::SendAll(peer->fd(), "TXMIGRAT").ok());  // half a hello, then silence
  ASSERT_TRUE(Eventually(kWait, [&] {
    return Log().find("incoming migration from 127.0.0.1 by unauthenticated\n") !=
           std::string::npos;
  }));
  server.reset();  // cuts the connection rather than waiting for the peer's timeout
  EXPECT_NE(Log().find("incoming migration from 127.0.0.1 failed"), std::string::npos) << Log();
  EXPECT_EQ(Log().find("timed out"), std::string::npos) << Log();
}

TEST_F(RelocationServerTest, APlainServerRefusesUnauthenticatedPeersByDefault) {
  ASSERT_TRUE(src_.toolstack->lifecycle().Create(src_.Valid("guest"), false).ok());
  auto server = Start("", false);
  auto refused = src_.toolstack->migration().Migrate(
      "guest", {"127.0.0.1", server->port(), true, 2s, 5s, {}, {}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), EACCES);
  EXPECT_NE(refused.status().message().find("txend-relocation-insecure yes"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("keeps running here"), std::string::npos);
  EXPECT_TRUE(src_.toolstack->queries().Resolve("guest").ok());
  EXPECT_TRUE(Eventually(kWait, [&] {
    return Log().find(
               "incoming migration from 127.0.0.1 failed: this host takes no migrations "
               "from unauthenticated peers") != std::string::npos;
  })) << Log();
  EXPECT_FALSE(dst_.toolstack->queries().Resolve("guest").ok());
}

}  // namespace
}  // namespace txend::daemon
