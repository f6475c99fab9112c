// xsd with real, unmodified clients from Debian: xenstore-utils, Xen's own
// test-xenstore, and python3-pyxs. Each test starts its own xsd.
#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "toolstack/xs/connection.h"

namespace txend::xsd {
namespace {

using testing::RunCommand;
using testing::StartXsd;
using testing::TempDir;

constexpr const char* kTestXenstore = "/usr/lib/xen-4.17/bin/test-xenstore";
constexpr const char* kXenstoreControl = "/usr/lib/xen-4.17/bin/xenstore-control";

class RealClients : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = StartXsd(sock(), {"--domain-sockets", dir_ / "domains"});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    xsd_ = std::move(*d);
  }
  std::string sock() const { return dir_ / "socket"; }
  // Runs `cmd` as a dom0 client (or as domain `domid` through its socket).
  testing::CommandResult Run(const std::string& cmd, int domid = 0) {
    std::string path = domid == 0 ? sock() : dir_ / ("domains/" + std::to_string(domid));
    return RunCommand("export XENSTORED_PATH=" + path + "; " + cmd, true);
  }
  TempDir dir_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
};

TEST_F(RealClients, XenstoreUtilsReadWriteListRm) {
  EXPECT_EQ(Run("xenstore-write /t/a hello /t/b world").exit_code, 0);
  EXPECT_EQ(Run("xenstore-read /t/a").out, "hello\n");
  EXPECT_EQ(Run("xenstore-list /t").out, "a\nb\n");
  EXPECT_EQ(Run("xenstore-exists /t/a").exit_code, 0);
  EXPECT_NE(Run("xenstore-exists /t/zzz").exit_code, 0);
  auto ls = Run("xenstore-ls /t");
  EXPECT_EQ(ls.out, "a = \"hello\"\nb = \"world\"\n");
  EXPECT_EQ(Run("xenstore-rm /t/a").exit_code, 0);
  EXPECT_NE(Run("xenstore-read /t/a").exit_code, 0);
  auto missing = Run("xenstore-read /nothing/here");
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.out.find("couldn't read path /nothing/here"), std::string::npos) << missing.out;
}

TEST_F(RealClients, XenstoreChmodAndListPermissions) {
  Run("xenstore-write /p/node v");
  EXPECT_EQ(Run("xenstore-chmod /p/node b0 r5 w7").exit_code, 0);
  auto ls = Run("xenstore-ls -p /p");
  EXPECT_NE(ls.out.find("(b0,r5,w7)"), std::string::npos) << ls.out;
}

TEST_F(RealClients, XenstoreWatchSeesChanges) {
  auto watch =
      RunCommand("XENSTORED_PATH=" + sock() +
                     " timeout 10 xenstore-watch -n 3 /wt & sleep 0.3; XENSTORED_PATH=" + sock() +
                     " xenstore-write /wt/x 1; XENSTORED_PATH=" + sock() + " xenstore-rm /wt; wait",
                 true);
  EXPECT_EQ(watch.out, "/wt\n/wt/x\n/wt\n");
}

TEST_F(RealClients, XenstoreControlStats) {
  Run("xenstore-write /s 1");
  auto stats = Run(kXenstoreControl + std::string(" stats"));
  EXPECT_EQ(stats.exit_code, 0) << stats.out;
  for (const char* name : {"transactions_started", "transactions_committed",
                           "transactions_conflicted", "requests_total", "disk_bytes_written"})
    EXPECT_NE(stats.out.find(name), std::string::npos) << name;
  EXPECT_NE(stats.out.find("implicit_transactions 1"), std::string::npos) << stats.out;
}

TEST_F(RealClients, TestXenstorePassesEveryTest) {
  auto r = Run(std::string("timeout 120 ") + kTestXenstore);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  for (const char* name : {"read 1", "write 2000", "rm dir", "ta empty", "ta rmw", "ta err"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name << "\n" << r.out;
  auto iterated = Run(std::string("timeout 120 ") + kTestXenstore + " -i 50");
  EXPECT_EQ(iterated.exit_code, 0) << iterated.out;
}

TEST_F(RealClients, PyxsTransactionsAndWatches) {
  auto r = RunCommand(
      "/usr/bin/python3 " + std::string(TXEND_SOURCE_DIR) + "/tests/xsd/pyxs_client.py " + sock(),
      true);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << r.out;
}

// A real client acting as unprivileged domain 5 through its per-domain socket.
TEST_F(RealClients, GuestClientIsConfinedByPermissionsAndQuota) {
  auto dom0 = xs::Connection::Open(sock());
  ASSERT_TRUE(dom0.ok());
  Run("xenstore-write /local/domain/5/data '' /local/domain/0/secret s");
  Run("xenstore-chmod /local/domain/5/data n5");
  ASSERT_TRUE((*dom0)->Introduce(5, 1234, 7).ok());
  ASSERT_TRUE((*dom0)->Control({"quota", "entries", "20"}).ok());

  EXPECT_EQ(Run("xenstore-write data/mine 1", 5).exit_code, 0);  // relative to its home
  EXPECT_EQ(Run("xenstore-read /local/domain/5/data/mine").out, "1\n");
  EXPECT_NE(Run("xenstore-read /local/domain/0/secret", 5).exit_code, 0);
  EXPECT_NE(Run("xenstore-write /local/domain/0/secret pwned", 5).exit_code, 0);
  EXPECT_EQ(Run("xenstore-read /local/domain/0/secret").out, "s\n");
  auto flood = Run(
      "for i in $(seq 1 40); do xenstore-write data/n$i x || { echo refused at $i; break; }; done",
      5);
  EXPECT_NE(flood.out.find("refused at"), std::string::npos) << flood.out;
  EXPECT_EQ(Run("xenstore-write /local/domain/0/still-fine yes").exit_code, 0);  // dom0 unaffected
}

}  // namespace
}  // namespace txend::xsd
