#include "toolstack/domain_config.h"

#include <gtest/gtest.h>

namespace txend::toolstack {
namespace {

const char* kPvConfig = R"sxp((vm (name demo) (memory 256) (maxmem 512) (vcpus 2) (cpus 0-1)
  (on_poweroff destroy) (on_reboot restart) (on_crash preserve)
  (image (linux (kernel /boot/vmlinuz) (ramdisk /boot/initrd.img) (root '/dev/xvda1 ro') (args console=hvc0)))
  (device (vbd (uname phy:/dev/vg/demo-disk) (dev xvda1) (mode w)))
  (device (vbd (uname file:/srv/demo-data.img) (dev xvdb) (mode r)))
  (device (vif (mac 00:16:3e:01:02:03) (bridge xenbr0)))
  (device (vfb (vnc 1) (vnclisten 127.0.0.1)))))sxp";

TEST(DomainConfig, ReadsXmStyleSxp) {
  auto parsed = sxp::Parse(kPvConfig);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto c = DomainConfig::FromSxp(*parsed);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "demo");
  EXPECT_EQ(c->memory_mib, 256u);
  EXPECT_EQ(c->max_mib(), 512u);
  EXPECT_EQ(c->vcpus, 2u);
  EXPECT_EQ(c->on_crash, "preserve");
  EXPECT_EQ(c->kernel, "/boot/vmlinuz");
  EXPECT_EQ(c->CommandLine(), "root=/dev/xvda1 ro console=hvc0");
  ASSERT_EQ(c->disks.size(), 2u);
  EXPECT_EQ(c->disks[1], (DiskSpec{"file:/srv/demo-data.img", "xvdb", "r"}));
  ASSERT_EQ(c->vifs.size(), 1u);
  EXPECT_EQ(c->vifs[0].bridge, "xenbr0");
  ASSERT_EQ(c->vfbs.size(), 1u);
  EXPECT_EQ(c->vfbs[0].options.at("vnclisten"), "127.0.0.1");
}

TEST(DomainConfig, RoundTripsThroughSxp) {
  auto c = DomainConfig::FromSxp(*sxp::Parse(kPvConfig));
  ASSERT_TRUE(c.ok());
  auto again = DomainConfig::FromSxp(c->ToSxp());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(sxp::Show(again->ToSxp()), sxp::Show(c->ToSxp()));
  EXPECT_EQ(again->disks, c->disks);
  EXPECT_EQ(again->vifs, c->vifs);
}

TEST(DomainConfig, ReadsHvm) {
  auto c = DomainConfig::FromSxp(*sxp::Parse(
      "(vm (name win) (memory 1024) (image (hvm (kernel /usr/lib/xen/boot/hvmloader) (boot dc) (acpi 1) (pae 1)))"
      " (device (vbd (uname phy:/dev/vg/win) (dev hda) (mode w))) (device (vbd (uname file:/iso/x.iso) (dev hdc:cdrom) (mode r))))"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->hvm());
  EXPECT_EQ(c->image_options.at("boot"), "dc");
}

TEST(DomainConfig, ValidationNamesTheField) {
  struct Case {
    const char* sxp;
    const char* expect;
  } cases[] = {
      {"(vm (memory 64) (image (linux (kernel /k))))", "invalid name: a domain needs a name"},
      {"(vm (name 42) (image (linux (kernel /k))))", "is a number"},
      {"(vm (name 'a b') (image (linux (kernel /k))))", "may contain only"},
      {"(vm (name x) (memory lots) (image (linux (kernel /k))))", "invalid memory: 'lots' is not a number"},
      {"(vm (name x) (memory 0) (image (linux (kernel /k))))", "invalid memory"},
      {"(vm (name x) (memory 512) (maxmem 256) (image (linux (kernel /k))))", "invalid maxmem"},
      {"(vm (name x) (vcpus 0) (image (linux (kernel /k))))", "invalid vcpus"},
      {"(vm (name x) (image (linux)))", "needs a kernel"},
      {"(vm (name x) (on_crash explode) (image (linux (kernel /k))))", "invalid on_crash"},
      {"(vm (name x) (uuid nope) (image (linux (kernel /k))))", "invalid uuid"},
      {"(vm (name x) (image (linux (kernel /k))) (device (vbd (uname /dev/sda) (dev xvda))))", "expected phy:"},
      {"(vm (name x) (image (linux (kernel /k))) (device (vbd (uname phy:/dev/sda) (dev floppy))))", "invalid disk device name"},
      {"(vm (name x) (image (linux (kernel /k))) (device (vif (mac zz))))", "invalid vif"},
      {"(domainz)", "expected a (vm ...)"},
  };
  for (const auto& c : cases) {
    auto r = DomainConfig::FromSxp(*sxp::Parse(c.sxp));
    ASSERT_FALSE(r.ok()) << c.sxp;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.sxp << " -> " << r.status().message();
  }
}

TEST(DomainConfig, DefaultsAreFilledDeterministically) {
  DomainConfig c;
  c.name = "d";
  c.kernel = "/k";
  c.memory_mib = 300;
  c.vifs.push_back({});
  uint64_t n = 0;
  c.FillDefaults([&] { return ++n * 0x0123456789abcdefull; });
  EXPECT_TRUE(IsValidUuid(c.uuid)) << c.uuid;
  EXPECT_EQ(c.uuid[14], '4');
  EXPECT_EQ(c.maxmem_mib, 300u);
  EXPECT_EQ(c.vifs[0].mac.substr(0, 9), "00:16:3e:");
  EXPECT_TRUE(c.Validate().ok());
}

TEST(DomainConfig, VbdDeviceNumbersMatchLinux) {
  EXPECT_EQ(*VbdDevid("xvda"), 51712u);
  EXPECT_EQ(*VbdDevid("xvda1"), 51713u);
  EXPECT_EQ(*VbdDevid("xvdb"), 51728u);
  EXPECT_EQ(*VbdDevid("hda"), 768u);
  EXPECT_EQ(*VbdDevid("hdb"), 832u);
  EXPECT_EQ(*VbdDevid("hdc:cdrom"), 5632u);
  EXPECT_EQ(*VbdDevid("sda"), 2048u);
  EXPECT_EQ(*VbdDevid("sdb2"), 2066u);
  EXPECT_EQ(*VbdDevid("51712"), 51712u);
  EXPECT_EQ(*VbdDevid("xvdq"), (1u << 28) | (16u << 8));
  EXPECT_FALSE(VbdDevid("floppy").ok());
}

}  // namespace
}  // namespace txend::toolstack
