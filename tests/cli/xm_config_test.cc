// xm domain config files: parsing, overrides, errors, and the (vm ...) SXP
// for the example configs in tests/cli/configs/.
#include "cli/xm_config.h"

#include <gtest/gtest.h>

#include "cli/xm_make_config.h"
#include "toolstack/config/domain_config.h"

namespace txend::xm {
namespace {

using Kind = PyValue::Kind;

const std::string kConfigs = std::string(TXEND_SOURCE_DIR) + "/tests/cli/configs/";

XmConfig ParseText(std::string_view text, const std::vector<std::string>& overrides = {}) {
  auto r = ParseXmConfigText(text, "demo.cfg", overrides);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : XmConfig();
}

std::string ParseTextError(std::string_view text, const std::vector<std::string>& overrides = {}) {
  auto r = ParseXmConfigText(text, "demo.cfg", overrides);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? "" : r.status().message();
}

PyValue ValueOf(const XmConfig& c, std::string_view name) {
  const XmSetting* s = c.Find(name);
  EXPECT_NE(s, nullptr) << name;
  return s ? s->value : PyValue();
}

std::string OriginOf(const XmConfig& c, std::string_view name) {
  const XmSetting* s = c.Find(name);
  return s ? s->origin : "(unset)";
}

// The compact (vm ...) SXP for a config file in tests/cli/configs.
std::string VmSxpOfFile(const std::string& file, const std::vector<std::string>& overrides = {},
                        const XmSxpOptions& options = {}) {
  auto config = ParseXmConfigFile(kConfigs + file, overrides);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (!config.ok()) return "";
  auto vm = MakeVmSxp(*config, options);
  EXPECT_TRUE(vm.ok()) << vm.status().ToString();
  return vm.ok() ? sxp::ToString(*vm) : "";
}

TEST(XmConfigParse, SettingsInFileOrderWithOrigins) {
  XmConfig c = ParseText("name = 'demo'\nmemory = 256\nvmid = 4\ndisk = [ 'phy:/dev/x,xvda,w' ]\n");
  ASSERT_EQ(c.settings.size(), 4u);
  EXPECT_EQ(c.settings[0].name, "name");
  EXPECT_EQ(c.settings[1].origin, "demo.cfg:2");
  EXPECT_TRUE(c.settings[1].is_option);
  EXPECT_FALSE(c.settings[2].is_option) << "vmid is a plain script variable";
  EXPECT_EQ(ValueOf(c, "disk"), PyValue::List({PyValue::Str("phy:/dev/x,xvda,w")}));
  EXPECT_TRUE(c.warnings.empty());
}

TEST(XmConfigParse, OptionValuesAreNormalised) {
  XmConfig c = ParseText(
      "memory = '256'\n"     // a string holding a number is fine for an integer option
      "vnc = 1\n"            // string options take numbers as they print
      "localtime = 'yes'\n"  // boolean options: 1/0 or yes/no
      "cpus = ['0-1', 2]\n"  // cpus may be a per-vcpu list
      "irq = [ 5 ]\n"
      "cpu_weight = 512\n");
  EXPECT_EQ(ValueOf(c, "memory"), PyValue::Int(256));
  EXPECT_EQ(ValueOf(c, "vnc"), PyValue::Str("1"));
  EXPECT_EQ(ValueOf(c, "localtime"), PyValue::Int(1));
  EXPECT_EQ(ValueOf(c, "cpus"), PyValue::List({PyValue::Str("0-1"), PyValue::Str("2")}));
  EXPECT_EQ(ValueOf(c, "irq"), PyValue::List({PyValue::Str("5")}));
}

TEST(XmConfigParse, TypeErrorsNameFileLineAndOption) {
  EXPECT_EQ(ParseTextError("name = 'x'\n\nmemory = 'lots'\n"),
            "demo.cfg:3: memory: expected an integer, got 'lots'");
  EXPECT_EQ(ParseTextError("memory = 1.5\n"), "demo.cfg:1: memory: expected an integer, got 1.5");
  EXPECT_EQ(ParseTextError("name = ['a']\n"), "demo.cfg:1: name: expected a string, got a list");
  EXPECT_EQ(ParseTextError("localtime = 'maybe'\n"),
            "demo.cfg:1: localtime: expected 1 or 0, got 'maybe'");
  EXPECT_EQ(ParseTextError("disk = 'phy:/dev/x,xvda,w'\n"),
            "demo.cfg:1: disk: expected a list of strings (write disk = [ '...' ]), got "
            "'phy:/dev/x,xvda,w'");
  EXPECT_EQ(ParseTextError("vif = [ ['nested'] ]\n"),
            "demo.cfg:1: vif: expected a list of strings, with an item, got a list");
}

TEST(XmConfigParse, ValuesXmIgnoresLeaveDefaultsAndWarn) {
  XmConfig c = ParseText("acpi = True\nvcpus = None\ndisk = ('phy:/dev/x,xvda,w',)\nflag = True\n");
  EXPECT_EQ(c.Find("acpi"), nullptr);
  EXPECT_EQ(c.Find("vcpus"), nullptr);
  EXPECT_EQ(c.Find("disk"), nullptr);
  EXPECT_EQ(ValueOf(c, "flag"), PyValue::Bool(true)) << "plain variables keep any value";
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_EQ(c.warnings[0],
            "demo.cfg:1: acpi: xm ignores bool values; acpi keeps its default (write 1/0 or a list "
            "instead)");
  EXPECT_EQ(c.warnings[1],
            "demo.cfg:3: disk: xm ignores tuple values; disk keeps its default (write 1/0 or a "
            "list instead)");
}

TEST(XmConfigParse, DefaultNameIsTheFileName) {
  auto c = ParseXmConfigText("memory = 64\n", "/etc/xen/web01.cfg");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ValueOf(*c, "name"), PyValue::Str("web01.cfg"));
  EXPECT_EQ(OriginOf(*c, "name"), "default");
  auto empty = ParseXmConfigText("name = ''\nmemory = 64\n", "web02.cfg");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(ValueOf(*empty, "name"), PyValue::Str("web02.cfg")) << "an empty name counts as none";
}

TEST(XmConfigOverrides, OptionsReplaceTheFilesValues) {
  XmConfig c =
      ParseText("name = 'fromfile'\nmemory = 128\ndisk = [ 'phy:/dev/a,xvda,w' ]\n",
                {"memory=512", "name = cli", "disk=phy:/dev/b,xvda,w", "disk=phy:/dev/c,xvdb,r"});
  EXPECT_EQ(ValueOf(c, "memory"), PyValue::Int(512));
  EXPECT_EQ(OriginOf(c, "memory"), "command line");
  EXPECT_EQ(ValueOf(c, "name"), PyValue::Str("cli")) << "VAR = VALUE is trimmed, as xm does";
  EXPECT_EQ(ValueOf(c, "disk"),
            PyValue::List({PyValue::Str("phy:/dev/b,xvda,w"), PyValue::Str("phy:/dev/c,xvdb,r")}));
}

TEST(XmConfigOverrides, OtherVariablesFeedTheFile) {
  XmConfig c = ParseText("name = 'vm%d' % vmid\nmemory = 64 * (1 + vmid)\nsize = 'big'\n",
                         {"vmid=3", "size=small"});
  EXPECT_EQ(ValueOf(c, "name"), PyValue::Str("vm3"));
  EXPECT_EQ(ValueOf(c, "memory"), PyValue::Int(256));
  EXPECT_EQ(ValueOf(c, "vmid"), PyValue::Str("3"));
  EXPECT_EQ(OriginOf(c, "vmid"), "command line");
  EXPECT_EQ(ValueOf(c, "size"), PyValue::Str("big")) << "the file may reassign a variable";
  EXPECT_EQ(OriginOf(c, "size"), "demo.cfg:3");
}

TEST(XmConfigOverrides, OptionsAreNotScriptVariables) {
  // As in xm: an option given on the command line is not visible to the file.
  EXPECT_EQ(ParseTextError("label = name\n", {"name=web"}),
            "demo.cfg:1: name 'name' is not defined (set it earlier in the file or pass "
            "name=VALUE to xm create)");
}

TEST(XmConfigOverrides, BadOverrides) {
  EXPECT_EQ(ParseTextError("", {"memory=lots"}),
            "command line: memory: expected an integer, got 'lots'");
  EXPECT_EQ(ParseTextError("", {"localtime=maybe"}),
            "command line: localtime: expected yes or no, got 'maybe'");
  EXPECT_EQ(ParseTextError("", {"vmid"}), "command line: 'vmid': expected VAR=VALUE");
  EXPECT_EQ(ParseTextError("", {"=3"}), "command line: '=3': expected VAR=VALUE");
  XmConfig c = ParseText("", {"localtime=y", "vnc=1"});
  EXPECT_EQ(ValueOf(c, "localtime"), PyValue::Int(1));
}

TEST(XmConfigFile, MissingFile) {
  auto r = ParseXmConfigFile(kConfigs + "no-such.cfg");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ENOENT);
  EXPECT_EQ(r.status().message(),
            "cannot read config file " + kConfigs + "no-such.cfg: No such file or directory");
}

TEST(XmMakeConfig, PvBasic) {
  EXPECT_EQ(
      VmSxpOfFile("pv-basic.cfg"),
      "(vm (name ExampleDomain) (memory 64) (on_xend_start ignore) (on_xend_stop ignore)"
      " (vcpus 1) (oos 1) (image (linux (kernel /boot/vmlinuz-xen) (ramdisk /boot/initrd-xen)"
      " (root '/dev/hda1 ro') (videoram 4) (args 4) (tsc_mode 0) (nomigrate 0)))"
      " (s3_integrity 1) (device (vbd (uname phy:hda1) (dev hda1) (mode w))) (device (vif)))");
}

TEST(XmMakeConfig, PvBasicWithOverrides) {
  std::string vm =
      VmSxpOfFile("pv-basic.cfg", {"name=other", "memory=256", "vcpus=2", "cpus=0-3,^1"});
  std::string prefix =
      "(vm (name other) (memory 256) (on_xend_start ignore) (on_xend_stop ignore) (vcpus 2)"
      " (cpus '0-3,^1') (oos 1) (image (linux (kernel /boot/vmlinuz-xen)";
  EXPECT_EQ(vm.substr(0, prefix.size()), prefix);
}

TEST(XmMakeConfig, PvVmidFamily) {
  EXPECT_EQ(VmSxpOfFile("pv-vmid.cfg", {"vmid=3"}),
            "(vm (name VM3) (memory 64) (on_xend_start ignore) (on_xend_stop ignore) (vcpus 4)"
            " (oos 1) (image (linux (kernel /boot/vmlinuz-xen) (ramdisk /boot/initrd-xen)"
            " (root '/dev/sda1 ro') (videoram 4) (args 'VMID=3 usr=/dev/sda6') (tsc_mode 0)"
            " (nomigrate 0))) (s3_integrity 1)"
            " (device (vbd (uname phy:sda10) (dev sda1) (mode w)))"
            " (device (vbd (uname phy:sda6) (dev sda6) (mode r)))"
            " (device (vif (mac 00:16:3e:00:00:03) (bridge xenbr0))))");
  auto missing = ParseXmConfigFile(kConfigs + "pv-vmid.cfg");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            kConfigs + "pv-vmid.cfg:10: variable 'vmid' is not set; pass vmid=VALUE to xm create");
}

TEST(XmMakeConfig, Hvm) {
  EXPECT_EQ(VmSxpOfFile("hvm.cfg"),
            "(vm (name ExampleHVMDomain) (memory 128) (on_xend_start ignore) (on_xend_stop ignore)"
            " (vcpus 1) (localtime 1) (oos 1) (image (hvm (kernel hvmloader) (videoram 4)"
            " (serial pty) (acpi 1) (apic 1) (boot dc) (actmem 0) (device_model qemu-dm)"
            " (guest_os_type default) (hap 1) (hpet 0) (isa 0) (localtime 1) (nestedhvm 0)"
            " (nographic 0) (opengl 1) (oos 1) (pae 1) (pci_msitranslate 1) (pci_power_mgmt 0)"
            " (rtc_timeoffset 0) (sdl 0) (stdvga 0) (timer_mode 1) (usb 0) (usbdevice tablet)"
            " (vcpus 1) (vnc 1) (vncunused 1) (vpt_align 1) (watchdog_action reset)"
            " (xen_platform_pci 1) (memory_sharing 0) (tsc_mode 0) (nomigrate 0)))"
            " (s3_integrity 1)"
            " (device (vbd (uname file:/var/lib/xen/images/disk.img) (dev ioemu:hda) (mode w)))"
            " (device (vbd (uname '') (dev hdc:cdrom) (mode r)))"
            " (device (vif (type ioemu) (bridge xenbr0))))");
}

// The libvirt-style HVM guest reaches the toolstack whole, and reads back equal.
TEST(XmMakeConfig, LibvirtStyleHvmGuestReadsBackEqual) {
  std::string vm = VmSxpOfFile("hvm-libvirt.cfg");
  for (std::string_view part :
       {"(image (hvm (kernel /usr/lib/xen/boot/hvmloader)", "(serial pty)", "(boot d)",
        "(device_model /usr/lib/xen/bin/qemu-dm)", "(usb 1) (usbdevice tablet)", "(viridian 1)",
        "(vnclisten 127.0.0.1)", "(keymap en-us)", "(localtime 1)",
        "(device (vbd (uname file:/srv/iso/win2k8.iso) (dev hdc:cdrom) (mode r)))",
        "(type ioemu) (model e1000)"})
    EXPECT_NE(vm.find(part), std::string::npos) << part << " in " << vm;
  auto config = toolstack::FromSxp(sxp::Parse(vm).value(), toolstack::SeededRandomBytes(1));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE((*config)->is_hvm());
  EXPECT_EQ((*config)->image.loader, "/usr/lib/xen/boot/hvmloader");
  ASSERT_EQ((*config)->vfbs.size(), 1u);
  EXPECT_EQ((*config)->vfbs[0].vnclisten, "127.0.0.1");
  auto again = toolstack::FromSxp(toolstack::ToSxp(*config), toolstack::SeededRandomBytes(2));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(**again, **config);
}

TEST(XmMakeConfig, PvhFromXlsTypeHasNoEmulatedDevices) {
  EXPECT_EQ(
      VmSxpOfFile("pvh.cfg"),
      "(vm (name pvh01) (memory 512) (tsc_mode 2) (on_xend_start ignore) (on_xend_stop ignore)"
      " (vcpus 2)"
      " (oos 1) (image (pvh (kernel /boot/vmlinuz-6.1.0-13-cloud-amd64)"
      " (ramdisk /boot/initrd.img-6.1.0-13-cloud-amd64)"
      " (args 'console=hvc0 root=/dev/xvda1 ro') (tsc_mode 2) (nomigrate 0)))"
      " (s3_integrity 1)"
      " (device (vbd (uname phy:/dev/vg0/pvh01) (dev xvda) (mode w)))"
      " (device (vif (mac 00:16:3e:00:00:21) (bridge xenbr0))))");
  auto config = toolstack::FromSxp(sxp::Parse(VmSxpOfFile("pvh.cfg")).value(),
                                   toolstack::SeededRandomBytes(1));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE((*config)->is_pvh());
}

TEST(XmConfigParse, XlNamesForTscAndTimerModes) {
  XmConfig c = ParseText("tsc_mode = 'native'\ntimer_mode = 'no_missed_ticks_pending'\n");
  EXPECT_EQ(ValueOf(c, "tsc_mode"), PyValue::Int(2));
  EXPECT_EQ(ValueOf(c, "timer_mode"), PyValue::Int(2));
  EXPECT_EQ(ValueOf(ParseText("", {"tsc_mode=always_emulate"}), "tsc_mode"), PyValue::Int(1));
  EXPECT_EQ(ParseTextError("tsc_mode = 'fast'\n"),
            "demo.cfg:1: tsc_mode: expected an integer, got 'fast'");
}

TEST(XmMakeConfig, XlTypeNamesTheBuilder) {
  auto image_of = [](std::string text) {
    auto vm = MakeVmSxp(ParseText(text));
    EXPECT_TRUE(vm.ok()) << vm.status().ToString();
    return vm.ok() ? sxp::ToString(*sxp::Child(*vm, "image")) : "";
  };
  EXPECT_EQ(image_of("type = 'pv'\nkernel = '/k'\n").rfind("(image (linux (kernel /k)", 0), 0u);
  EXPECT_EQ(image_of("type = 'hvm'\n").rfind("(image (hvm", 0), 0u);
  EXPECT_EQ(image_of("builder = 'pvh'\nkernel = '/k'\n").rfind("(image (pvh (kernel /k)", 0), 0u);
  EXPECT_EQ(image_of("builder = 'hvm'\ntype = 'hvm'\n").rfind("(image (hvm", 0), 0u);
  auto bad = MakeVmSxp(ParseText("type = 'pvhvm'\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "demo.cfg:1: type: unknown guest type 'pvhvm' (expected pv, pvh or hvm)");
  auto contradiction = MakeVmSxp(ParseText("builder = 'hvm'\ntype = 'pv'\n"));
  ASSERT_FALSE(contradiction.ok());
  EXPECT_EQ(contradiction.status().message(),
            "demo.cfg:2: type: guest type 'pv' contradicts builder 'hvm'");
}

TEST(XmMakeConfig, HvmTakesDisplayAndXauthorityFromTheEnvironment) {
  XmSxpOptions options;
  options.display = ":0";
  options.xauthority = "/root/.Xauthority";
  std::string vm = VmSxpOfFile("hvm.cfg", {}, options);
  EXPECT_NE(vm.find("(device_model qemu-dm) (display :0) (guest_os_type default)"),
            std::string::npos)
      << vm;
  EXPECT_NE(vm.find("(watchdog_action reset) (xauthority /root/.Xauthority) (xen_platform_pci 1)"),
            std::string::npos)
      << vm;
}

TEST(XmMakeConfig, PvFull) {
  XmSxpOptions options;
  options.xauthority = "/root/.Xauthority";
  std::string vm = VmSxpOfFile("pv-full.cfg", {}, options);
  EXPECT_EQ(
      vm,
      "(vm (name lab-web10) (memory 256) (maxmem 512) (on_poweroff destroy) (on_reboot restart)"
      " (on_crash coredump-restart) (on_xend_start ignore) (on_xend_stop ignore)"
      " (description 'Web front end\\nfor the lab') (vcpus 2)"
      " (uuid 3f2b6c1e-8d4a-4b7e-9c2d-5a6b7c8d9e0f) (cpus (0-1 2)) (cpu_cap 150)"
      " (cpu_weight 512) (oos 1) (bootloader /usr/lib/xen-4.17/bin/pygrub)"
      " (bootloader_args '--entry=xvda1:/boot/vmlinuz,/boot/initrd.img')"
      " (image (linux (videoram 4) (args 'console=hvc0 xencons=tty') (tsc_mode 0) (nomigrate 0)))"
      " (s3_integrity 1)"
      " (device (vbd (uname phy:/dev/vg0/lab-web10-root) (dev xvda1) (mode w)))"
      " (device (tap (uname tap:aio:/srv/xen/lab-web10-swap.img) (dev xvda2) (mode w)))"
      " (device (vbd (uname file:/srv/iso/tools.iso) (dev xvdc:cdrom) (mode r)))"
      " (device (pci (dev (domain 0x0000) (bus 0x03) (slot 0x00) (func 0x0) (vdevfn 0x100)"
      " (key 0000:03:00.0)) (dev (domain 0x0000) (bus 0x04) (slot 0x00) (func 0x1)"
      " (vdevfn 0x100) (key 04:00.1) (opts (msitranslate 1)))))"
      " (device (ioports (from 0x2f8) (to 0x2ff))) (device (irq (irq 17)))"
      " (device (vif (mac 00:16:3e:0a:00:01) (bridge xenbr0) (ip 10.0.0.10) (script vif-bridge)"
      " (vifname web10) (model e1000) (rate 10MB/s))) (device (vif))"
      " (device (vtpm (pref_instance 1) (backend 0)))"
      " (device (vkbd)) (device (vfb (vncunused 1) (vnclisten 0.0.0.0) (keymap de) (vnc 1)"
      " (xauthority /root/.Xauthority))))");
}

TEST(XmMakeConfig, ConsoleAutoconnectRunsPygrubInteractively) {
  XmSxpOptions options;
  options.console_autoconnect = true;
  options.pygrub_path = "/usr/lib/xen-4.17/bin/pygrub";
  XmConfig c = ParseText("name = 'g'\nbootloader = 'pygrub'\n");
  std::string vm = sxp::ToString(MakeVmSxp(c, options).value());
  EXPECT_NE(vm.find("(bootloader /usr/lib/xen-4.17/bin/pygrub) (bootloader_args '')"),
            std::string::npos)
      << vm;
}

TEST(XmMakeConfig, KernelCommandLineOptions) {
  XmConfig c = ParseText(
      "name = 'n'\nkernel = '/k'\nroot = 'root=/dev/nfs'\nip = '10.0.0.5'\nnetmask = '255.0.0.0'\n"
      "gateway = '10.0.0.1'\nhostname = 'n1'\nnfs_server = '10.0.0.2'\nnfs_root = '/export/n1'\n"
      "extra = 'quiet'\n");
  std::string vm = sxp::ToString(MakeVmSxp(c).value());
  EXPECT_NE(
      vm.find("(image (linux (kernel /k) (ip 10.0.0.5:10.0.0.2:10.0.0.1:255.0.0.0:n1:eth0:off)"
              " (root /dev/nfs) (videoram 4) (args 'nfsroot=10.0.0.2:/export/n1 quiet')"),
      std::string::npos)
      << vm;
  XmConfig dhcp = ParseText("name = 'n'\nkernel = '/k'\ndhcp = 'dhcp'\n");
  EXPECT_NE(sxp::ToString(MakeVmSxp(dhcp).value()).find("(ip :::::eth0:dhcp)"), std::string::npos);
  XmConfig nfs = ParseText("name = 'n'\nkernel = '/k'\nnfs_root = '/x'\n");
  EXPECT_EQ(MakeVmSxp(nfs).status().message(), "demo.cfg:3: nfs_root: needs nfs_server as well");
}

TEST(XmMakeConfig, MaxvcpusMakesAnAvailabilityMask) {
  XmConfig c = ParseText("name = 'n'\nkernel = '/k'\nvcpus = 2\nmaxvcpus = 8\n");
  EXPECT_NE(sxp::ToString(MakeVmSxp(c).value()).find("(vcpu_avail 3) (vcpus 8)"),
            std::string::npos);
}

TEST(XmMakeConfig, DeviceErrorsNameTheSetting) {
  struct Case {
    std::string text, error;
  };
  const std::vector<Case> cases = {
      {"disk = [ 'phy:/dev/x,xvda,w', 'phy:/dev/y' ]",
       "demo.cfg:1: disk: invalid disk specifier 'phy:/dev/y' (expected "
       "UNAME,DEV,MODE[,BACKEND[,PROTOCOL]])"},
      {"disk = [ 'phy:/dev/x,xvda,rw' ]",
       "demo.cfg:1: disk: vbd xvda: mode 'rw': expected r, w or w!"},
      {"disk = [ 'tap:vmdk2:/x.img,xvda,w' ]",
       "demo.cfg:1: disk: vbd xvda: uname 'tap:vmdk2:/x.img': unknown blktap disk type 'vmdk2'"},
      {"vif = [ 'bridge' ]",
       "demo.cfg:1: vif: 'bridge' should be a pair, separated by an equals sign"},
      {"vif = [ 'mac=00:16:3e:00:00:01, colour=blue' ]",
       "demo.cfg:1: vif: invalid vif option 'colour'"},
      {"vif = [ 'mac=00:16:3e:00:00' ]",
       "demo.cfg:1: vif: mac '00:16:3e:00:00': expected six hex pairs like 00:16:3e:12:34:56"},
      {"vfb = [ 'type=vnc, size=big' ]",
       "demo.cfg:1: vfb: configuration option 'size' unknown to vfbs"},
      {"pci = [ '03:00.*' ]",
       "demo.cfg:1: pci: '03:00.*': function must be one digit 0-7 (multi-function specs are not "
       "supported)"},
      {"ioports = [ 'zz' ]",
       "demo.cfg:1: ioports: invalid i/o port range 'zz' (expected hex FROM[-TO])"},
      {"irq = [ 'x' ]", "demo.cfg:1: irq: expected an interrupt number, got 'x'"},
      {"vtpm = [ 'instance=0' ]", "demo.cfg:1: vtpm: instance must not be 0"},
      {"vtpm = [ 'colour=1' ]", "demo.cfg:1: vtpm: invalid vtpm specifier 'colour=1'"},
      {"vscsi = [ '/dev/sdb,0:0:0:0' ]", "demo.cfg:1: vscsi: not supported by txend's xm"},
      {"builder = 'bsd'",
       "demo.cfg:1: builder: unknown builder 'bsd' (expected linux, hvm or pvh)"},
      {"maxvcpus = 'many'", "demo.cfg:1: maxvcpus: expected an integer, got 'many'"},
  };
  for (const Case& c : cases) {
    XmConfig config = ParseText(c.text + "\n");
    auto vm = MakeVmSxp(config);
    ASSERT_FALSE(vm.ok()) << c.text;
    EXPECT_EQ(vm.status().message(), c.error) << c.text;
  }
}

TEST(XmConfigFile, BadConfigsFailWithFileLineAndOption) {
  struct Case {
    std::string file, error;
  };
  const std::vector<Case> cases = {
      {"memory-not-a-number.cfg", ":4: memory: expected an integer, got 'lots'"},
      {"unterminated-string.cfg", ":2: EOL while scanning string literal"},
      {"unclosed-list.cfg", ":3: '[' is never closed"},
      {"if-statement.cfg",
       ":4: unsupported Python construct 'if' (xm config files here are assignments of values)"},
      {"undefined-variable.cfg",
       ":3: name 'vmid' is not defined (set it earlier in the file or pass vmid=VALUE to xm "
       "create)"},
      {"disk-too-few-fields.cfg",
       ":4: disk: invalid disk specifier 'phy:/dev/vg0/bad,xvda' (expected "
       "UNAME,DEV,MODE[,BACKEND[,PROTOCOL]])"},
      {"disk-bad-mode.cfg", ":4: disk: vbd xvda: mode 'rw': expected r, w or w!"},
      {"disk-not-a-list.cfg",
       ":4: disk: expected a list of strings (write disk = [ '...' ]), got "
       "'phy:/dev/vg0/bad,xvda,w'"},
      {"vif-unknown-key.cfg", ":4: vif: invalid vif option 'colour'"},
      {"unexpected-indent.cfg", ":3: unexpected indent (statements must start in column 1)"},
      {"function-call.cfg",
       ":3: attribute access (os.NAME) is not supported in xm config files here"},
      {"unknown-builder.cfg", ":4: builder: unknown builder 'bsd' (expected linux, hvm or pvh)"},
      {"format-type-error.cfg", ":3: TypeError: %d format: a number is required, not str"},
      {"missing-vmid.cfg", ":3: variable 'vmid' is not set; pass vmid=VALUE to xm create"},
  };
  for (const Case& c : cases) {
    std::string path = kConfigs + "bad/" + c.file;
    auto config = ParseXmConfigFile(path);
    Status st = config.ok() ? MakeVmSxp(*config).status() : config.status();
    ASSERT_FALSE(st.ok()) << c.file;
    EXPECT_EQ(st.code(), EINVAL);
    EXPECT_EQ(st.message(), path + c.error) << c.file;
  }
}

// xm's SXP must be acceptable to the toolstack, as xend accepted it.
TEST(XmEndToEnd, ExampleConfigsBecomeValidDomainConfigs) {
  auto random = toolstack::SeededRandomBytes(11);
  struct Case {
    std::string file;
    std::vector<std::string> overrides;
  };
  for (const Case& c : std::vector<Case>{{"pv-basic.cfg", {}},
                                         {"pv-vmid.cfg", {"vmid=2"}},
                                         {"hvm.cfg", {}},
                                         {"pv-full.cfg", {}}}) {
    auto config = ParseXmConfigFile(kConfigs + c.file, c.overrides);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    auto vm = MakeVmSxp(*config);
    ASSERT_TRUE(vm.ok()) << vm.status().ToString();
    auto domain = toolstack::FromSxp(*vm, random);
    ASSERT_TRUE(domain.ok()) << c.file << ": " << domain.status().ToString();
    EXPECT_FALSE((*domain)->name.empty());
  }
  auto hvm = toolstack::FromSxp(MakeVmSxp(ParseXmConfigFile(kConfigs + "hvm.cfg").value()).value(),
                                random);
  ASSERT_TRUE(hvm.ok());
  EXPECT_EQ((*hvm)->image.loader, "hvmloader");
  EXPECT_EQ((*hvm)->vbds[1].dev, "hdc:cdrom");
  EXPECT_EQ((*hvm)->vfbs.size(), 1u);
  auto full = toolstack::FromSxp(
      MakeVmSxp(ParseXmConfigFile(kConfigs + "pv-full.cfg").value()).value(), random);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ((*full)->cpus, (std::vector<std::vector<int>>{{0, 1}, {2}}));
  EXPECT_EQ((*full)->pci.size(), 2u);
  EXPECT_EQ((*full)->vifs.size(), 2u);
  EXPECT_EQ((*full)->other_devices.size(), 4u) << "ioports, irq, vtpm, vkbd";
  EXPECT_EQ((*full)->description, "Web front end\nfor the lab");
}

}  // namespace
}  // namespace txend::xm
