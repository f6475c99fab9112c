// txend pointed at an xsd its simulated guests cannot reach (no --domain-sockets, or another
// directory) refuses to start and names the flag to change; real xsd and txend processes.
#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "toolstack/xs/connection.h"

namespace txend::testing {
namespace {

class MisconfigurationTest : public ::testing::Test {
 protected:
  std::string xs() const { return dir_ / "xs.sock"; }

  // Runs txend in the foreground against xs(); it either fails at once or starts serving,
  // in which case `timeout` stops it.
  CommandResult RunTxend(const std::string& domain_sockets_flag) {
    return RunCommand("timeout -s KILL 20 " + BinPath("txend") + " --no-fork --hypervisor sim" +
                          " --xenstored " + xs() + " --unix-socket " + (dir_ / "xend-socket") +
                          " --state-dir " + (dir_ / "state") + " --log-file " +
                          (dir_ / "txend.log") + " " + domain_sockets_flag,
                      /*merge_stderr=*/true);
  }

  void ExpectNoProbeLeft() {
    auto conn = xs::Connection::Open(xs());
    ASSERT_TRUE(conn.ok());
    auto introduced = (*conn)->IsDomainIntroduced(0x7FEF);
    ASSERT_TRUE(introduced.ok());
    EXPECT_FALSE(*introduced);
  }

  TempDir dir_;
};

TEST_F(MisconfigurationTest, XsdWithoutDomainSocketsIsRefusedNamingTheFlag) {
  auto xsd = StartXsd(xs());
  ASSERT_TRUE(xsd.ok()) << xsd.status().ToString();
  auto run = RunTxend("");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("Start xsd with `--domain-sockets " + (dir_ / "domains") + "`"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("could never connect"), std::string::npos) << run.out;
  EXPECT_FALSE(SocketAccepts(dir_ / "xend-socket"));
  ExpectNoProbeLeft();
}

TEST_F(MisconfigurationTest, DomainSocketsInAnotherDirectoryAreRefused) {
  auto xsd = StartXsd(xs(), {"--domain-sockets", dir_ / "xsd-domains"});
  ASSERT_TRUE(xsd.ok()) << xsd.status().ToString();
  auto run = RunTxend("--domain-sockets " + (dir_ / "elsewhere"));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("--domain-sockets " + (dir_ / "elsewhere")), std::string::npos) << run.out;
  ExpectNoProbeLeft();
}

TEST_F(MisconfigurationTest, MatchingDomainSocketsStartAndLeaveNoProbeBehind) {
  auto xsd = StartXsd(xs(), {"--domain-sockets", dir_ / "domains"});
  ASSERT_TRUE(xsd.ok()) << xsd.status().ToString();
  auto txend = DaemonProcess::Start(
      {BinPath("txend"), "--no-fork", "--hypervisor", "sim", "--xenstored", xs(), "--unix-socket",
       dir_ / "xend-socket", "--state-dir", dir_ / "state", "--log-file", dir_ / "txend.log"},
      dir_ / "xend-socket");
  ASSERT_TRUE(txend.ok()) << txend.status().ToString();
  ExpectNoProbeLeft();
}

}  // namespace
}  // namespace txend::testing
