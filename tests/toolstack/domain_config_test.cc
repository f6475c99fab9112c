#include "toolstack/config/domain_config.h"

#include <fstream>
#include <iterator>
#include <random>

#include <gtest/gtest.h>

#include "toolstack/config/hvm_config.h"

namespace txend::toolstack {
namespace {

sxp::Value P(std::string_view text) {
  auto r = sxp::Parse(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : sxp::Value();
}

DomainConfig FromText(std::string_view text, uint64_t seed = 42) {
  auto r = FromSxp(P(text), SeededRandomBytes(seed));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : DomainConfig();
}

std::string ErrorOf(std::string_view text) {
  auto r = FromSxp(P(text), SeededRandomBytes(1));
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

// ToSxp -> FromSxp gives the same config, and printing it again the same text.
void ExpectRoundTrip(const DomainConfig& c) {
  sxp::Value once = ToSxp(c);
  auto again = FromSxp(once, SeededRandomBytes(999));
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << sxp::ToString(once);
  EXPECT_EQ(*again, c) << sxp::ToString(once);
  EXPECT_EQ(sxp::ToString(ToSxp(*again)), sxp::ToString(once));
}

// What `xm create` sends for a PV guest with two disks and one vif.
constexpr std::string_view kXmPv =
    "(vm (name web01) (memory 512) (maxmem 1024) (on_xend_start ignore) (on_xend_stop ignore)"
    " (vcpus 2) (uuid 6F8D2A4E-0C1B-4A5D-9E7F-102030405060) (cpus '0-3,^1') (oos 1)"
    " (image (linux (kernel /boot/vmlinuz-3.2.0-4-amd64) (ramdisk /boot/initrd.img-3.2.0-4-amd64)"
    "   (root '/dev/xvda1 ro') (args console=hvc0) (videoram 4) (tsc_mode 0) (nomigrate 0)))"
    " (s3_integrity 1)"
    " (device (vbd (uname phy:/dev/vg0/web01-root) (dev xvda1) (mode w)))"
    " (device (vbd (uname file:/srv/xen/web01-swap.img) (dev xvda2) (mode w)))"
    " (device (vif (bridge xenbr0) (mac 00:16:3E:4A:01:02) (script vif-bridge))))";

TEST(DomainConfigFromSxp, XmPvGuest) {
  DomainConfig c = FromText(kXmPv);
  EXPECT_EQ(c.name, "web01");
  EXPECT_EQ(c.uuid, "6f8d2a4e-0c1b-4a5d-9e7f-102030405060");
  EXPECT_EQ(c.memory_mb, 512);
  EXPECT_EQ(c.maxmem_mb, 1024);
  EXPECT_EQ(c.vcpus, 2);
  EXPECT_EQ(c.cpus, (std::vector<std::vector<int>>{{0, 2, 3}, {0, 2, 3}}));
  EXPECT_FALSE(c.is_hvm());
  EXPECT_EQ(c.image.kernel, "/boot/vmlinuz-3.2.0-4-amd64");
  EXPECT_EQ(c.image.args, "root=/dev/xvda1 ro console=hvc0")
      << "root folded in front, as xend does";
  EXPECT_EQ(c.image.Option("videoram"), "4");
  ASSERT_EQ(c.vbds.size(), 2u);
  EXPECT_EQ(c.vbds[0].uname, "phy:/dev/vg0/web01-root");
  EXPECT_EQ(c.vbds[0].bootable, true) << "the first disk is bootable";
  EXPECT_EQ(c.vbds[1].bootable, false);
  ASSERT_EQ(c.vifs.size(), 1u);
  EXPECT_EQ(c.vifs[0].mac, "00:16:3E:4A:01:02");
  EXPECT_EQ(c.vifs[0].script, "vif-bridge");
}

TEST(DomainConfigToSxp, XmPvGuestInXendOrder) {
  EXPECT_EQ(
      sxp::ToString(ToSxp(FromText(kXmPv))),
      "(domain (cpu_weight 256) (cpu_cap 0) (pool_name Pool-0) (vcpus 2)"
      " (cpus ((0 2 3) (0 2 3))) (on_poweroff destroy) (description '') (on_crash restart)"
      " (uuid 6f8d2a4e-0c1b-4a5d-9e7f-102030405060) (name web01)"
      " (on_reboot restart) (maxmem 1024) (memory 512) (shadow_memory 0) (vcpu_avail 3)"
      " (features '') (on_xend_start ignore) (on_xend_stop ignore)"
      " (image (linux (kernel /boot/vmlinuz-3.2.0-4-amd64) (ramdisk /boot/initrd.img-3.2.0-4-amd64)"
      " (args 'root=/dev/xvda1 ro console=hvc0') (superpages 0) (videoram 4) (tsc_mode 0)"
      " (nomigrate 0)))"
      " (device (vbd (uname phy:/dev/vg0/web01-root) (dev xvda1) (mode w) (bootable 1)))"
      " (device (vbd (uname file:/srv/xen/web01-swap.img) (dev xvda2) (mode w) (bootable 0)))"
      " (device (vif (mac 00:16:3E:4A:01:02) (bridge xenbr0) (script vif-bridge))))");
  ExpectRoundTrip(FromText(kXmPv));
}

// What `xm create` sends for an HVM guest (see tests/cli/configs/hvm.cfg).
constexpr std::string_view kXmHvm =
    "(vm (name win7) (memory 2048) (on_xend_start ignore) (on_xend_stop ignore) (vcpus 2)"
    " (localtime 1) (oos 1)"
    " (image (hvm (kernel hvmloader) (videoram 4) (serial pty) (acpi 1) (apic 1) (boot dc)"
    "   (device_model qemu-dm) (fda '') (guest_os_type default) (hap 1) (localtime 1) (pae 1)"
    "   (pci ()) (sdl 0) (stdvga 0) (usb 1) (usbdevice tablet) (vcpus 2) (vnc 1) (vncunused 1)"
    "   (vnclisten 0.0.0.0) (xen_platform_pci 1) (vncpasswd '') (tsc_mode 0) (nomigrate 0)))"
    " (s3_integrity 1)"
    " (device (vbd (uname file:/var/lib/xen/images/win7.img) (dev ioemu:hda) (mode w)))"
    " (device (vbd (uname '') (dev hdc:cdrom) (mode r)))"
    " (device (vif (type ioemu) (bridge xenbr0) (mac 00:16:3e:00:00:02))))";

TEST(DomainConfigFromSxp, XmHvmGuest) {
  DomainConfig c = FromText(kXmHvm, 42);
  EXPECT_TRUE(c.is_hvm());
  EXPECT_EQ(c.uuid, NewUuid(SeededRandomBytes(42))) << "missing uuid drawn from the source";
  EXPECT_EQ(c.image.loader, "hvmloader") << "an HVM kernel without loader is the loader";
  EXPECT_EQ(c.image.kernel, "");
  EXPECT_EQ(c.localtime, true);
  EXPECT_EQ(c.image.Option("boot"), "dc");
  EXPECT_EQ(c.image.Option("fda"), std::nullopt) << "xend drops '' image options";
  EXPECT_EQ(c.image.Option("vncpasswd"), std::nullopt);
  ASSERT_EQ(c.vbds.size(), 2u);
  EXPECT_EQ(c.vbds[1].uname, "") << "an empty CD-ROM drive";
  ASSERT_EQ(c.vfbs.size(), 1u) << "xend turns the HVM vnc options into a vfb";
  EXPECT_EQ(c.vfbs[0].type, "vnc");
  EXPECT_EQ(c.vfbs[0].vnclisten, "0.0.0.0");
  EXPECT_EQ(c.vfbs[0].vncunused, true);

  EXPECT_EQ(
      sxp::ToString(ToSxp(c)),
      "(domain (cpu_weight 256) (cpu_cap 0) (pool_name Pool-0) (vcpus 2)"
      " (cpus (() ())) (on_poweroff destroy) (description '') (on_crash restart)"
      " (uuid " +
          c.uuid +
          ") (name win7) (on_reboot restart)"
          " (maxmem 2048) (memory 2048) (shadow_memory 0) (vcpu_avail 3) (features '')"
          " (on_xend_start ignore) (on_xend_stop ignore)"
          " (image (hvm (kernel '') (superpages 0) (loader hvmloader) (localtime 1) (videoram 4)"
          " (serial pty) (acpi 1) (apic 1) (boot dc) (device_model qemu-dm) (guest_os_type default)"
          " (hap 1) (pae 1) (pci ()) (sdl 0) (stdvga 0) (usb 1) (usbdevice tablet) (vnc 1)"
          " (vncunused 1) (vnclisten 0.0.0.0) (xen_platform_pci 1) (tsc_mode 0) (nomigrate 0)))"
          " (device (vbd (uname file:/var/lib/xen/images/win7.img) (dev ioemu:hda) (mode w) "
          "(bootable 1)))"
          " (device (vbd (dev hdc:cdrom) (mode r) (bootable 0)))"
          " (device (vif (mac 00:16:3e:00:00:02) (bridge xenbr0) (type ioemu)))"
          " (device (vfb (type vnc) (vnc 1) (vncunused 1) (vnclisten 0.0.0.0))))");
  ExpectRoundTrip(c);
}

// What libvirt's xenFormatSxpr sends for a PV guest booted by pygrub.
constexpr std::string_view kLibvirtPv =
    "(vm (name 'lv-pv')(memory 256)(maxmem 512)(vcpus 4)(vcpu_avail 3)(cpus '0-1')"
    "(uuid '4dea22b3-1d52-d8f3-2516-782e98ab3fa0')(bootloader '/usr/bin/pygrub')"
    "(bootloader_args '-q')(on_poweroff 'destroy')(on_reboot 'restart')"
    "(on_crash 'coredump-restart')(image (linux (args 'console=hvc0')(localtime 0)))(localtime 0)"
    "(device (vbd (dev 'xvda')(uname 'phy:/dev/MainVG/GuestLV')(mode 'w')))"
    "(device (tap (dev 'xvdb')(uname 'tap:qcow2:/var/lib/xen/data.qcow2')(mode 'w!')))"
    "(device (vif (mac '00:16:3e:79:86:8d')(rate '10240KB/s')(bridge 'xenbr0')"
    "(script 'vif-bridge')(vifname 'lvpv0')))"
    "(device (vkbd))(device (vfb (type vnc)(vncunused 0)(vncdisplay 3)(vnclisten '127.0.0.1')"
    "(vncpasswd 'secret')(keymap 'en-us'))))";

TEST(DomainConfigFromSxp, LibvirtPvGuest) {
  DomainConfig c = FromText(kLibvirtPv);
  EXPECT_EQ(c.name, "lv-pv");
  EXPECT_EQ(c.vcpus, 4);
  EXPECT_EQ(c.vcpu_avail, 3u);
  EXPECT_EQ(c.cpus, (std::vector<std::vector<int>>(4, {0, 1})));
  EXPECT_EQ(c.bootloader, "/usr/bin/pygrub");
  EXPECT_EQ(c.bootloader_args, "-q");
  EXPECT_EQ(c.on_crash, ShutdownAction::kCoredumpRestart);
  EXPECT_EQ(c.image.kernel, "");
  EXPECT_EQ(c.image.args, "console=hvc0");
  EXPECT_EQ(c.localtime, false);
  ASSERT_EQ(c.vbds.size(), 2u);
  EXPECT_EQ(c.vbds[1].device_class, "tap");
  EXPECT_EQ(c.vbds[1].mode, "w!");
  ASSERT_EQ(c.vifs.size(), 1u);
  EXPECT_EQ(c.vifs[0].rate, "10240KB/s");
  EXPECT_EQ(c.vifs[0].vifname, "lvpv0");
  ASSERT_EQ(c.other_devices.size(), 1u);
  EXPECT_EQ(sxp::ToString(c.other_devices[0]), "(vkbd)");
  ASSERT_EQ(c.vfbs.size(), 1u);
  EXPECT_EQ(c.vfbs[0].vncdisplay, 3);
  EXPECT_EQ(c.vfbs[0].vncunused, false);
  EXPECT_EQ(c.vfbs[0].vncpasswd, "secret");
  ExpectRoundTrip(c);
}

// libvirt's HVM form: loader as kernel, serial as a list, cdrom without uname, a PCI device.
constexpr std::string_view kLibvirtHvm =
    "(vm (name 'lv-hvm')(memory 1024)(maxmem 1024)(vcpus 1)"
    "(uuid 'd2a9f3b4-1111-2222-3333-444455556666')(on_poweroff 'destroy')(on_reboot 'restart')"
    "(on_crash 'restart')(image (hvm (kernel '/usr/lib/xen/boot/hvmloader')(vcpus 1)(boot cd)"
    "(acpi 1)(apic 1)(pae 1)(usb 1)(usbdevice tablet)(parallel none)(serial (pty none))"
    "(device_model '/usr/lib/xen/bin/qemu-dm')(vnc 1)(vncunused 1)(vnclisten '0.0.0.0')"
    "(rtc_timeoffset 0)(localtime 1)))(localtime 1)"
    "(device (vbd (dev 'hda:disk')(uname 'file:/var/lib/xen/images/lv.img')(mode 'w')))"
    "(device (vbd (dev 'hdc:cdrom')(mode 'r')))"
    "(device (vif (mac '00:16:3e:11:22:33')(bridge 'xenbr0')(script 'vif-bridge')(model 'e1000')))"
    "(device (pci (dev (domain 0x0000)(bus 0x00)(slot 0x1b)(func 0x0)))))";

TEST(DomainConfigFromSxp, LibvirtHvmGuest) {
  DomainConfig c = FromText(kLibvirtHvm);
  EXPECT_EQ(c.image.loader, "/usr/lib/xen/boot/hvmloader");
  EXPECT_EQ(c.image.Option("parallel"), "none");
  EXPECT_EQ(c.image.Option("serial"), std::nullopt) << "a list value, kept verbatim";
  EXPECT_EQ(sxp::ToString(c.image.options[7]), "(serial (pty none))");
  EXPECT_EQ(c.vbds[1].dev, "hdc:cdrom");
  EXPECT_EQ(c.vifs[0].model, "e1000");
  ASSERT_EQ(c.pci.size(), 1u);
  EXPECT_EQ(c.pci[0].key, "00:1b.0");
  EXPECT_EQ(c.pci[0].vdevfn, 0x100);
  ASSERT_EQ(c.vfbs.size(), 1u);
  std::string text = sxp::ToString(ToSxp(c));
  EXPECT_NE(text.find("(device (pci (dev (domain 0x0000) (bus 0x00) (slot 0x1b) (func 0x0)"
                      " (vdevfn 0x100) (key 00:1b.0))))"),
            std::string::npos)
      << text;
  ExpectRoundTrip(c);
}

TEST(HvmConfig, ReadsTheEmulatedMachineOfLibvirtsHvmGuest) {
  HvmConfig hvm = ReadHvmConfig(FromText(kLibvirtHvm));
  EXPECT_EQ(hvm.device_model, "/usr/lib/xen/bin/qemu-dm");
  EXPECT_EQ(hvm.boot, "cd");
  EXPECT_TRUE(hvm.acpi && hvm.apic && hvm.pae && hvm.usb && hvm.localtime);
  EXPECT_EQ(hvm.usbdevice, std::vector<std::string>{"tablet"});
  EXPECT_EQ(hvm.serial, (std::vector<std::string>{"pty", "none"}));
  EXPECT_EQ(hvm.parallel, "none");
  EXPECT_TRUE(hvm.vnc) << "from the vfb xend built out of the image's vnc options";
  EXPECT_TRUE(hvm.vncunused);
  EXPECT_EQ(hvm.vnclisten, "0.0.0.0");
  EXPECT_EQ(hvm.vncdisplay, std::nullopt);
}

TEST(HvmConfig, XendsDefaultsWhenTheImageSaysNothing) {
  HvmConfig hvm = ReadHvmConfig(FromText("(vm (name h) (memory 64) (image (hvm)))"));
  EXPECT_EQ(hvm.boot, "c");
  EXPECT_TRUE(hvm.acpi && hvm.apic && hvm.pae && hvm.hap && hvm.xen_platform_pci);
  EXPECT_FALSE(hvm.hpet || hvm.viridian || hvm.stdvga || hvm.usb || hvm.vnc || hvm.sdl);
  EXPECT_EQ(hvm.timer_mode, 1);
  EXPECT_EQ(hvm.videoram_mib, 4);
  EXPECT_TRUE(hvm.serial.empty());
}

TEST(DomainConfigFromSxp, PvhGuestReadsBackEqual) {
  DomainConfig c = FromText(
      "(vm (name p) (memory 256) (vcpus 2) (image (pvh (kernel /guest/vmlinuz)"
      " (ramdisk /guest/initrd) (args 'console=hvc0') (tsc_mode 2) (nomigrate 0))))");
  EXPECT_TRUE(c.is_pvh());
  EXPECT_FALSE(c.is_hvm());
  EXPECT_EQ(c.image.kernel, "/guest/vmlinuz");
  EXPECT_TRUE(c.image.loader.empty()) << "a PVH kernel is not a loader";
  EXPECT_NE(sxp::ToString(ToSxp(c)).find("(image (pvh (kernel /guest/vmlinuz)"), std::string::npos);
  ExpectRoundTrip(c);
}

// xl's type = "pvh" with bootloader = "pygrub": the bootloader entries read
// back as for a PV guest, beside the PVH image (kernel, if any, is inside the disk).
TEST(DomainConfigFromSxp, PvhGuestWithABootloaderReadsBackEqual) {
  DomainConfig c = FromText(
      "(vm (name p) (memory 256) (bootloader /usr/lib/xen-4.17/bin/pygrub)"
      " (bootloader_args '-q --entry=1') (image (pvh (args 'console=hvc0')))"
      " (device (vbd (uname file:/guest.img) (dev xvda) (mode w))))");
  EXPECT_TRUE(c.is_pvh());
  EXPECT_TRUE(c.boots_with_bootloader());
  EXPECT_EQ(c.bootloader, "/usr/lib/xen-4.17/bin/pygrub");
  EXPECT_EQ(c.bootloader_args, "-q --entry=1");
  sxp::Value out = ToSxp(c);
  EXPECT_EQ(sxp::ChildValue(out, "bootloader"), "/usr/lib/xen-4.17/bin/pygrub");
  EXPECT_EQ(sxp::ChildValue(out, "bootloader_args"), "-q --entry=1");
  EXPECT_NE(sxp::ToString(out).find("(image (pvh"), std::string::npos) << sxp::ToString(out);
  ExpectRoundTrip(c);

  DomainConfig empty = FromText(
      "(vm (name q) (memory 256) (bootloader) (image (pvh))"
      " (device (vbd (uname file:/guest.img) (dev xvda) (mode w))))");
  ASSERT_TRUE(empty.bootloader.has_value()) << "libvirt's <bootloader/>: xend's default, pygrub";
  EXPECT_TRUE(empty.boots_with_bootloader());
  ExpectRoundTrip(empty);
}

// Every key the table says HVM takes is accepted at its neutral or a usual value.
TEST(HvmConfig, EveryListedKeyIsAccepted) {
  for (const ImageKey& key : HvmPvhImageKeys()) {
    if (!key.hvm) continue;
    std::string value = key.use == ImageKeyUse::kOnlyNeutral ? std::string(key.neutral)
                        : key.name == "boot"                 ? "dc"
                                                             : "1";
    if (value.empty()) continue;  // '' entries are dropped on reading
    std::string text =
        "(vm (name h) (memory 64) (image (hvm (" + std::string(key.name) + " " + value + "))))";
    auto r = FromSxp(P(text), SeededRandomBytes(1));
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  }
}

// xmdomain.cfg(5) documents every key the table takes (or refuses unless neutral).
TEST(HvmConfig, EveryKeyIsInTheManual) {
  std::ifstream in(std::string(TXEND_SOURCE_DIR) + "/man/xmdomain.cfg.5");
  std::string manual((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(manual.empty());
  auto documented = [&](std::string_view name) {
    for (size_t p = manual.find(name); p != std::string::npos; p = manual.find(name, p + 1)) {
      char before = p ? manual[p - 1] : ' ', after = manual[p + name.size()];
      if ((before == ' ' || before == '"') && (after == ' ' || after == '\n' || after == '"'))
        return true;
    }
    return false;
  };
  for (const ImageKey& key : HvmPvhImageKeys()) EXPECT_TRUE(documented(key.name)) << key.name;
}

TEST(DomainConfigFromSxp, ReadsXendsOwnDomainSxp) {
  // As `xm list -l` prints it (Xen 4.x): runtime fields are ignored.
  DomainConfig c = FromText(
      "(domain (domid 1) (cpu_weight 27500) (cpu_cap 0) (pool_name Pool-0)"
      " (bootloader /usr/bin/pygrub) (vcpus 2) (cpus (() ())) (on_poweroff destroy)"
      " (description '') (on_crash restart) (uuid 0004fb00-0006-0000-236e-45007b980aa1)"
      " (bootloader_args -q) (name 0004fb0000060000236e45007b980aa1) (on_reboot restart)"
      " (maxmem 2048) (memory 2048) (shadow_memory 0) (features '') (on_xend_start ignore)"
      " (on_xend_stop ignore) (start_time 1467059760.94) (cpu_time 266.840330081)"
      " (online_vcpus 2) (image (linux (kernel '') (superpages 0) (videoram 4) (pci ())"
      " (nomigrate 0) (tsc_mode 0) (notes (HV_START_LOW 4118806528) (GUEST_OS linux))))"
      " (status 2) (state -b----) (store_mfn 1234))");
  EXPECT_EQ(c.cpu_weight, 27500);
  EXPECT_TRUE(c.cpus.empty());
  EXPECT_EQ(c.bootloader, "/usr/bin/pygrub");
  EXPECT_EQ(c.image.options.size(), 5u);
  ExpectRoundTrip(c);
}

TEST(DomainConfigFromSxp, DefaultsAndDeprecatedOptions) {
  DomainConfig c = FromText(
      "(vm (name d) (memory 64) (restart onreboot) (cpu 3) (cpus 0-1) (vcpus 2)"
      " (image (linux (kernel /k) (ip '10.0.0.2:::255.255.255.0::eth0:off') (root /dev/xvda1)))"
      " (device (vif)) (device (vif (mac 00:16:3e:00:00:01))))",
      5);
  EXPECT_EQ(c.maxmem_mb, 64) << "maxmem defaults to memory";
  EXPECT_EQ(c.on_poweroff, ShutdownAction::kDestroy);
  EXPECT_EQ(c.on_reboot, ShutdownAction::kRestart);
  EXPECT_EQ(c.on_crash, ShutdownAction::kDestroy);
  EXPECT_EQ(c.cpus, (std::vector<std::vector<int>>(2, {3, 0, 1}))) << "cpu is prepended to cpus";
  EXPECT_EQ(c.image.args, "root=/dev/xvda1 ip=10.0.0.2:::255.255.255.0::eth0:off");
  ASSERT_EQ(c.vifs.size(), 2u);
  auto random = SeededRandomBytes(5);
  std::string uuid = NewUuid(random);
  EXPECT_EQ(c.uuid, uuid);
  EXPECT_EQ(c.vifs[0].mac, RandomMac(random)) << "the next random bytes make the MAC";
  EXPECT_EQ(c.cpu_weight, 256);
  EXPECT_EQ(c.pool_name, "Pool-0");

  // Explicit on_* win over restart; image vcpus win over the top-level value.
  DomainConfig d = FromText(
      "(vm (name d) (memory 64) (restart always) (on_crash preserve) (vcpus 1)"
      " (image (hvm (vcpus 3) (loader hvmloader))))");
  EXPECT_EQ(d.on_poweroff, ShutdownAction::kRestart);
  EXPECT_EQ(d.on_crash, ShutdownAction::kPreserve);
  EXPECT_EQ(d.vcpus, 3);
}

TEST(DomainConfigFromSxp, ArgsAlreadySettingRootAreLeftAlone) {
  DomainConfig c = FromText(
      "(vm (name d) (memory 64) (image (linux (kernel /k) (root /dev/sda1) (args 'root=/dev/xvda2 "
      "quiet'))))");
  EXPECT_EQ(c.image.args, "root=/dev/xvda2 quiet");
}

TEST(DomainConfigFromSxp, ManyVcpusKeepTheirAvailabilityBitmap) {
  DomainConfig c = FromText("(vm (name big) (memory 64) (vcpus 70) (image (linux (kernel /k))))");
  std::string text = sxp::ToString(ToSxp(c));
  EXPECT_NE(text.find("(vcpu_avail 1180591620717411303423)"), std::string::npos) << "2^70 - 1";
  ExpectRoundTrip(c);
}

TEST(DomainConfigAddDevice, AttachStyleDevicesAndDuplicates) {
  DomainConfig c = FromText(kXmPv);
  auto random = SeededRandomBytes(3);
  ASSERT_TRUE(AddDevice(c, P("(vbd (uname phy:/dev/vg0/data) (dev xvdb) (mode r))"), random).ok());
  EXPECT_EQ(c.vbds.back().bootable, false);
  EXPECT_EQ(
      AddDevice(c, P("(vbd (uname phy:/dev/vg0/other) (dev xvdb) (mode r))"), random).message(),
      "vbd xvdb: the device is already defined (as xvdb)");
  EXPECT_EQ(c.vbds.size(), 3u) << "a refused device leaves the config unchanged";
  EXPECT_EQ(
      AddDevice(c, P("(device (vbd (uname phy:vg0/data) (dev xvdc) (mode r)))"), random).message(),
      "vbd xvdc: \"/dev/vg0/data\" is already used by xvdb");
  EXPECT_EQ(AddDevice(c, P("(vif (mac 00:16:3e:4a:01:02))"), random).message(),
            "vif: the mac \"00:16:3e:4a:01:02\" is already defined");
  EXPECT_EQ(AddDevice(c, P("(device (floppy))"), random).message(),
            "device: unknown device type 'floppy'");
  EXPECT_EQ(AddDevice(c, P("(device)"), random).message(),
            "device: expected (device (TYPE ...)), got (device)");
}

constexpr std::string_view kMinimal = "(vm (name ok) (memory 128) (image (linux (kernel /k))) ";

std::string Minimal(std::string_view extra) {
  return std::string(kMinimal) + std::string(extra) + ")";
}

TEST(DomainConfigValidation, ClearErrors) {
  struct Case {
    std::string sxp;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"(vm (memory 128) (image (linux (kernel /k))))",
       "name: missing (every domain needs a name)"},
      {"(vm (name 'bad name') (memory 128) (image (linux (kernel /k))))",
       "name: 'bad name' is not a valid domain name (use letters, digits and _-.:+)"},
      // Names a ref would resolve to another domain (xend's lookup order: name, domid, uuid).
      {"(vm (name Domain-0) (memory 128) (image (linux (kernel /k))))",
       "name: 'Domain-0' is domain 0's name (choose another name)"},
      {"(vm (name 42) (memory 128) (image (linux (kernel /k))))",
       "name: '42' is all digits, which xm and libvirt read as a domain id (choose another name)"},
      {"(vm (name 0) (memory 128) (image (linux (kernel /k))))",
       "name: '0' is all digits, which xm and libvirt read as a domain id (choose another name)"},
      {"(vm (name 6f1e0e2c-3b4a-4c5d-8e9f-0a1b2c3d4e5f) (memory 128) (image (linux (kernel "
       "/k))))",
       "name: '6f1e0e2c-3b4a-4c5d-8e9f-0a1b2c3d4e5f' is a uuid, which xm and libvirt read as a "
       "domain's uuid (choose another name)"},
      {"(vm (name 6F1E0E2C3B4A4C5D8E9F0A1B2C3D4E5F) (memory 128) (image (linux (kernel /k))))",
       "name: '6F1E0E2C3B4A4C5D8E9F0A1B2C3D4E5F' is a uuid, which xm and libvirt read as a "
       "domain's uuid (choose another name)"},
      {"(vm (name 6f1e0e2c3b4a4c5d8e9f0a1b2c3d4e5f) (uuid 0004fb00-0006-0000-236e-45007b980aa1) "
       "(memory 128) (image (linux (kernel /k))))",
       "name: '6f1e0e2c3b4a4c5d8e9f0a1b2c3d4e5f' is a uuid, which xm and libvirt read as a "
       "domain's uuid (choose another name)"},
      {Minimal("(uuid 00000000-0000-0000-0000-000000000000)"),
       "uuid: 00000000-0000-0000-0000-000000000000 is Domain-0's (choose another uuid)"},
      {"(vm (name ok) (image (linux (kernel /k))))", "memory: must be greater than 0 (MiB)"},
      {"(vm (name ok) (memory lots))", "memory: expected an integer, got 'lots'"},
      {"(vm (name ok) (memory 512) (maxmem 256) (image (linux (kernel /k))))",
       "maxmem: 256 MiB is less than memory (512 MiB)"},
      {Minimal("(vcpus 0)"), "vcpus: 0 is out of range (1..512)"},
      {Minimal("(vcpus 513)"), "vcpus: 513 is out of range (1..512)"},
      {Minimal("(uuid 1234)"), "uuid: '1234' is not a UUID (32 hex digits, dashes optional)"},
      {"(vm (name ok) (memory 128) (image (bsd (kernel /k))))",
       "image: unknown builder 'bsd' (expected linux, hvm or pvh)"},
      {"(vm (name ok) (memory 128) (image linux))",
       "image: expected (image (linux ...)), (image (hvm ...)) or (image (pvh ...))"},
      {"(vm (name ok) (memory 128))", "image: a linux (PV) domain needs a kernel or a bootloader"},
      {Minimal("(on_crash explode)"),
       "on_crash: 'explode' is not one of destroy, restart, preserve, rename-restart, "
       "coredump-destroy, coredump-restart"},
      {Minimal("(on_xend_stop reboot)"),
       "on_xend_stop: 'reboot': expected ignore, shutdown or suspend"},
      {Minimal("(cpu_weight 0)"), "cpu_weight: 0 is out of range (1..65535)"},
      {Minimal("(cpu_cap 150)"), "cpu_cap: 150 is out of range (0..100 for 1 vcpus)"},
      {Minimal("(vcpus 2) (cpus (0 1 2))"), "cpus: 3 affinity entries for 2 vcpus"},
      {Minimal("(cpus 0-x)"), "cpus: '0-x': not a cpu number: 'x'"},
      {Minimal("(vcpu_avail many)"),
       "vcpu_avail: expected a bitmap of online vcpus below 2^64, got 'many'"},
      {"(vm (name ok) (memory 128) (image (hvm (acpi yes))))",
       "image: acpi: expected an integer, got 'yes'"},
      {"(vm (name ok) (memory 128) (image (hvm (boot z))))",
       "image: boot 'z': expected letters from a, c, d, n"},
      {"(vm (name ok) (memory 128) (image (hvm (kernel hvmloader) (floppy /f))))",
       "image: unknown HVM option 'floppy'"},
      {"(vm (name ok) (memory 128) (image (hvm (gfx_passthru 1))))",
       "image: gfx_passthru 1 is not supported by txend (only 0)"},
      {"(vm (name ok) (memory 128) (image (hvm (fda /floppy.img))))",
       "image: fda /floppy.img is not supported by txend"},
      {"(vm (name ok) (memory 128) (image (hvm (vncdisplay 59636))))",
       "image: vncdisplay: 59636 is out of range (0..59635)"},
      {"(vm (name ok) (memory 128) (image (hvm (vnc 1) (vncdisplay -3))))",
       "vfb: vncdisplay: -3 is out of range (0..59635)"},
      {"(vm (name ok) (memory 128) (image (hvm (timer_mode 7))))",
       "image: timer_mode: 7 is out of range (0..3)"},
      {"(vm (name ok) (memory 128) (image (pvh (kernel /k) (vnc 1))))",
       "image: 'vnc' does not apply to a PVH guest (it has no emulated devices and no firmware)"},
      {"(vm (name ok) (memory 128) (image (pvh (kernel /k) (loader /l))))",
       "image: loader does not apply to a PVH guest (it boots its kernel directly)"},
      {"(vm (name ok) (memory 128) (image (pvh (args x))))",
       "image: a PVH domain needs a kernel or a bootloader"},
      {"(vm (name ok) (memory 128) (bootloader /usr/bin/pygrub) (image (hvm (boot c))))",
       "bootloader: an HVM guest boots from its firmware (see boot=); a bootloader such as pygrub "
       "boots PV and PVH guests only"},
      {Minimal("(device (vbd (uname phy:/dev/x) (dev xvda) (mode rw)))"),
       "vbd xvda: mode 'rw': expected r, w or w!"},
      {Minimal("(device (vbd (uname phy:/dev/x) (dev vda) (mode w)))"),
       "vbd: dev 'vda': not a block device name (xvda, hda, sdb1, ...)"},
      {Minimal("(device (vbd (uname phy:/dev/x) (mode w)))"),
       "vbd: missing dev (the guest device, e.g. xvda)"},
      {Minimal("(device (vbd (dev xvda) (mode w)))"),
       "vbd xvda: missing uname (only a :cdrom drive may be empty)"},
      {Minimal("(device (vbd (uname /dev/x) (dev xvda) (mode w)))"),
       "vbd xvda: uname '/dev/x': expected TYPE:PATH (phy:/dev/..., file:/..., "
       "tap:aio:/...)"},
      {Minimal("(device (tap (uname tap:floppy:/x.img) (dev xvda) (mode w)))"),
       "vbd xvda: uname 'tap:floppy:/x.img': unknown blktap disk type 'floppy'"},
      {Minimal("(device (vbd (uname phy:/dev/x) (dev xvda) (mode w) (bootable maybe)))"),
       "vbd: bootable: expected an integer, got 'maybe'"},
      {Minimal("(device (vbd (uname phy:/dev/x) (dev xvda) (mode w)))"
               "(device (vbd (uname file:/dev/x) (dev xvdb) (mode w)))"),
       "vbd xvdb: \"/dev/x\" is already used by xvda"},
      {Minimal("(device (vif (mac 00:16:3e:zz:00:01)))"),
       "vif: mac '00:16:3e:zz:00:01': expected six hex pairs like 00:16:3e:12:34:56"},
      {Minimal("(device (vif (rate '10 MB')))"),
       "vif: rate '10 MB': expected e.g. 10MB/s, 512Kb/s or 5Mb/s@20ms"},
      {Minimal("(device (vif (mac 00:16:3e:00:00:01))) (device (vif (mac 00:16:3E:00:00:01)))"),
       "vif: the mac \"00:16:3E:00:00:01\" is already defined"},
      {Minimal("(device (vfb (type spice)))"), "vfb: type 'spice': expected vnc or sdl"},
      {Minimal("(device (vfb (vnc 1) (vncdisplay -1)))"),
       "vfb: vncdisplay: -1 is out of range (0..59635)"},
      {Minimal("(device (pci (dev (bus 0x00) (slot 0x20) (func 0x0))))"),
       "pci: slot: 0x20 is out of range (max 0x1f)"},
      {Minimal("(device (pci (dev (domain 0xfffffffffffffff1) (bus 0) (slot 1) (func "
               "0))))"),  // found by fuzzing
       "pci: domain: expected a hex number, got '0xfffffffffffffff1'"},
      {Minimal("(device (pci (bus 0) (dev 1) (func 2)))"),
       "pci: old-style (pci (bus ..) (dev ..) ..) entries are not supported; "
       "use (pci (dev (domain ..) (bus ..) (slot ..) (func ..)))"},
      {Minimal("(device (pci (dev (bus 0) (slot 1) (func 0)))) (device (pci (dev (bus 0) "
               "(slot 1) (func 0))))"),
       "pci 00:01.0: the device is already assigned"},
      {"(config (name x))", "expected a (vm ...) or (domain ...) config, got (config ...)"},
      {"vm", "expected a (vm ...) or (domain ...) config, got an atom"},
  };
  for (const Case& c : cases) EXPECT_EQ(ErrorOf(c.sxp), c.error) << c.sxp;
}

TEST(DomainConfigValidation, ProgrammaticConfigs) {
  DomainConfig c = FromText(kXmPv);
  EXPECT_TRUE(Validate(c).ok());
  c.uuid = "6F8D2A4E-0C1B-4A5D-9E7F-102030405060";
  EXPECT_EQ(Validate(c).message(),
            "uuid: '6F8D2A4E-0C1B-4A5D-9E7F-102030405060' is not in canonical form "
            "6f8d2a4e-0c1b-4a5d-9e7f-102030405060");
  c = FromText(kXmPv);
  c.cpus = {{0}, {5000}};
  EXPECT_EQ(Validate(c).message(), "cpus: cpu number 5000 out of range (0-4095)");
}

TEST(DomainConfigValidation, CheckFillsWhatFromSxpDrawsThenValidates) {
  DomainConfig c = FromText(kXmPv);
  c.uuid.clear();
  c.vifs[0].mac.clear();
  c.maxmem_mb = 0;
  auto valid = ValidConfig::Check(c, SeededRandomBytes(7));
  ASSERT_TRUE(valid.ok()) << valid.status().ToString();
  EXPECT_FALSE((*valid)->uuid.empty());
  EXPECT_TRUE(IsValidMac((*valid)->vifs[0].mac));
  EXPECT_EQ((*valid)->maxmem_mb, 512);
  c.vbds[1].dev = "xvda1";
  EXPECT_EQ(ValidConfig::Check(c, SeededRandomBytes(7)).status().message(),
            "vbd xvda1: the device is already defined (as xvda1)");
}

TEST(DeviceConfig, PciSpecsAsXmWritesThem) {
  auto pci = ParsePciSpec("0000:00:1b.0@8,msitranslate=1").value();
  EXPECT_EQ(pci.bus, 0);
  EXPECT_EQ(pci.slot, 0x1b);
  EXPECT_EQ(pci.vdevfn, 8 << 3);
  EXPECT_EQ(pci.key, "0000:00:1b.0@8");
  ASSERT_EQ(pci.opts.size(), 1u);
  EXPECT_EQ(pci.opts[0], std::make_pair(std::string("msitranslate"), std::string("1")));
  EXPECT_EQ(sxp::ToString(DeviceToSxp(std::vector<PciDevice>{pci})),
            "(pci (dev (domain 0x0000) (bus 0x00) (slot 0x1b) (func 0x0) (vdevfn 0x40)"
            " (key '0000:00:1b.0@8') (opts (msitranslate 1))))");
  EXPECT_EQ(ParsePciSpec("03:00.1").value().vdevfn, 0x100);
  EXPECT_EQ(ParsePciSpec("03:00.1").value().key, "03:00.1");
  EXPECT_EQ(
      ParsePciSpec("03:00.*").status().message(),
      "pci: '03:00.*': function must be one digit 0-7 (multi-function specs are not supported)");
  EXPECT_EQ(ParsePciSpec("junk").status().message(),
            "pci: 'junk': expected [DDDD:]BB:SS.F[@VSLOT][,OPT=VAL...]");
  EXPECT_EQ(
      ParsePciSpec("03:00.1,speed=9").status().message(),
      "pci 03:00.1: invalid pci option speed=9 (msitranslate, power_mgmt or managed = 0|1|yes|no)");
}

TEST(DeviceConfig, BackingPathsLikeXend) {
  EXPECT_EQ(BlockBackingPath("phy:sda1"), "/dev/sda1");
  EXPECT_EQ(BlockBackingPath("phy:/dev/vg/x"), "/dev/vg/x");
  EXPECT_EQ(BlockBackingPath("file:/img"), "/img");
  EXPECT_EQ(BlockBackingPath("tap:aio:/img"), "/img");
  EXPECT_EQ(BlockBackingPath("tap:tapdisk:qcow2:/img"), "/img");
  EXPECT_EQ(BlockBackingPath("tap2:ioemu:vhd:/img"), "/img");
}

TEST(DeviceConfig, UnknownEntriesAreKeptVerbatim) {
  auto vbd = ParseVbd(P("(vbd (uname phy:/dev/x) (dev xvda) (mode w) (protocol x86_64-abi)"
                        " (driver paravirtualised) (VDI '') (opts (a b)))"))
                 .value();
  ASSERT_EQ(vbd.extra.size(), 4u);
  EXPECT_EQ(sxp::ToString(DeviceToSxp(vbd)),
            "(vbd (uname phy:/dev/x) (dev xvda) (mode w) (bootable 0) (protocol x86_64-abi)"
            " (driver paravirtualised) (VDI '') (opts (a b)))");
}

}  // namespace
}  // namespace txend::toolstack

namespace txend::toolstack {
namespace {

TEST(DeviceConfig, VifRates) {
  for (const char* ok :
       {"10MB/s", "512Kb/s", "1GB/s", "100B/s", "5Mb/s@20ms", "5Mb/s@100us", "5Mb/s@1s"}) {
    VifConfig vif;
    vif.rate = ok;
    EXPECT_TRUE(Validate(vif).ok()) << ok;
  }
  for (const char* bad :
       {"10", "10MB", "MB/s", "10XB/s", "10MB/s@", "10MB/s@20", "10MB/s@20ks", "10MB/sx"}) {
    VifConfig vif;
    vif.rate = bad;
    EXPECT_FALSE(Validate(vif).ok()) << bad;
  }
}

// Mutated configs are either refused with a message or produce a config that
// validates and survives ToSxp -> FromSxp.
TEST(DomainConfigRobustness, MutatedConfigsNeverCrash) {
  std::mt19937 rng(77);
  const std::vector<std::string> tokens = {"(",
                                           ")",
                                           "0",
                                           "-1",
                                           "xvda",
                                           "w!",
                                           "(vcpus 600)",
                                           "(cpus (()))",
                                           "(device (vif))",
                                           "'x y'",
                                           "(image (hvm))",
                                           "99999999999999999999",
                                           "(device (pci (dev (bus 1) (slot 2) (func 3))))",
                                           "(mode r)"};
  const std::vector<std::string_view> seeds = {kXmPv, kXmHvm, kLibvirtPv, kLibvirtHvm};
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text(seeds[i % seeds.size()]);
    for (int e = 0; e < 3; ++e) {
      size_t pos = std::uniform_int_distribution<size_t>(0, text.size())(rng);
      size_t len = std::uniform_int_distribution<size_t>(0, 12)(rng);
      text.replace(pos, std::min(len, text.size() - pos),
                   tokens[std::uniform_int_distribution<size_t>(0, tokens.size() - 1)(rng)]);
    }
    auto parsed = sxp::Parse(text);
    if (!parsed.ok()) continue;
    auto config = FromSxp(*parsed, SeededRandomBytes(i));
    if (!config.ok()) {
      EXPECT_FALSE(config.status().message().empty());
      continue;
    }
    ++accepted;
    EXPECT_TRUE(Validate(*config).ok());
    ExpectRoundTrip(*config);
  }
  EXPECT_GT(accepted, 50);
}

}  // namespace
}  // namespace txend::toolstack
