// HVM and PVH guests through txend's HTTP API, as libvirt's xend driver and
// `xm create` drive them: configs accepted and read back equal (libvirt reads
// image/hvm/...), unsupported keys refused by name.
#include <poll.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "base/numbers.h"
#include "base/unique_fd.h"
#include "sxp/sxp.h"
#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/small_filesystem.h"
#include "tests/support/sockets.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"
#include "wire/wire.h"

namespace txend::testing {
namespace {

// What libvirt's xend driver POSTs for a fully virtualised guest: CD-ROM boot,
// VNC, an ioemu NIC with a model, a USB tablet, serial on a pty, local time.
std::string LibvirtHvmConfig(const std::string& name) {
  return "(vm (name '" + name +
         "')(memory 64)(maxmem 64)(vcpus 1)(uuid 'c7a5fdbd-edaf-9455-926a-d65c16db1809')"
         "(on_poweroff 'destroy')(on_reboot 'restart')(on_crash 'restart')"
         "(image (hvm (kernel '/usr/lib/xen/boot/hvmloader')(vcpus 1)(boot d)(acpi 1)(apic 1)"
         "(pae 1)(usb 1)(usbdevice tablet)(parallel none)(serial pty)"
         "(device_model '/usr/lib/xen/bin/qemu-dm')(vnc 1)(vncunused 1)(vnclisten '127.0.0.1')"
         "(rtc_timeoffset 0)(localtime 1)))(localtime 1)"
         "(device (vbd (dev 'hda:disk')(uname 'file:/var/lib/xen/images/" +
         name +
         ".img')(mode 'w')))"
         "(device (vbd (dev 'hdc:cdrom')(mode 'r')))"
         "(device (vif (mac '00:16:3e:11:22:33')(bridge 'xenbr0')(script 'vif-bridge')"
         "(type ioemu)(model 'e1000'))))";
}

constexpr std::chrono::seconds kWait{10};

// The RFB server greeting and, after security type None, the ServerInit's name.
std::string VncHandshake(uint16_t port) {
  UniqueFd fd(DialTcp(port));
  if (!fd) return "no connection";
  auto read_n = [&](size_t n) {
    std::string out;
    while (out.size() < n) {
      pollfd p{fd.get(), POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return out;
      char c[256];
      ssize_t got = read(fd.get(), c, std::min(sizeof c, n - out.size()));
      if (got <= 0) return out;
      out.append(c, static_cast<size_t>(got));
    }
    return out;
  };
  std::string version = read_n(12);
  SendAll(fd.get(), "RFB 003.008\n");
  std::string types = read_n(2);  // count 1, type 1 (None)
  SendAll(fd.get(), std::string("\x01", 1));
  std::string result = read_n(4);
  SendAll(fd.get(), std::string("\x01", 1));  // ClientInit: shared
  std::string init = read_n(24);
  if (init.size() < 24) return version + "|short ServerInit";
  uint32_t len = ntohl(*reinterpret_cast<const uint32_t*>(init.data() + 20));
  return version + "|" + std::to_string(types.size()) + "|" + read_n(len);
}

class HvmApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }
  void Start(std::vector<std::string> extra_args) {
    TxendStack::Options options;
    options.extra_args = std::move(extra_args);
    auto s = TxendStack::Start(options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    auto xs = xs::Connection::Open(stack_->xs_socket());
    ASSERT_TRUE(xs.ok()) << xs.status().ToString();
    xs_ = std::move(*xs);
  }
  std::string Read(const std::string& path) {
    auto v = xs_->Call(wire::MsgType::kRead, 0, wire::JoinFields({path}));
    return v.ok() ? *v : "(" + v.status().message() + ")";
  }
  // Creates and unpauses; the domain id.
  std::string CreateRunning(const std::string& config) {
    auto created = Post("/xend/domain/", {{"op", "create"}, {"config", config}});
    EXPECT_EQ(created.status, 201) << created.body;
    std::string domid = sxp::ChildValue(created.sxp, "domid");
    EXPECT_FALSE(domid.empty()) << created.body;
    std::string name = sxp::ChildValue(created.sxp, "name");
    EXPECT_EQ(Post("/xend/domain/" + name, {{"op", "unpause"}}).status, 200);
    return domid;
  }
  std::string DmLog(const std::string& name) {
    return ReadFile(stack_->path("state/log/qemu-dm-" + name + ".log"));
  }
  std::unique_ptr<xs::Connection> xs_;
  XendReply Get(const std::string& path) { return stack_->client().Get(path); }
  XendReply Post(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& form) {
    return stack_->client().Post(path, form);
  }
  std::unique_ptr<TxendStack> stack_;
};

std::string WithVnc(std::string config, const std::string& vnc) {
  size_t at = config.find("(vnc 1)(vncunused 1)");
  return config.replace(at, 20, vnc);
}

// The image values libvirt's xenParseSxpr reads, from GET ...?detail=1.
TEST_F(HvmApiTest, LibvirtHvmConfigDefinedAndReadBackEqual) {
  ASSERT_EQ(Post("/xend/domain/", {{"op", "new"}, {"config", LibvirtHvmConfig("lvhvm")}}).status,
            200);
  auto first = Get("/xend/domain/lvhvm?detail=1");
  ASSERT_EQ(first.status, 200) << first.body;
  const sxp::Value* image = sxp::Child(first.sxp, "image");
  ASSERT_NE(image, nullptr) << first.body;
  const sxp::Value* hvm = sxp::Child(*image, "hvm");
  ASSERT_NE(hvm, nullptr) << first.body;
  EXPECT_EQ(sxp::ChildValue(*hvm, "loader"), "/usr/lib/xen/boot/hvmloader");
  EXPECT_EQ(sxp::ChildValue(*hvm, "device_model"), "/usr/lib/xen/bin/qemu-dm");
  EXPECT_EQ(sxp::ChildValue(*hvm, "boot"), "d");
  EXPECT_EQ(sxp::ChildValue(*hvm, "usbdevice"), "tablet");
  EXPECT_EQ(sxp::ChildValue(*hvm, "serial"), "pty");
  EXPECT_EQ(sxp::ChildValue(*hvm, "localtime"), "1");
  EXPECT_EQ(sxp::ChildValue(*hvm, "vnc"), "1");
  std::string text = sxp::ToString(first.sxp);
  EXPECT_NE(text.find("(vif (mac 00:16:3e:11:22:33) (bridge xenbr0) (script vif-bridge)"
                      " (model e1000) (type ioemu))"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(vbd (dev hdc:cdrom) (mode r)"), std::string::npos) << text;
  EXPECT_NE(text.find("(vfb (type vnc) (vnc 1) (vncunused 1) (vnclisten 127.0.0.1)"),
            std::string::npos)
      << text;

  // What was read back, defined again under another name, reads back the same.
  ASSERT_EQ(Post("/xend/domain/lvhvm", {{"op", "delete"}}).status, 202);
  ASSERT_EQ(Post("/xend/domain/", {{"op", "new"}, {"config", text}}).status, 200);
  EXPECT_EQ(sxp::ToString(Get("/xend/domain/lvhvm?detail=1").sxp), text);
}

TEST_F(HvmApiTest, UnsupportedImageKeysAreRefusedByName) {
  struct Case {
    std::string image, error;
  } cases[] = {
      {"(hvm (kernel hvmloader) (floppy /f))", "unknown HVM option \\'floppy\\'"},
      {"(hvm (kernel hvmloader) (gfx_passthru 1))", "gfx_passthru 1 is not supported by txend"},
      {"(hvm (kernel hvmloader) (vncdisplay 99999))", "vncdisplay: 99999 is out of range"},
      {"(pvh (kernel /k) (vnc 1))", "does not apply to a PVH guest"},
  };
  for (const Case& c : cases) {
    auto reply =
        Post("/xend/domain/",
             {{"op", "create"}, {"config", "(vm (name bad) (memory 64) (image " + c.image + "))"}});
    EXPECT_EQ(reply.status, 500) << c.image;
    EXPECT_NE(reply.body.find(c.error), std::string::npos) << c.image << ": " << reply.body;
  }
  EXPECT_EQ(Get("/xend/domain/bad").status, 404);
}

// virsh create of the libvirt config: hvmloader and qemu-dm by xend's names,
// the simulated device model running, VNC answering, xm list -l showing it.
TEST_F(HvmApiTest, HvmGuestRunsWithADeviceModelAndVnc) {
  std::string domid = CreateRunning(LibvirtHvmConfig("win"));
  ASSERT_FALSE(domid.empty());
  EXPECT_EQ(Read("/local/domain/0/device-model/" + domid + "/state"), "running");
  std::string port = Read("/local/domain/" + domid + "/console/vnc-port");
  auto port_number = ParseInteger<uint16_t>(port);
  ASSERT_TRUE(port_number.ok()) << port;
  EXPECT_GE(*port_number, 5900);
  EXPECT_EQ(Read("/local/domain/" + domid + "/console/vnc-listen"), "127.0.0.1");
  EXPECT_EQ(Read("/local/domain/" + domid + "/hvmloader/bios"), "seabios")
      << "Debian's hvmloader has no ROMBIOS, its default";
  EXPECT_EQ(Read("/local/domain/" + domid + "/platform/acpi"), "1");
  EXPECT_EQ(VncHandshake(*port_number), "RFB 003.008\n|2|win");

  auto detail = Get("/xend/domain/win?detail=1");
  std::string text = sxp::ToString(detail.sxp);
  EXPECT_NE(text.find("(location 127.0.0.1:" + port + ")"), std::string::npos) << text;
  EXPECT_EQ(sxp::ChildValue(detail.sxp, "domid"), domid);

  std::string log = DmLog("win");
  EXPECT_NE(log.find("-xen-domid " + domid), std::string::npos) << log;
  EXPECT_NE(log.find("running"), std::string::npos) << log;

  ASSERT_EQ(Post("/xend/domain/win", {{"op", "destroy"}}).status, 202);
  EXPECT_EQ(Read("/local/domain/0/device-model/" + domid + "/state").rfind("(", 0), 0u)
      << "the device model's directory goes with it";
  EXPECT_TRUE(Eventually(kWait, [&] { return DialTcp(*port_number, 1) < 0; }))
      << "the device model is gone and VNC with it";
}

// A simulated host that goes away without destroying its guests (a test's
// stack torn down, its directory removed) takes its device models with it, and
// a device model holds none of txend's descriptors (its log, its sockets).
TEST_F(HvmApiTest, DeviceModelsHoldNoneOfTxendsFilesAndEndWithTheirHost) {
  std::string domid = CreateRunning(LibvirtHvmConfig("orphan"));
  ASSERT_FALSE(domid.empty());
  std::string pid_file = ReadFile(stack_->path("state/run/qemu-dm-" + domid + ".pid"));
  auto pid = ParseInteger<int>(pid_file.substr(0, pid_file.find('\n')));
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  std::string fd_dir = "/proc/" + std::to_string(*pid) + "/fd";
  std::vector<std::string> leaked;
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir)) {
    auto fd = ParseInteger<int>(entry.path().filename().string());
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (fd.ok() && *fd > 2 && !target.starts_with("socket:")) leaked.push_back(target);
  }
  EXPECT_TRUE(leaked.empty()) << "inherited: " << ::testing::PrintToString(leaked);

  stack_.reset();  // txend, xsd and the stack's directory go; the guest was never destroyed
  EXPECT_TRUE(Eventually(kWait, [&] { return kill(*pid, 0) != 0; }))
      << "device model " << *pid << " outlived its host";
  if (kill(*pid, 0) == 0) kill(*pid, SIGKILL);
}

TEST_F(HvmApiTest, PvhGuestRunsWithoutADeviceModel) {
  std::string config = "(vm (name pvh1) (memory 128) (vcpus 2) (image (pvh (kernel '" +
                       stack_->kernel() + "') (args 'console=hvc0') (tsc_mode 2))))";
  std::string domid = CreateRunning(config);
  ASSERT_FALSE(domid.empty());
  EXPECT_EQ(Read("/local/domain/0/device-model/" + domid + "/state").rfind("(", 0), 0u);
  auto detail = Get("/xend/domain/pvh1?detail=1");
  EXPECT_NE(sxp::ToString(detail.sxp).find("(image (pvh (kernel"), std::string::npos);
  EXPECT_EQ(Post("/xend/domain/pvh1", {{"op", "pause"}}).status, 200);
  EXPECT_EQ(Post("/xend/domain/pvh1", {{"op", "unpause"}}).status, 200);
  ASSERT_EQ(Post("/xend/domain/pvh1", {{"op", "destroy"}}).status, 202);
}

// xm save / xm restore: the device model's state travels after the memory.
TEST_F(HvmApiTest, HvmSaveAndRestoreCarryTheDeviceState) {
  std::string domid = CreateRunning(LibvirtHvmConfig("saved"));
  ASSERT_FALSE(domid.empty());
  std::string file = stack_->path("saved.img");
  auto saved = Post("/xend/domain/saved", {{"op", "save"}, {"file", file}});
  ASSERT_EQ(saved.status, 202) << saved.body;
  EXPECT_EQ(Get("/xend/domain/saved").status, 404);
  EXPECT_NE(ReadFile(file).find("TXDMSTATE"), std::string::npos);
  auto restored = Post("/xend/domain/", {{"op", "restore"}, {"file", file}});
  ASSERT_EQ(restored.status, 201) << restored.body;
  auto detail = Get("/xend/domain/saved?detail=1");
  std::string new_domid = sxp::ChildValue(detail.sxp, "domid");
  ASSERT_FALSE(new_domid.empty()) << detail.body;
  EXPECT_EQ(Read("/local/domain/0/device-model/" + new_domid + "/state"), "running");
  EXPECT_NE(DmLog("saved").find("restored"), std::string::npos) << DmLog("saved");
  EXPECT_NE(DmLog("saved").find("dirty log on\ndirty log off\n"), std::string::npos)
      << "qemu tracked dirty pages during the save, as libxc asks: " << DmLog("saved");
  EXPECT_FALSE(Read("/local/domain/" + new_domid + "/console/vnc-port").starts_with("("));
}

// virsh change-media on an HVM guest: the emulated CD-ROM drive (hdc, qemu's
// ide-5632) gets the new media through QMP, and loses it on eject.
TEST_F(HvmApiTest, DeviceConfigureChangesTheEmulatedCdrom) {
  std::string domid = CreateRunning(LibvirtHvmConfig("cd"));
  ASSERT_FALSE(domid.empty());
  std::string iso = stack_->path("install.iso");
  WriteFile(iso, {'C', 'D', '0', '0', '1'});
  auto r = Post("/xend/domain/cd",
                {{"op", "device_configure"},
                 {"config", "(vbd (dev 'hdc:cdrom')(uname 'file:" + iso + "')(mode 'r'))"},
                 {"dev", "5632"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(DmLog("cd").find("media ide-5632=" + iso + "\n"), std::string::npos) << DmLog("cd");
  r = Post("/xend/domain/cd", {{"op", "device_configure"},
                               {"config", "(vbd (dev 'hdc:cdrom')(mode 'r'))"},
                               {"dev", "5632"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(DmLog("cd").find("media ide-5632=\n"), std::string::npos) << DmLog("cd");
}

// The device model's pid file cannot be written (its run directory's disk is full): the create
// fails with that error and the device model is stopped, not left running where no later stop
// could find it.
TEST_F(HvmApiTest, ADeviceModelWhosePidFileCannotBeWrittenIsStopped) {
  auto disk = SmallFilesystem::Mount(1 << 20);
  if (!disk.ok()) GTEST_SKIP() << disk.status().ToString();
  stack_.reset();
  Start({"--device-model-run-dir", (*disk)->path()});
  // Its QMP socket is in the run directory; [q]: the pattern does not match the shell running
  // pgrep, nor txend, whose arguments name the directory too.
  const std::string running = "pgrep -f '" + (*disk)->path() + "/[q]mp-libxl-' >/dev/null";
  CreateRunning(LibvirtHvmConfig("withpid"));
  EXPECT_EQ(std::system(running.c_str()), 0) << "the pattern finds a device model";
  ASSERT_EQ(Post("/xend/domain/withpid", {{"op", "destroy"}}).status, 202);
  (*disk)->Fill();
  auto created = Post("/xend/domain/", {{"op", "create"}, {"config", LibvirtHvmConfig("nopid")}});
  EXPECT_EQ(created.status, 500);
  EXPECT_NE(created.body.find("pid file"), std::string::npos) << created.body;
  EXPECT_NE(created.body.find("No space left on device"), std::string::npos) << created.body;
  EXPECT_EQ(Get("/xend/domain/nopid").status, 404);
  EXPECT_TRUE(Eventually(std::chrono::seconds(5), [&] {
    return std::system(running.c_str()) != 0;
  })) << "no device model left running";
}

// A device model that is missing, dies at once, never says "running", or
// cannot have its VNC display: a clear error naming the cause, no domain and
// no process left behind, and txend serving on.
TEST_F(HvmApiTest, DeviceModelFailuresAreClearErrors) {
  stack_.reset();
  Start({"--device-model-timeout", "1"});
  auto script = [&](const std::string& name, const std::string& body) {
    std::string path = stack_->path(name);
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  };
  auto config = [&](const std::string& name, const std::string& image_extra) {
    return "(vm (name " + name + ") (memory 64) (image (hvm (kernel hvmloader) " + image_extra +
           ")))";
  };
  LoopbackListener taken = ListenOnLoopback();
  struct Case {
    std::string name, image, error;
  } cases[] = {
      {"nodm", "(device_model /nonexistent/qemu-dm)",
       "the device model /nonexistent/qemu-dm is missing or not executable"},
      {"dies",
       "(device_model " +
           script("dies.sh", "echo 'qemu: cannot open /dev/xen/privcmd' >&2; exit 1") + ")",
       "exited before it was running"},
      {"hangs", "(device_model " + script("hangs.sh", "while :; do sleep 0.1; done") + ")",
       "did not reach \\'running\\' within 1 s"},
      // A log of 17 MiB: its last words quoted all the same.
      {"chatty",
       "(device_model " +
           script("chatty.sh",
                  "head -c 17825792 /dev/zero | tr '\\0' x >&2; echo 'qemu: last words' >&2; "
                  "exit 1") +
           ")",
       "qemu: last words"},
  };
  for (const Case& c : cases) {
    auto reply = Post("/xend/domain/", {{"op", "create"}, {"config", config(c.name, c.image)}});
    EXPECT_EQ(reply.status, 500) << c.name;
    EXPECT_NE(reply.body.find(c.error), std::string::npos) << c.name << ": " << reply.body;
    EXPECT_EQ(Get("/xend/domain/" + c.name).status, 404) << c.name;
  }
  auto died = Post("/xend/domain/", {{"op", "create"}, {"config", config("dies", cases[1].image)}});
  EXPECT_NE(died.body.find("cannot open /dev/xen/privcmd"), std::string::npos)
      << "the error quotes the device model's log: " << died.body;
  // This test's own script only (other tests may run beside it); [h]: the
  // pattern does not match the shell running pgrep.
  std::string hangs = stack_->path("[h]angs.sh -xen-domid");
  EXPECT_NE(std::system(("pgrep -f '" + hangs + "' >/dev/null").c_str()), 0)
      << "the device model that never ran was stopped";

  // VNC display 5900+N held by someone else, vncunused=0: qemu cannot bind it.
  int display = taken.port - 5900;
  if (display >= 0 && display <= 59635) {
    auto reply =
        Post("/xend/domain/", {{"op", "create"},
                               {"config", config("novnc", "(vnc 1) (vncunused 0) (vncdisplay " +
                                                              std::to_string(display) + ")")}});
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("no free display"), std::string::npos) << reply.body;
    EXPECT_EQ(Get("/xend/domain/novnc").status, 404);
  }
  EXPECT_EQ(sxp::ToString(Get("/xend/domain").sxp), "(Domain-0)");
}

// With vncunused (the default) a taken display is skipped, as qemu's to=99 does.
TEST_F(HvmApiTest, VncUnusedSkipsATakenDisplay) {
  std::string first = CreateRunning(WithVnc(LibvirtHvmConfig("one"), "(vnc 1)(vncunused 1)"));
  std::string second = CreateRunning(
      WithVnc(LibvirtHvmConfig("two"), "(vnc 1)(vncunused 1)")
          .replace(LibvirtHvmConfig("two").find("c7a5fdbd"), 8, "d7a5fdbd")
          .replace(LibvirtHvmConfig("two").find("00:16:3e:11:22:33"), 17, "00:16:3e:11:22:34"));
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  std::string a = Read("/local/domain/" + first + "/console/vnc-port");
  std::string b = Read("/local/domain/" + second + "/console/vnc-port");
  EXPECT_NE(a, b);
  EXPECT_EQ(VncHandshake(ParseInteger<uint16_t>(b).value_or(0)), "RFB 003.008\n|2|two");
}

}  // namespace
}  // namespace txend::testing
