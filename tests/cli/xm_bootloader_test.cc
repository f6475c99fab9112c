// xm's bootloader settings (xmdomain.cfg(5)): bootloader, bootargs, xl's
// bootloader_args and the deprecated bootentry, as create.py sent them.
#include <gtest/gtest.h>

#include "cli/xm_config.h"
#include "cli/xm_make_config.h"
#include "toolstack/bootloader/bootloader_command.h"

namespace txend::xm {
namespace {

// The bootloader and bootloader_args xm sends for a config's text, as
// "BOOTLOADER | ARGS" ("" without a bootloader).
std::string Sent(std::string_view text, XmSxpOptions options = {}) {
  auto config = ParseXmConfigText(text, "demo.cfg", {});
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (!config.ok()) return "";
  auto vm = MakeVmSxp(*config, options);
  EXPECT_TRUE(vm.ok()) << vm.status().ToString();
  if (!vm.ok()) return "";
  if (!sxp::Child(*vm, "bootloader")) return "";
  return sxp::ChildValue(*vm, "bootloader") + " | " + sxp::ChildValue(*vm, "bootloader_args");
}

std::string Error(std::string_view text) {
  auto config = ParseXmConfigText(text, "demo.cfg", {});
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (!config.ok()) return "";
  auto vm = MakeVmSxp(*config);
  EXPECT_FALSE(vm.ok()) << text;
  return vm.ok() ? "" : vm.status().message();
}

constexpr std::string_view kDisk = "name = 'g'\ndisk = ['file:/g.img,xvda,w']\n";

TEST(XmBootloader, PygrubIsTheInstalledOneAndQuietByDefault) {
  EXPECT_EQ(Sent(std::string(kDisk) + "bootloader = 'pygrub'\n"),
            "/usr/lib/xen-4.17/bin/pygrub | -q");
  EXPECT_EQ(Sent(std::string(kDisk) + "bootloader = '/usr/bin/pygrub'\n"), "/usr/bin/pygrub | -q")
      << "a path is sent as written";
  XmSxpOptions console;
  console.console_autoconnect = true;
  EXPECT_EQ(Sent(std::string(kDisk) + "bootloader = 'pygrub'\n", console),
            "/usr/lib/xen-4.17/bin/pygrub | ")
      << "xm create -c: the menu is interactive";
  EXPECT_EQ(Sent(std::string(kDisk) + "kernel = '/boot/vmlinuz'\n"), "") << "no bootloader";
}

TEST(XmBootloader, BootargsAreSentAsWritten) {
  EXPECT_EQ(Sent(std::string(kDisk) + "bootloader = 'pygrub'\nbootargs = '--entry=1 -q'\n"),
            "/usr/lib/xen-4.17/bin/pygrub | --entry=1 -q");
}

// xl's name for bootargs: a string, or a list with one argument per item.
TEST(XmBootloader, XlsBootloaderArgs) {
  EXPECT_EQ(Sent(std::string(kDisk) + "bootloader = 'pygrub'\nbootloader_args = '--entry=1'\n"),
            "/usr/lib/xen-4.17/bin/pygrub | --entry=1");
  EXPECT_EQ(
      Sent(std::string(kDisk) +
           "bootloader = 'pygrub'\nbootloader_args = ['-q', '--entry=Guest Linux', \"it's\"]\n"),
      R"(/usr/lib/xen-4.17/bin/pygrub | -q '--entry=Guest Linux' 'it'"'"'s')")
      << "quoted as shlex.quote does";
  auto items = toolstack::SplitShellWords(R"(-q '--entry=Guest Linux' 'it'"'"'s')");
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(*items, (std::vector<std::string>{"-q", "--entry=Guest Linux", "it's"}))
      << "the server's split gives the items back";
  EXPECT_EQ(Sent(std::string(kDisk) +
                 "bootloader = 'pygrub'\nbootargs = '-q'\nbootloader_args = '--entry=1'\n"),
            "/usr/lib/xen-4.17/bin/pygrub | -q")
      << "xm's own bootargs wins";
  EXPECT_EQ(Error(std::string(kDisk) + "bootloader = 'pygrub'\nbootloader_args = 3\n"),
            "demo.cfg:4: bootloader_args: expected a string or a list of strings, got 3");
}

// Xen 3.x's bootentry = 'X' meant bootargs = '--entry=X'.
TEST(XmBootloader, DeprecatedBootentry) {
  EXPECT_EQ(Sent(std::string(kDisk) + "bootloader = 'pygrub'\nbootentry = 'xvda1:/vmlinuz'\n"),
            "/usr/lib/xen-4.17/bin/pygrub | --entry=xvda1:/vmlinuz");
}

// With a bootloader, kernel and ramdisk are files inside the guest's disk.
TEST(XmBootloader, KernelInsideTheImage) {
  auto config = ParseXmConfigText(std::string(kDisk) +
                                      "bootloader = 'pygrub'\nkernel = '/boot/vmlinuz-2.6.18'\n"
                                      "ramdisk = '/boot/initrd-2.6.18'\nextra = 'console=hvc0'\n",
                                  "demo.cfg", {});
  ASSERT_TRUE(config.ok());
  auto vm = MakeVmSxp(*config);
  ASSERT_TRUE(vm.ok()) << vm.status().ToString();
  const sxp::Value* image = sxp::Child(*vm, "image");
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(sxp::ToString(*image),
            "(image (linux (kernel /boot/vmlinuz-2.6.18) (ramdisk /boot/initrd-2.6.18)"
            " (videoram 4) (args 'console=hvc0') (tsc_mode 0) (nomigrate 0)))");
}

// xl's type = "pvh" (or xm's builder = 'pvh') with a bootloader: the same
// bootloader entries as for PV, beside a PVH image without a kernel.
TEST(XmBootloader, PvhGuestsSendTheSameBootloaderEntries) {
  for (std::string_view type : {"type = 'pvh'\n", "builder = 'pvh'\n"}) {
    std::string text = std::string(kDisk) + std::string(type) + "bootloader = 'pygrub'\n";
    EXPECT_EQ(Sent(text), "/usr/lib/xen-4.17/bin/pygrub | -q") << type;
    EXPECT_EQ(Sent(text + "bootargs = '--entry=1'\n"), "/usr/lib/xen-4.17/bin/pygrub | --entry=1")
        << type;
    auto config = ParseXmConfigText(text + "extra = 'console=hvc0'\n", "demo.cfg", {});
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto vm = MakeVmSxp(*config);
    ASSERT_TRUE(vm.ok()) << vm.status().ToString();
    const sxp::Value* image = sxp::Child(*vm, "image");
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(sxp::ToString(*image),
              "(image (pvh (args 'console=hvc0') (tsc_mode 0) (nomigrate 0)))")
        << type;
  }
}

}  // namespace
}  // namespace txend::xm
