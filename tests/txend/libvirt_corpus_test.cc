// The configs libvirt users really define, driven the way libvirt's xend
// driver drives xend (tests/support/libvirt_driver.h: its request bytes, its
// SXP reader, its re-send of a reply): for each config, define it, read it
// back, define it again from what was read, toggle autostart (libvirt re-sends
// the whole reply), start it, read it back while it runs, and compare each
// time with what was defined.
#include <gtest/gtest.h>

#include "tests/support/guest_disk.h"
#include "tests/support/libvirt_driver.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

// One corpus entry: a domain definition, and whether this host can run it.
struct CorpusEntry {
  LvDomain def;
  bool runs = true;
};

std::string Describe(const LvDomain& d) { return LvFormatVm(d); }

LvDomain Base(const std::string& name, int n) {
  LvDomain d;
  d.name = name;
  char uuid[40];
  snprintf(uuid, sizeof uuid, "4dea22b3-1d52-d8f3-2516-%012llx",
           0x782e98ab3f00ull + static_cast<unsigned>(n));
  d.uuid = uuid;
  d.max_kib = d.cur_kib = 128 * 1024;
  return d;
}

LvDisk Disk(std::string driver, std::string src, std::string dst) {
  LvDisk disk;
  disk.driver = std::move(driver);
  disk.src = std::move(src);
  disk.dst = std::move(dst);
  return disk;
}

LvNet Bridged(std::string mac) {
  LvNet net;
  net.mac = std::move(mac);
  net.bridge = "xenbr0";
  net.script = "vif-bridge";
  return net;
}

class LibvirtCorpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    auto disk = WriteGuestDisk(StandardGuestDisk(1), stack_->path("guest.img"));
    ASSERT_TRUE(disk.ok()) << disk.status().ToString();
    guest_disk_ = *disk;
  }
  LvDriver Driver() { return LvDriver(stack_->client()); }

  std::vector<CorpusEntry> Corpus() const {
    std::vector<CorpusEntry> corpus;
    // virt-install's kernel-booted PV guest: every image field, two disks,
    // a bridged vif with everything libvirt writes.
    LvDomain kernel = Base("pv-kernel", 1);
    kernel.description = "Web front end (lab 2)";
    kernel.max_kib = 512 * 1024;
    kernel.cur_kib = 256 * 1024;
    kernel.vcpus_max = 4;
    kernel.vcpus = 2;
    kernel.kernel = stack_->kernel();
    kernel.initrd = stack_->kernel();
    kernel.root = "/dev/xvda1 ro";
    kernel.cmdline = "console=hvc0 quiet";
    kernel.on_reboot = "restart";
    kernel.on_crash = "coredump-restart";
    kernel.localtime = true;
    kernel.disks = {Disk("phy", "/dev/vg0/pv-kernel", "xvda"),
                    Disk("file", "/srv/xen/pv-kernel-data.img", "xvdb")};
    LvNet web = Bridged("00:16:3e:79:86:8d");
    web.ip = "10.0.0.5";
    web.ifname = "web0";
    web.model = "netfront";
    web.rate_kbytes = 10240;
    kernel.nets = {web};
    corpus.push_back({kernel});

    // RHEL 5 / Debian etch: pygrub reads the guest's own disk.
    LvDomain pygrub = Base("pv-pygrub", 2);
    pygrub.bootloader = "/usr/bin/pygrub";
    pygrub.bootloader_args = "-q";
    pygrub.disks = {Disk("file", guest_disk_, "xvda")};
    pygrub.nets = {Bridged("00:16:3e:00:00:02")};
    corpus.push_back({pygrub});

    // <bootloader/>: xend's default bootloader, pygrub, with its menu.
    LvDomain default_bl = Base("pv-default-bootloader", 3);
    default_bl.bootloader = "";
    default_bl.disks = {Disk("file", guest_disk_, "xvda")};
    corpus.push_back({default_bl});

    // A bootloader with kernel arguments: (image (linux (args ..))) and no kernel.
    LvDomain args = Base("pv-bootloader-args", 4);
    args.bootloader = "/usr/bin/pygrub";
    args.bootloader_args = "-q --entry=1";
    args.cmdline = "console=hvc0";
    args.disks = {Disk("tap", guest_disk_, "xvda")};
    args.disks[0].format = "raw";
    corpus.push_back({args});

    // PXE: a bootloader this host does not have; defined, not run.
    LvDomain pxe = Base("pv-pypxeboot", 5);
    pxe.bootloader = "/usr/bin/pypxeboot";
    pxe.bootloader_args = "mac=AA:00:86:e2:35:72";
    pxe.disks = {Disk("file", "/root/some.img", "xvda")};
    pxe.nets = {Bridged("aa:00:86:e2:35:72")};
    corpus.push_back({pxe, false});

    // Every kind of disk libvirt writes: blktap (raw and qcow2), blktap2, a
    // shareable one (w!), a read-only one and a CD-ROM with media.
    LvDomain disks = Base("pv-disks", 6);
    disks.kernel = stack_->kernel();
    LvDisk qcow = Disk("tap", "/var/lib/xen/data.qcow2", "xvdb");
    qcow.format = "qcow2";
    LvDisk tap2 = Disk("tap2", "/var/lib/xen/t2.img", "xvdc");
    tap2.format = "raw";
    LvDisk shared = Disk("phy", "/dev/vg0/cluster", "xvdd");
    shared.shareable = true;
    LvDisk ro = Disk("file", "/srv/ro.img", "xvde");
    ro.readonly = true;
    LvDisk cdrom = Disk("file", "/srv/iso/install.iso", "xvdf");
    cdrom.cdrom = true;
    cdrom.readonly = true;
    LvDisk root = Disk("tap", "/var/lib/xen/root.img", "xvda");
    root.format = "raw";
    disks.disks = {root, qcow, tap2, shared, ro, cdrom};
    corpus.push_back({disks});

    // Framebuffers: VNC on a fixed display, and an ethernet (routed) vif.
    LvDomain vnc = Base("pv-vnc", 7);
    vnc.kernel = stack_->kernel();
    vnc.on_poweroff = "preserve";
    vnc.on_reboot = "rename-restart";
    vnc.on_crash = "coredump-destroy";
    LvGraphics g;
    g.autoport = false;
    g.port = 5901;
    g.listen = "127.0.0.1";
    g.passwd = "secret";
    g.keymap = "en-us";
    vnc.graphics = g;
    LvNet routed;
    routed.mac = "00:16:3e:00:00:07";
    routed.script = "vif-route";
    routed.ip = "192.168.7.7";
    vnc.nets = {routed};
    corpus.push_back({vnc});

    LvDomain sdl = Base("pv-sdl", 8);
    sdl.kernel = stack_->kernel();
    LvGraphics s;
    s.type = "sdl";
    s.display = ":0.0";
    s.xauth = "/root/.Xauthority";
    sdl.graphics = s;
    corpus.push_back({sdl});

    // PCI passthrough: defined here; this host has no devices to give.
    LvDomain pci = Base("pv-pci", 9);
    pci.kernel = stack_->kernel();
    pci.pci = {{0, 0, 0x1b, 0}, {0, 3, 0, 1}};
    corpus.push_back({pci, false});
    return corpus;
  }

  // The definition libvirt reads back for `name`, after `what`.
  void ExpectReadBack(const LvDomain& def, const std::string& what) {
    auto fetched = Driver().Fetch(def.name);
    ASSERT_TRUE(fetched.ok()) << def.name << " after " << what << ": "
                              << fetched.status().ToString();
    LvDomain expected = RootInCommandLine(def), got = RootInCommandLine(LvDefinition(*fetched));
    EXPECT_EQ(LvFormatVm(got), LvFormatVm(expected)) << def.name << " after " << what;
    EXPECT_EQ(got, expected) << def.name << " after " << what;
  }

  // xend (update_with_image_sxp) puts (root R) in front of the kernel command
  // line and prints only (args 'root=R ...'); libvirt then reads <cmdline> with
  // root= in it and no <root>: the same kernel command line, defined again as is.
  static LvDomain RootInCommandLine(LvDomain def) {
    if (!def.root) return def;
    def.cmdline = "root=" + *def.root + (def.cmdline ? " " + *def.cmdline : "");
    def.root.reset();
    return def;
  }

  std::unique_ptr<TxendStack> stack_;
  std::string guest_disk_;
};

TEST_F(LibvirtCorpusTest, DefineReadBackRedefineAutostart) {
  for (const CorpusEntry& entry : Corpus()) {
    const LvDomain& def = entry.def;
    LvDriver driver = Driver();
    ASSERT_TRUE(driver.Define(def).ok()) << Describe(def);
    ExpectReadBack(def, "define");
    auto fetched = driver.Fetch(def.name);
    ASSERT_TRUE(fetched.ok());
    // libvirt's next define is what it read: autostart, virsh edit, migrate --persistent.
    EXPECT_TRUE(driver.Define(*fetched).ok()) << def.name;
    ExpectReadBack(def, "a define of what was read");
    Status autostart = driver.SetAutostart(def.name, true);
    EXPECT_TRUE(autostart.ok()) << def.name << ": " << autostart.ToString();
    auto raw = driver.FetchSexpr(def.name);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(LvNode(*raw, "domain/on_xend_start"), "start") << def.name;
    ExpectReadBack(def, "autostart's re-sent reply");
    EXPECT_TRUE(driver.SetAutostart(def.name, false).ok()) << def.name;
  }
}

TEST_F(LibvirtCorpusTest, StartedDomainsReadBackAsDefined) {
  for (const CorpusEntry& entry : Corpus()) {
    if (!entry.runs) continue;
    const LvDomain& def = entry.def;
    LvDriver driver = Driver();
    ASSERT_TRUE(driver.Define(def).ok()) << Describe(def);
    Status started = driver.Start(def.name);
    ASSERT_TRUE(started.ok()) << def.name << ": " << started.ToString();
    auto running = driver.Fetch(def.name);
    ASSERT_TRUE(running.ok()) << running.status().ToString();
    EXPECT_GT(running->id, 0) << def.name;
    ExpectReadBack(def, "start");
    // Autostart of a running domain re-sends its whole running reply (domid, state, ...).
    EXPECT_TRUE(driver.SetAutostart(def.name, true).ok()) << def.name;
    ExpectReadBack(def, "autostart while running");
    EXPECT_TRUE(driver.Destroy(def.name).ok()) << def.name;
    ExpectReadBack(def, "destroy");
    EXPECT_TRUE(driver.Undefine(def.name).ok()) << def.name;
    EXPECT_EQ(driver.Fetch(def.name).status().code(), ESRCH) << def.name;
  }
}

TEST_F(LibvirtCorpusTest, TransientCreateReadsBackAsDefined) {
  for (const CorpusEntry& entry : Corpus()) {
    if (!entry.runs) continue;
    const LvDomain& def = entry.def;
    LvDriver driver = Driver();
    Status created = driver.CreateXml(def);
    ASSERT_TRUE(created.ok()) << def.name << ": " << created.ToString();
    ExpectReadBack(def, "create");
    // virsh dumpxml | virsh define: a running transient domain becomes managed.
    auto fetched = driver.Fetch(def.name);
    ASSERT_TRUE(fetched.ok());
    EXPECT_TRUE(driver.Define(*fetched).ok()) << def.name;
    ExpectReadBack(def, "define of the running domain");
    EXPECT_TRUE(driver.Destroy(def.name).ok()) << def.name;
    EXPECT_TRUE(driver.Undefine(def.name).ok()) << def.name;
  }
}

// virsh attach-disk, change-media and detach-disk on a running guest: the
// device ops with the refs libvirt finds in xenstore (a disk's device number).
TEST_F(LibvirtCorpusTest, DiskHotplugReadsBackAsDone) {
  LvDomain def = Base("pv-hotplug", 20);
  def.kernel = stack_->kernel();
  def.disks = {Disk("phy", "/dev/vg0/pv-hotplug", "xvda")};
  LvDriver driver = Driver();
  ASSERT_TRUE(driver.CreateXml(def).ok());

  LvDisk data = Disk("file", "/srv/xen/pv-hotplug-data.img", "xvdc");
  Status attached = driver.AttachDisk(def.name, data);
  ASSERT_TRUE(attached.ok()) << attached.ToString();
  LvDisk cdrom = Disk("file", "/srv/iso/one.iso", "xvdd");
  cdrom.cdrom = cdrom.readonly = true;
  ASSERT_TRUE(driver.AttachDisk(def.name, cdrom).ok());
  def.disks.push_back(data);
  def.disks.push_back(cdrom);
  ExpectReadBack(def, "attach-disk");

  cdrom.src = "/srv/iso/two.iso";  // virsh change-media: update-device
  Status changed = driver.UpdateDisk(def.name, cdrom, "51760");
  ASSERT_TRUE(changed.ok()) << changed.ToString();
  def.disks.back() = cdrom;
  ExpectReadBack(def, "change-media");

  Status detached = driver.DetachDisk(def.name, "vbd", "51744");
  ASSERT_TRUE(detached.ok()) << detached.ToString();
  def.disks.erase(def.disks.begin() + 1);
  ExpectReadBack(def, "detach-disk");
  EXPECT_TRUE(driver.Destroy(def.name).ok());
}

TEST_F(LibvirtCorpusTest, BootloaderThatIsNotHereIsAClearError) {
  LvDomain pxe;
  for (const CorpusEntry& entry : Corpus())
    if (entry.def.name == "pv-pypxeboot") pxe = entry.def;
  Status created = Driver().CreateXml(pxe);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.message().find("bootloader /usr/bin/pypxeboot: No such file or directory"),
            std::string::npos)
      << created.message();
}

}  // namespace
}  // namespace txend::testing
