// What libvirt and xm read back from txend must define the same domain again:
// the bootloader entries, and the older SXP spellings xend accepted.
#include <gtest/gtest.h>

#include "toolstack/config/domain_config.h"

namespace txend::toolstack {
namespace {

sxp::Value P(std::string_view text) {
  auto r = sxp::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : sxp::Value();
}

DomainConfig FromText(std::string_view text) {
  auto r = FromSxp(P(text), SeededRandomBytes(7));
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : DomainConfig();
}

std::string ErrorOf(std::string_view text) {
  auto r = FromSxp(P(text), SeededRandomBytes(7));
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

constexpr std::string_view kKernelPv =
    "(vm (name k) (memory 128) (image (linux (kernel /boot/vmlinuz) (ramdisk /boot/initrd))))";

// libvirt's reader (xenParseSxpr) takes a `bootloader` entry that is present
// at all, even `(bootloader)`, as "boot with a bootloader" and then drops the
// kernel from its next define: a kernel-booted guest must print none.
TEST(BootloaderReadback, KernelBootedGuestsPrintNoBootloader) {
  sxp::Value out = ToSxp(FromText(kKernelPv));
  EXPECT_EQ(sxp::Child(out, "bootloader"), nullptr) << sxp::ToString(out);
  EXPECT_EQ(sxp::Child(out, "bootloader_args"), nullptr) << sxp::ToString(out);
}

TEST(BootloaderReadback, XendFourOutputWithEmptyBootloaderIsKernelBooted) {
  // `xm list -l` of xend 4.x printed (bootloader '') (bootloader_args '') for every guest.
  DomainConfig c = FromText(
      "(domain (name k) (memory 128) (bootloader '') (bootloader_args '')"
      " (image (linux (kernel /boot/vmlinuz))))");
  EXPECT_FALSE(c.bootloader.has_value());
  EXPECT_EQ(sxp::Child(ToSxp(c), "bootloader"), nullptr);
}

TEST(BootloaderReadback, NamedBootloaderAndArgsReadBack) {
  DomainConfig c = FromText(
      "(vm (name g) (memory 128) (bootloader '/usr/bin/pypxeboot')"
      " (bootloader_args 'mac=AA:00:86:e2:35:72') (device (vbd (dev xvda) (uname file:/x.img))))");
  ASSERT_TRUE(c.bootloader.has_value());
  EXPECT_EQ(*c.bootloader, "/usr/bin/pypxeboot");
  sxp::Value out = ToSxp(c);
  EXPECT_EQ(sxp::FindChildValue(out, "bootloader"), "/usr/bin/pypxeboot");
  EXPECT_EQ(sxp::FindChildValue(out, "bootloader_args"), "mac=AA:00:86:e2:35:72");
  EXPECT_EQ(FromText(sxp::ToString(out)), c) << "round trip";
}

// libvirt writes `<bootloader/>` as `(bootloader)` with no image: xend's
// default bootloader, pygrub. It reads back as `(bootloader)` again.
TEST(BootloaderReadback, EmptyBootloaderWithoutKernelMeansTheDefault) {
  DomainConfig c =
      FromText("(vm (name g) (memory 128) (bootloader) (device (vbd (dev xvda) (uname file:/x))))");
  ASSERT_TRUE(c.bootloader.has_value());
  EXPECT_EQ(*c.bootloader, "");
  sxp::Value out = ToSxp(c);
  const sxp::Value* entry = sxp::Child(out, "bootloader");
  ASSERT_NE(entry, nullptr) << sxp::ToString(out);
  EXPECT_EQ(sxp::ToString(*entry), "(bootloader)");
  EXPECT_EQ(FromText(sxp::ToString(out)), c) << "round trip";
}

TEST(BootloaderReadback, NoKernelAndNoBootloaderIsStillRefused) {
  EXPECT_EQ(ErrorOf("(vm (name ok) (memory 128))"),
            "image: a linux (PV) domain needs a kernel or a bootloader");
}

// xend 3.0 printed and read cpu_weight as a float (default 1.0), a weight
// relative to other domains; the credit scheduler's default is 256.
TEST(CpuWeight, XendThreeZeroFloatsAreRelativeWeights) {
  auto weight = [](std::string_view w) {
    return FromText("(vm (name w) (memory 64) (cpu_weight " + std::string(w) +
                    ") (image (linux (kernel /k))))")
        .cpu_weight;
  };
  EXPECT_EQ(weight("1.0"), 256);
  EXPECT_EQ(weight("'2.5'"), 640);
  EXPECT_EQ(weight("0.5"), 128);
  EXPECT_EQ(weight("1e0"), 256);
  EXPECT_EQ(weight("512"), 512) << "integers are credit weights";
  EXPECT_EQ(weight("1"), 1);
  EXPECT_EQ(ErrorOf("(vm (name w) (memory 64) (cpu_weight 0.0) (image (linux (kernel /k))))"),
            "cpu_weight: 0.0 is out of range (xend 3.0 weights are relative, 1.0 = 256; the "
            "credit weight must be 1..65535)");
  EXPECT_EQ(ErrorOf("(vm (name w) (memory 64) (cpu_weight heavy) (image (linux (kernel /k))))"),
            "cpu_weight: expected an integer or a decimal number, got 'heavy'");
}

// What libvirt sends for a shareable disk when it re-sends a reply unquoted.
TEST(SharedDisks, UnquotedShareableModeKeepsItsBang) {
  DomainConfig c = FromText(
      "(vm (name s) (memory 64) (image (linux (kernel /k)))"
      " (device (vbd (dev xvda) (uname phy:/dev/vg/shared) (mode w!))))");
  ASSERT_EQ(c.vbds.size(), 1u);
  EXPECT_EQ(c.vbds[0].mode, "w!");
}

}  // namespace
}  // namespace txend::toolstack
