// HotplugScripts against a real xsd: scripts (small shell stand-ins for Xen's
// block and vif-bridge, using the real xenstore-write) run when a backend
// reaches InitWait and again when it closes, with Xen's hotplug environment.
#include "toolstack/agents/hotplug_scripts.h"

#include <chrono>
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "toolstack/xs/plain.h"

namespace txend::toolstack {
namespace {

using testing::Eventually;
using testing::ReadFile;
using testing::TempDir;

// How long a hotplug script may take to run and report.
constexpr std::chrono::seconds kScriptWait{4};

class HotplugScriptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto xsd = testing::StartXsd(dir_ / "xs.sock");
    ASSERT_TRUE(xsd.ok()) << xsd.status().ToString();
    xsd_ = std::move(*xsd);
    mkdir((dir_ / "scripts").c_str(), 0755);
    // Each stand-in logs "<name> <command> <env>" and reports like Xen's scripts do.
    for (const char* name : {"block", "vif-bridge"}) {
      std::string path = dir_ / "scripts" + "/" + name;
      std::ofstream(path) << "#!/bin/sh\n"
                          << "echo \"" << name << " $1 $XENBUS_TYPE $XENBUS_PATH vif=$vif\" >> "
                          << dir_ / "log"
                          << "\n"
                          << "[ \"$1\" = add ] || [ \"$1\" = online ] || exit 0\n"
                          << "exec xenstore-write \"$XENBUS_PATH/hotplug-status\" connected\n";
      chmod(path.c_str(), 0755);
    }
    auto conn = xs::Connection::Open(dir_ / "xs.sock");
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(*conn);
    auto h = HotplugScripts::Start(dir_ / "xs.sock", dir_ / "scripts");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    hotplug_ = std::move(*h);
  }

  std::string Read(const std::string& path) {
    auto v = xs::PlainRead(*conn_, path);
    return v.ok() ? *v : "";
  }

  TempDir dir_;
  std::unique_ptr<testing::DaemonProcess> xsd_;
  std::unique_ptr<xs::Connection> conn_;
  std::unique_ptr<HotplugScripts> hotplug_;
};

TEST_F(HotplugScriptsTest, RunsAddAtInitWaitAndRemoveAtClosed) {
  const std::string vbd = "/local/domain/0/backend/vbd/3/51712";
  ASSERT_TRUE(xs::PlainWrite(*conn_, vbd + "/params", "/dev/loop0").ok());
  ASSERT_TRUE(xs::PlainWrite(*conn_, vbd + "/state", "1").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Read(vbd + "/hotplug-status"), "");  // not before the backend is in InitWait
  ASSERT_TRUE(xs::PlainWrite(*conn_, vbd + "/state", "2").ok());
  EXPECT_TRUE(
      Eventually(kScriptWait, [&] { return Read(vbd + "/hotplug-status") == "connected"; }));
  ASSERT_TRUE(xs::PlainWrite(*conn_, vbd + "/state", "4").ok());
  ASSERT_TRUE(xs::PlainWrite(*conn_, vbd + "/state", "6").ok());
  EXPECT_TRUE(Eventually(kScriptWait, [&] {
    return ReadFile(dir_ / "log").find("block remove") != std::string::npos;
  }));
  EXPECT_EQ(ReadFile(dir_ / "log"),
            "block add vbd " + vbd + " vif=\nblock remove vbd " + vbd + " vif=\n");
}

TEST_F(HotplugScriptsTest, VifGetsItsInterfaceNameAndNamedScript) {
  const std::string vif = "/local/domain/0/backend/vif/7/1";
  ASSERT_TRUE(xs::PlainWrite(*conn_, vif + "/script", "vif-bridge").ok());
  ASSERT_TRUE(xs::PlainWrite(*conn_, vif + "/state", "2").ok());
  EXPECT_TRUE(
      Eventually(kScriptWait, [&] { return Read(vif + "/hotplug-status") == "connected"; }));
  ASSERT_TRUE(
      conn_->Call(wire::MsgType::kRm, 0, wire::JoinFields({vif})).ok());  // the directory goes
  EXPECT_TRUE(Eventually(
      kScriptWait, [&] { return ReadFile(dir_ / "log").find("offline") != std::string::npos; }));
  EXPECT_EQ(ReadFile(dir_ / "log"), "vif-bridge online vif " + vif +
                                        " vif=vif7.1\nvif-bridge offline vif " + vif +
                                        " vif=vif7.1\n");
}

TEST_F(HotplugScriptsTest, AFailingScriptReportsAnError) {
  std::ofstream(dir_ / "scripts" + "/broken") << "#!/bin/sh\nexit 1\n";
  chmod((dir_ / "scripts" + "/broken").c_str(), 0755);
  const std::string vif = "/local/domain/0/backend/vif/8/0";
  ASSERT_TRUE(xs::PlainWrite(*conn_, vif + "/script", "broken").ok());
  ASSERT_TRUE(xs::PlainWrite(*conn_, vif + "/state", "2").ok());
  EXPECT_TRUE(Eventually(kScriptWait, [&] { return Read(vif + "/hotplug-status") == "error"; }));
}

}  // namespace
}  // namespace txend::toolstack
