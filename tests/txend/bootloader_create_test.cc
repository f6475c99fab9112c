// PV and PVH guests booted by pygrub (xen-utils-4.17) from a disk image made
// by the test, created the two ways users do: libvirt's op=create bytes and
// `xm create` of a classic (or xl-style type = "pvh") bootloader config.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/guest_disk.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

namespace fs = std::filesystem;

class BootloaderCreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TxendStack::Options options;
    options.extra_args = {"--bootloader-timeout", "20"};
    auto s = TxendStack::Start(options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    auto disk = WriteGuestDisk(StandardGuestDisk(1), stack_->path("guest.img"));
    ASSERT_TRUE(disk.ok()) << disk.status().ToString();
    disk_ = *disk;
  }
  XendReply Get(const std::string& path) { return stack_->client().Get(path); }
  XendReply Create(const std::string& config) {
    return stack_->client().Post("/xend/domain/", {{"op", "create"}, {"config", config}});
  }
  // libvirt's bytes for a PV guest booted by `bootloader` (as virt-install wrote it).
  std::string LibvirtConfig(const std::string& name, const std::string& bootloader,
                            const std::string& disk) const {
    return "(vm (name '" + name +
           "')(memory 64)(maxmem 64)(vcpus 1)(uuid '4dea22b3-1d52-d8f3-2516-782e98ab3f" +
           std::to_string(10 + name.size()) + "')" + bootloader +
           "(on_poweroff 'destroy')(on_reboot 'restart')(on_crash 'restart')"
           "(device (vbd (dev 'xvda')(uname 'file:" +
           disk + "')(mode 'w')))(device (vif (mac '00:16:3e:79:86:8d')(bridge 'xenbr0')))";
  }
  // Nothing the bootloader extracted is left under the state directory.
  bool NoBootFilesLeft() {
    std::error_code ec;
    std::string boot = stack_->path("state/boot");
    return !fs::exists(boot) || fs::is_empty(boot, ec);
  }
  std::string Xm(const std::string& args, int* code) {
    auto r = RunCommand("cd " + stack_->path("") + " && TXEND_SOCKET=" + stack_->xend_socket() +
                            " " TXEND_BIN_DIR "/xm " + args,
                        true);
    *code = r.exit_code;
    return r.out;
  }
  std::unique_ptr<TxendStack> stack_;
  std::string disk_;
};

TEST_F(BootloaderCreateTest, LibvirtCreatesAPygrubGuest) {
  auto created = Create(
      LibvirtConfig("pv-grub", "(bootloader '/usr/bin/pygrub')(bootloader_args '-q')", disk_) +
      ")");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(stack_->client().Post("/xend/domain/pv-grub", {{"op", "unpause"}}).status, 200);
  auto d = Get("/xend/domain/pv-grub?detail=1");
  ASSERT_EQ(d.status, 200);
  EXPECT_FALSE(sxp::ChildValue(d.sxp, "domid").empty());
  EXPECT_EQ(sxp::ChildValue(d.sxp, "bootloader"), "/usr/bin/pygrub");
  EXPECT_EQ(sxp::ChildValue(d.sxp, "bootloader_args"), "-q");
  EXPECT_TRUE(Eventually(std::chrono::seconds(10), [&] {
    return sxp::ChildValue(Get("/xend/domain/pv-grub?detail=1").sxp, "state") == "-b----";
  })) << "the guest booted";
  EXPECT_TRUE(NoBootFilesLeft());
}

// libvirt's <bootloader/>: (bootloader) and no image, no arguments: xend's
// default pygrub, interactive, boots the menu's default after its timeout.
TEST_F(BootloaderCreateTest, EmptyBootloaderIsPygrubAndReadsBackEmpty) {
  auto created = Create(LibvirtConfig("pv-default", "(bootloader)", disk_) + ")");
  ASSERT_EQ(created.status, 201) << created.body;
  auto d = Get("/xend/domain/pv-default?detail=1");
  const sxp::Value* bootloader = sxp::Child(d.sxp, "bootloader");
  ASSERT_NE(bootloader, nullptr) << d.body;
  EXPECT_EQ(sxp::ToString(*bootloader), "(bootloader)");
  EXPECT_EQ(sxp::Child(d.sxp, "bootloader_args"), nullptr);
  EXPECT_TRUE(NoBootFilesLeft());
}

// A PVH guest's bootloader runs in create as a PV guest's does: pygrub's
// kernel is what the PVH build boots, and its files go once the domain is built.
TEST_F(BootloaderCreateTest, LibvirtCreatesAPvhPygrubGuest) {
  auto created = Create(
      LibvirtConfig("pvh-grub", "(bootloader '/usr/bin/pygrub')(bootloader_args '-q')", disk_) +
      "(image (pvh (args 'console=hvc0'))))");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(stack_->client().Post("/xend/domain/pvh-grub", {{"op", "unpause"}}).status, 200);
  auto d = Get("/xend/domain/pvh-grub?detail=1");
  ASSERT_EQ(d.status, 200);
  EXPECT_FALSE(sxp::ChildValue(d.sxp, "domid").empty());
  EXPECT_EQ(sxp::ChildValue(d.sxp, "bootloader"), "/usr/bin/pygrub");
  EXPECT_EQ(sxp::ChildValue(d.sxp, "bootloader_args"), "-q");
  EXPECT_NE(sxp::ToString(d.sxp).find("(image (pvh (kernel '') (args 'console=hvc0')"),
            std::string::npos)
      << d.body;
  EXPECT_TRUE(Eventually(std::chrono::seconds(10), [&] {
    return sxp::ChildValue(Get("/xend/domain/pvh-grub?detail=1").sxp, "state") == "-b----";
  })) << "the guest booted";
  EXPECT_TRUE(NoBootFilesLeft());
}

// The same failures, for a PV guest and a PVH one: the PVH build reports the
// file pygrub extracted, as the PV build does.
TEST_F(BootloaderCreateTest, FailuresNameTheBootloaderAndLeaveNothing) {
  std::string pygrub = "/usr/lib/xen-4.17/bin/pygrub";
  struct Case {
    std::string bootloader, disk, says;
  };
  std::vector<Case> cases = {
      {"(bootloader 'pygrub')(bootloader_args '-q --entry=2')", disk_,
       "the kernel bootloader " + pygrub + " extracted: kernel " + stack_->path("state/boot/")},
      {"(bootloader 'pygrub')(bootloader_args '-q')", stack_->path("absent.img"),
       "bootloader " + pygrub + ": disk " + stack_->path("absent.img") +
           ": No such file or directory"},
      {"(bootloader '/usr/bin/pypxeboot')(bootloader_args 'mac=00:16:3e:79:86:8d')", disk_,
       "bootloader /usr/bin/pypxeboot: No such file or directory"},
      {"(bootloader 'pygrub')(bootloader_args '-q \\'unclosed')", disk_,
       "bootloader " + pygrub + ": bootloader_args: no closing quotation"},
  };
  for (std::string image : {"", "(image (pvh))"}) {
    for (const Case& c : cases) {
      auto r = Create(LibvirtConfig("bad", c.bootloader, c.disk) + image + ")");
      EXPECT_EQ(r.status, 500) << image << c.bootloader;
      EXPECT_NE(r.body.find(c.says), std::string::npos) << image << c.bootloader << ": " << r.body;
      EXPECT_EQ(Get("/xend/domain/bad").status, 404) << image << c.bootloader;
      EXPECT_TRUE(NoBootFilesLeft()) << image << c.bootloader;
    }
  }
}

// An HVM guest boots from its firmware: a bootloader is refused by name
// (xend ignored it, libxl skips it) rather than silently dropped.
TEST_F(BootloaderCreateTest, HvmGuestsWithABootloaderAreRefusedByName) {
  std::string says = "bootloader: an HVM guest boots from its firmware";
  auto r =
      Create(LibvirtConfig("hvm-grub", "(bootloader 'pygrub')", disk_) + "(image (hvm (boot c))))");
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(r.body.find(says), std::string::npos) << r.body;
  EXPECT_EQ(Get("/xend/domain/hvm-grub").status, 404);

  std::ofstream(stack_->path("hvm.cfg")) << "name = 'xm-hvm-grub'\nmemory = 64\n"
                                         << "type = 'hvm'\nbootloader = 'pygrub'\n"
                                         << "disk = [ 'file:" << disk_ << ",hda,w' ]\n";
  int code = -1;
  std::string out = Xm("create hvm.cfg", &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("Error: " + says), std::string::npos) << out;
  EXPECT_TRUE(NoBootFilesLeft());
}

TEST_F(BootloaderCreateTest, XmCreatesAClassicPygrubConfig) {
  std::ofstream(stack_->path("grub.cfg")) << "name = 'xm-grub'\nmemory = 64\n"
                                          << "bootloader = '/usr/bin/pygrub'\n"
                                          << "disk = [ 'file:" << disk_ << ",xvda,w' ]\n"
                                          << "vif = [ 'bridge=xenbr0' ]\n";
  int code = -1;
  std::string out = Xm("create grub.cfg", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Started domain xm-grub"), std::string::npos) << out;
  out = Xm("list -l xm-grub", &code);
  EXPECT_NE(out.find("(bootloader /usr/bin/pygrub)"), std::string::npos) << out;
  EXPECT_NE(out.find("(bootloader_args -q)"), std::string::npos) << out;

  // An entry that is no kernel: xm's one-line error names the bootloader.
  std::ofstream(stack_->path("broken.cfg")) << "name = 'xm-broken'\nmemory = 64\n"
                                            << "bootloader = 'pygrub'\n"
                                            << "bootargs = '-q --entry=Broken'\n"
                                            << "disk = [ 'file:" << disk_ << ",xvda,w' ]\n";
  out = Xm("create broken.cfg", &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("Error: the kernel bootloader /usr/lib/xen-4.17/bin/pygrub extracted"),
            std::string::npos)
      << out;
  EXPECT_TRUE(NoBootFilesLeft());
}

// xl's way of asking for a PVH guest booted by pygrub, through xm: the guest
// runs and `xm list -l` shows its bootloader entries beside the PVH image.
TEST_F(BootloaderCreateTest, XmCreatesAPvhPygrubConfig) {
  std::ofstream(stack_->path("pvh.cfg")) << "name = 'xm-pvh'\nmemory = 64\n"
                                         << "type = 'pvh'\nbootloader = 'pygrub'\n"
                                         << "disk = [ 'file:" << disk_ << ",xvda,w' ]\n"
                                         << "vif = [ 'bridge=xenbr0' ]\n";
  int code = -1;
  std::string out = Xm("create pvh.cfg", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Started domain xm-pvh"), std::string::npos) << out;
  out = Xm("list -l xm-pvh", &code);
  EXPECT_NE(out.find("(bootloader /usr/lib/xen-4.17/bin/pygrub)"), std::string::npos) << out;
  EXPECT_NE(out.find("(bootloader_args -q)"), std::string::npos) << out;
  EXPECT_NE(out.find("(image (pvh"), std::string::npos) << out;
  EXPECT_TRUE(Eventually(std::chrono::seconds(10), [&] {
    return Xm("list xm-pvh", &code).find("-b----") != std::string::npos;
  })) << "the guest booted";
  EXPECT_TRUE(NoBootFilesLeft());
}

}  // namespace
}  // namespace txend::testing
