// The device model's command line as libxl builds it for qemu-system-xen, and
// xend's names for hvmloader and qemu-dm mapped to what Debian installs.
#include "toolstack/devicemodel/qemu_command.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace txend::toolstack {
namespace {

DomainConfig FromText(std::string_view text) {
  auto r = FromSxp(sxp::Parse(text).value(), SeededRandomBytes(7));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : DomainConfig();
}

// "-flag value" pairs and bare flags joined by spaces, for readable expectations.
std::string Joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

TEST(DeviceModelPaths, XendNamesMapToDebiansFiles) {
  DeviceModelOptions o;
  EXPECT_EQ(ResolveFirmware("", o), "/usr/lib/xen-4.17/boot/hvmloader");
  EXPECT_EQ(ResolveFirmware("hvmloader", o), "/usr/lib/xen-4.17/boot/hvmloader");
  EXPECT_EQ(ResolveFirmware("/usr/lib/xen/boot/hvmloader", o), "/usr/lib/xen-4.17/boot/hvmloader");
  EXPECT_EQ(ResolveFirmware("/usr/lib64/xen/boot/hvmloader", o),
            "/usr/lib/xen-4.17/boot/hvmloader");
  EXPECT_EQ(ResolveFirmware("/srv/fw/my-hvmloader", o), "/srv/fw/my-hvmloader");
  EXPECT_EQ(ResolveDeviceModel("", o), "/usr/libexec/xen-qemu-system-i386");
  EXPECT_EQ(ResolveDeviceModel("qemu-dm", o), "/usr/libexec/xen-qemu-system-i386");
  EXPECT_EQ(ResolveDeviceModel("/usr/lib/xen/bin/qemu-dm", o), "/usr/libexec/xen-qemu-system-i386");
  EXPECT_EQ(ResolveDeviceModel("/usr/lib64/xen/bin/qemu-dm", o),
            "/usr/libexec/xen-qemu-system-i386");
  EXPECT_EQ(ResolveDeviceModel("qemu-system-xen", o), "/usr/libexec/xen-qemu-system-i386");
  EXPECT_EQ(ResolveDeviceModel("/opt/qemu/bin/qemu-dm", o), "/opt/qemu/bin/qemu-dm")
      << "another directory is someone's own build";
}

TEST(QemuCommand, LibvirtHvmGuest) {
  DomainConfig c = FromText(
      "(vm (name win) (memory 1024) (vcpus 2) (vcpu_avail 1) (image (hvm (kernel hvmloader)"
      " (boot dc) (usb 1) (usbdevice tablet) (serial pty) (localtime 1) (keymap de)"
      " (vnc 1) (vncunused 1) (vnclisten 0.0.0.0) (vncpasswd s3cret) (soundhw hda)))"
      " (device (vbd (uname phy:/dev/vg/win) (dev hda) (mode w)))"
      " (device (vbd (uname file:/iso/install.iso) (dev hdc:cdrom) (mode r)))"
      " (device (vbd (dev hdd:cdrom) (mode r)))"
      " (device (vbd (uname phy:/dev/vg/data) (dev xvdb) (mode w)))"
      " (device (vif (mac 00:16:3e:00:00:01) (bridge xenbr1) (type ioemu) (model e1000)))"
      " (device (vif (mac 00:16:3e:00:00:02) (type netfront))))");
  DeviceModelOptions o;
  o.run_dir = "/run/x";
  o.xenstored_path = "/run/xs";
  QemuCommand q = BuildQemuCommand(7, c, o, -1);
  EXPECT_EQ(Joined(q.argv),
            "/usr/libexec/xen-qemu-system-i386 -xen-domid 7 -no-shutdown"
            " -chardev socket,id=libxl-cmd,path=/run/x/qmp-libxl-7,server=on,wait=off"
            " -mon chardev=libxl-cmd,mode=control -nodefaults -no-user-config -name win"
            " -vnc 0.0.0.0:0,password=on,to=99 -display none -k de"
            " -device cirrus-vga,vgamem_mb=8 -serial pty -usb -usbdevice tablet"
            " -device intel-hda -device hda-duplex -boot order=dc -smp 1,maxcpus=2"
            " -device e1000,id=nic0,netdev=net0,mac=00:16:3e:00:00:01"
            " -netdev type=tap,id=net0,ifname=vif7.0-emu,br=xenbr1,script=no,downscript=no"
            " -machine xenfv,suppress-vmdesc=on -m 1016"
            " -drive file=/dev/vg/win,if=ide,index=0,media=disk,format=raw,cache=writeback"
            " -drive if=none,readonly=on,id=ide-5632,file=/iso/install.iso,format=raw"
            " -device ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0"
            " -drive if=none,readonly=on,id=ide-5696"
            " -device ide-cd,id=ide-5696,drive=ide-5696,bus=ide.1,unit=1");
  EXPECT_EQ(q.env, (std::vector<std::string>{"XEN_DOMAIN_ID=7", "XENSTORED_PATH=/run/xs"}));
}

TEST(QemuCommand, PlatformSwitchesRestoreAndNoVnc) {
  DomainConfig c = FromText(
      "(vm (name h) (memory 256) (image (hvm (acpi 0) (stdvga 1) (videoram 32)"
      " (xen_platform_pci 0) (nographic 1) (device_model /opt/q/qemu))))");
  QemuCommand q = BuildQemuCommand(3, c, DeviceModelOptions{}, 9);
  std::string line = Joined(q.argv);
  EXPECT_EQ(q.argv[0], "/opt/q/qemu");
  for (std::string_view part :
       {" -vnc none -display none -nographic -device VGA,vgamem_mb=32 ", " -no-acpi ",
        " -incoming fd:9 -machine pc,accel=xen,suppress-vmdesc=on -m 224"})
    EXPECT_NE(line.find(part), std::string::npos) << part << " in " << line;
  EXPECT_EQ(line.find("-smp"), std::string::npos) << "one vcpu: no -smp";
}

TEST(QemuCommand, VideoMemoryHasQemuXensMinimum) {
  HvmConfig hvm;
  hvm.videoram_mib = 4;
  EXPECT_EQ(VideoMemoryMib(hvm), 8);
  hvm.stdvga = true;
  EXPECT_EQ(VideoMemoryMib(hvm), 16);
  hvm.videoram_mib = 64;
  EXPECT_EQ(VideoMemoryMib(hvm), 64);
}

}  // namespace
}  // namespace txend::toolstack
