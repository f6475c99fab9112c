// PCI passthrough hot-plug on the simulated host, the three ways it is asked
// for: libvirt (device_create, device_configure with (state 'Closing'), its
// ref from pciback's xenstore nodes), xm pci-attach/-detach/-list and
// pci-list-assignable-devices, and op=device_destroy. The host's assignable
// devices are a sysfs tree made by the test (pciback and pci-stub entries).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/files.h"
#include "tests/support/libvirt_driver.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::testing {
namespace {

namespace fs = std::filesystem;

class PciHotplugTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* entry :
         {"bus/pci/drivers/pciback/0000:03:00.0", "bus/pci/drivers/pciback/0000:03:00.1",
          "bus/pci/drivers/pci-stub/0000:04:00.0"})
      fs::create_directories(sysfs_ / entry);
    std::ofstream(sysfs_ / "bus/pci/drivers/pciback/slots") << "";  // not a device
    TxendStack::Options options;
    options.extra_args = {"--sysfs", sysfs_.path()};
    auto s = TxendStack::Start(options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
  }
  LvDriver Driver() { return LvDriver(stack_->client()); }
  std::string CreateGuest(const std::string& name) {
    auto r = stack_->client().Post("/xend/domain/",
                                   {{"op", "create"}, {"config", stack_->Config(name, 1, 0)}});
    EXPECT_EQ(r.status, 201) << r.body;
    return sxp::ChildValue(stack_->client().Get("/xend/domain/" + name + "?detail=1").sxp, "domid");
  }
  std::string Read(const std::string& path) {
    auto xs = xs::Connection::Open(stack_->xs_socket());
    if (!xs.ok()) return "<no xenstore>";
    auto snap = xs::Snapshot::Begin(**xs);
    if (!snap.ok()) return "<no snapshot>";
    auto value = snap->Read(path);
    return value.ok() ? *value : "<absent>";
  }
  struct Run {
    int code;
    std::string out;
  };
  Run Xm(const std::string& args) {
    auto r = RunCommand(
        "TXEND_SOCKET=" + stack_->xend_socket() + " " TXEND_BIN_DIR "/xm " + args + " 2>&1", false);
    return {r.exit_code, r.out};
  }
  TempDir sysfs_;
  std::unique_ptr<TxendStack> stack_;
};

TEST_F(PciHotplugTest, LibvirtAttachesAndDetachesAsItsDriverDoes) {
  std::string domid = CreateGuest("pt");
  LvPci nic{0, 3, 0, 0};
  Status attached = Driver().AttachPci("pt", nic);
  ASSERT_TRUE(attached.ok()) << attached.ToString();
  auto def = Driver().Fetch("pt");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->pci, std::vector<LvPci>{nic});
  // libvirt's detach finds the device's ref in pciback's nodes (dev-0).
  std::string be = "/local/domain/0/backend/pci/" + domid + "/0";
  EXPECT_EQ(Read(be + "/dev-0"), "0000:03:00.0");
  EXPECT_EQ(Read(be + "/num_devs"), "1");
  EXPECT_EQ(Read("/local/domain/" + domid + "/device/pci/0/backend"), be);

  Status detached = Driver().DetachPci("pt", nic, "0");
  ASSERT_TRUE(detached.ok()) << detached.ToString();
  def = Driver().Fetch("pt");
  ASSERT_TRUE(def.ok());
  EXPECT_TRUE(def->pci.empty());
  EXPECT_EQ(Read(be + "/dev-0"), "<absent>");
}

TEST_F(PciHotplugTest, XmCommandsAsXm) {
  CreateGuest("xmpt");
  Run listed = Xm("pci-list-assignable-devices");
  EXPECT_EQ(listed.code, 0) << listed.out;
  EXPECT_EQ(listed.out, "0000:03:00.0\n0000:03:00.1\n0000:04:00.0\n");

  Run r = Xm("pci-attach xmpt 0000:03:00.0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Xm("pci-list xmpt").out, "Device\n0000:03:00.0\n");
  r = Xm("pci-attach -o msitranslate=1 xmpt 03:00.1 7");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Xm("pci-list xmpt").out, "Vdev Device\n07.0 0000:03:00.1\n-    0000:03:00.0\n");
  EXPECT_EQ(Xm("pci-list-assignable-devices").out, "0000:04:00.0\n")
      << "what a running domain holds is not assignable";

  r = Xm("pci-detach xmpt 0000:03:00.1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Xm("pci-list xmpt").out, "Device\n0000:03:00.0\n");
  // op=device_destroy takes the function too.
  auto destroyed = stack_->client().Post(
      "/xend/domain/xmpt", {{"op", "device_destroy"}, {"type", "pci"}, {"dev", "0000:03:00.0"}});
  EXPECT_EQ(destroyed.status, 200) << destroyed.body;
  EXPECT_EQ(Xm("pci-list xmpt").out, "");
}

TEST_F(PciHotplugTest, ClearErrors) {
  CreateGuest("one");
  CreateGuest("two");
  ASSERT_EQ(Xm("pci-attach one 0000:04:00.0").code, 0);
  struct Case {
    std::string args, says;
  };
  std::vector<Case> cases = {
      {"pci-attach two 0000:09:00.0",
       "Error: PCI device 0000:09:00.0 is not assignable: bind it to pciback or pci-stub first"},
      {"pci-attach two 0000:04:00.0",
       "Error: PCI device 0000:04:00.0 is already assigned to domain 'one'"},
      {"pci-attach one 0000:04:00.0", "Error: pci 0000:04:00.0: the device is already assigned"},
      {"pci-detach two 0000:03:00.0", "Error: Domain 'two' has no PCI device 0000:03:00.0"},
      {"pci-attach two 0000:03:00.9", "function must be one digit 0-7"},
      {"pci-attach -o msitranslate two 0000:03:00.0",
       "Error: Invalid pci attach option: msitranslate"},
  };
  for (const Case& c : cases) {
    Run r = Xm(c.args);
    EXPECT_EQ(r.code, 1) << c.args << ": " << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << ": " << r.out;
  }
  auto bad_state = stack_->client().Post(
      "/xend/domain/two",
      {{"op", "device_configure"},
       {"config", "(pci (dev (domain 0x0000)(bus 0x03)(slot 0x00)(func 0x0))(state 'Open'))"}});
  EXPECT_EQ(bad_state.status, 500);
  EXPECT_NE(bad_state.body.find("Open\\': expected Initialising or Closing"), std::string::npos)
      << bad_state.body;
}

}  // namespace
}  // namespace txend::testing
