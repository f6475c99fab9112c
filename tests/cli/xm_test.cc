// xm end to end, the way a shell script drives it: a real xsd and txend on the
// simulated hypervisor, the xm binary run with TXEND_SOCKET, and its stdout,
// stderr and exit code checked.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/files.h"
#include "tests/support/process_usage.h"
#include "tests/support/txend_stack.h"

namespace txend::testing {
namespace {

// The guest kernel boots in the background; xm runs a process per poll.
constexpr std::chrono::seconds kBootWait{10};
constexpr std::chrono::milliseconds kXmPoll{50};

struct XmRun {
  int code = -1;
  std::string out, err;
};

class XmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
    std::ofstream(stack_->path("initrd")) << "initrd";
    WriteConfig("demo.cfg", "demo", "");
  }

  // Runs `xm <args>` in the stack's directory.
  XmRun Xm(const std::string& args, const std::string& socket = "") {
    std::string err_file = stack_->path("xm.err");
    std::string cmd = "cd " + stack_->path("") +
                      " && TXEND_SOCKET=" + (socket.empty() ? stack_->xend_socket() : socket) +
                      " " TXEND_BIN_DIR "/xm " + args + " 2>" + err_file;
    auto r = RunCommand(cmd);
    return XmRun{r.exit_code, r.out, ReadFile(err_file)};
  }

  void WriteConfig(const std::string& file, const std::string& name, const std::string& extra) {
    std::ofstream(stack_->path(file)) << "name = '" << name << "'\n"
                                      << "kernel = '" << stack_->kernel() << "'\n"
                                      << "memory = 64\nvcpus = 2\n"
                                      << "disk = [ 'phy:/dev/vg0/" << name
                                      << ",xvda,w', 'file:/srv/" << name << ".img,xvdb,w' ]\n"
                                      << "vif = [ 'bridge=xenbr0' ]\n"
                                      << extra;
  }

  // The `xm list` row of `name`, or "".
  std::string ListRow(const std::string& name) {
    auto r = Xm("list");
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with(name + " ")) return line;
    return "";
  }

  std::string Domid(const std::string& name) {
    auto r = Xm("domid " + name);
    return r.code == 0 ? r.out.substr(0, r.out.find('\n')) : "";
  }

  std::unique_ptr<TxendStack> stack_;
};

TEST_F(XmTest, CreateListShutdownWaitAsAScriptWould) {
  auto created = Xm("create demo.cfg");
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_TRUE(std::regex_match(
      created.out,
      std::regex("Using config file \"\\./demo\\.cfg\"\\.\nStarted domain demo \\(id=[0-9]+\\)\n")))
      << created.out;
  EXPECT_EQ(created.err, "");

  auto list = Xm("list");
  ASSERT_EQ(list.code, 0);
  EXPECT_TRUE(list.out.starts_with(
      "Name                                        ID   Mem VCPUs      State   Time(s)\n"
      "Domain-0                                     0 "))
      << list.out;
  EXPECT_TRUE(std::regex_search(
      list.out, std::regex("\ndemo {36} +[0-9]+ {4}64 {5}2 {5}[-rb]{2}---- +[0-9]+\\.[0-9]\n")))
      << list.out;

  auto down = Xm("shutdown -w demo");
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_EQ(down.out, "Domain demo terminated\nAll domains terminated\n");
  auto gone = Xm("list demo");
  EXPECT_EQ(gone.code, 3);
  EXPECT_EQ(gone.err, "Error: Domain 'demo' does not exist.\n");
  EXPECT_EQ(gone.out, "");
}

TEST_F(XmTest, ClassicExampleConfigsWithOverrides) {
  std::string configs = TXEND_SOURCE_DIR "/tests/cli/configs/";
  std::string boot = "kernel=" + stack_->kernel() + " ramdisk=" + stack_->path("initrd");
  auto basic = Xm("create -q " + configs + "pv-basic.cfg " + boot);
  ASSERT_EQ(basic.code, 0) << basic.err;
  EXPECT_TRUE(basic.out.starts_with("Started domain ExampleDomain (id=")) << basic.out;

  auto vm3 = Xm("create " + configs + "pv-vmid.cfg vmid=3 " + boot);
  ASSERT_EQ(vm3.code, 0) << vm3.err;
  EXPECT_TRUE(std::regex_search(ListRow("VM3"), std::regex("^VM3 +[0-9]+ +64 +4 ")));
  auto macs = Xm("network-list VM3");
  EXPECT_NE(macs.out.find("00:16:3e:00:00:03"), std::string::npos) << macs.out;

  auto no_vmid = Xm("create " + configs + "pv-vmid.cfg " + boot);
  EXPECT_EQ(no_vmid.code, 1);
  EXPECT_NE(no_vmid.err.find("vmid"), std::string::npos) << no_vmid.err;

  auto dry = Xm("create -n " + configs + "pv-full.cfg");
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("(vm\n    (name lab-web10)\n"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("        (vif\n            (mac 00:16:3e:0a:00:01)\n"), std::string::npos)
      << dry.out;
  EXPECT_EQ(ListRow("lab-web10"), "");  // a dry run creates nothing
}

TEST_F(XmTest, LifecycleCommands) {
  ASSERT_EQ(Xm("create -q demo.cfg").code, 0);
  EXPECT_EQ(Xm("pause demo").code, 0);
  EXPECT_TRUE(std::regex_search(ListRow("demo"), std::regex(" [-r][-b]p--- +[0-9.]+$")));
  EXPECT_EQ(Xm("unpause demo").code, 0);
  EXPECT_EQ(Xm("mem-max demo 128m").code, 0);
  EXPECT_EQ(Xm("mem-set demo 98304k").code, 0);
  EXPECT_TRUE(std::regex_search(ListRow("demo"), std::regex("^demo +[0-9]+ +96 ")));
  EXPECT_EQ(Xm("vcpu-pin demo 0 0-3,^1").code, 0);
  auto vcpus = Xm("vcpu-list demo");
  EXPECT_TRUE(vcpus.out.starts_with(
      "Name                                ID  VCPU   CPU State   Time(s) CPU Affinity\n"));
  EXPECT_TRUE(std::regex_search(
      vcpus.out, std::regex("\ndemo +[0-9]+ +0 +[0-9]+ +[-r][-b]- +[0-9.]+ 0,2-3\n")))
      << vcpus.out;
  EXPECT_EQ(Xm("vcpu-set demo 1").code, 0);
  // The guest kernel takes the vcpu offline when it sees the request.
  EXPECT_TRUE(Eventually(
      kBootWait,
      [&] {
        return std::regex_search(Xm("vcpu-list demo").out,
                                 std::regex("\ndemo +[0-9]+ +1 +- +--p "));
      },
      kXmPoll))
      << Xm("vcpu-list demo").out;
  EXPECT_EQ(Xm("sched-credit -d demo -w 512 -c 50").code, 0);
  EXPECT_TRUE(
      std::regex_search(Xm("sched-credit -d demo").out, std::regex("\ndemo +[0-9]+ +512 +50\n")));
  EXPECT_EQ(Xm("sysrq demo s").code, 0);

  EXPECT_EQ(Xm("rename demo web").code, 0);
  EXPECT_EQ(Xm("domid demo").code, 3);
  std::string before = Domid("web");
  EXPECT_EQ(Xm("domname " + before).out, "web\n");
  auto reboot = Xm("reboot -w web");
  EXPECT_EQ(reboot.out, "Domain web rebooted\nAll domains rebooted\n") << reboot.err;
  EXPECT_NE(Domid("web"), before);
  auto up = Xm("uptime web");
  EXPECT_TRUE(
      std::regex_match(up.out, std::regex("Name {32}ID Uptime \nweb +[0-9]+  0:00:[0-9]{2}\n")))
      << up.out;
  EXPECT_EQ(Xm("destroy web").code, 0);
  EXPECT_EQ(ListRow("web"), "");
}

TEST_F(XmTest, DeviceCommands) {
  ASSERT_EQ(Xm("create -q demo.cfg").code, 0);
  // The frontends connect once the guest kernel has booted.
  EXPECT_TRUE(Eventually(
      kBootWait,
      [&] {
        return Xm("block-list demo")
            .out.starts_with(
                "Vdev  BE handle state evt-ch ring-ref BE-path\n51712  0    0     4  ");
      },
      kXmPoll))
      << Xm("block-list demo").out;
  ASSERT_EQ(Xm("block-attach demo phy:/dev/vg0/extra xvdc w").code, 0);
  EXPECT_NE(Xm("block-list demo").out.find("\n51744 "), std::string::npos);
  EXPECT_EQ(Xm("block-detach demo xvdc").code, 0);
  EXPECT_EQ(Xm("block-list demo").out.find("\n51744 "), std::string::npos);

  ASSERT_EQ(Xm("network-attach demo mac=00:16:3e:12:34:56 bridge=xenbr1").code, 0);
  EXPECT_NE(Xm("network-list demo").out.find("00:16:3e:12:34:56"), std::string::npos);
  EXPECT_EQ(Xm("network-detach demo 00:16:3e:12:34:56").code, 0);
  EXPECT_EQ(Xm("network-list demo").out.find("00:16:3e:12:34:56"), std::string::npos);
  auto bad = Xm("network-attach demo colour=blue");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "Error: Invalid argument: colour=blue\n");
  EXPECT_TRUE(bad.out.starts_with("Usage: xm network-attach <Domain> "));
}

TEST_F(XmTest, SaveRestoreAndManagedDomains) {
  ASSERT_EQ(Xm("create -q demo.cfg").code, 0);
  std::string image = stack_->path("demo.save");
  ASSERT_EQ(Xm("save demo demo.save").code, 0);
  EXPECT_EQ(ListRow("demo"), "");
  ASSERT_EQ(Xm("restore demo.save").code, 0);
  EXPECT_NE(ListRow("demo"), "");
  auto missing = Xm("restore nothing.save");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err,
            "Error: xm restore: Unable to read file " + stack_->path("nothing.save") + "\n");
  EXPECT_EQ(Xm("destroy demo").code, 0);

  WriteConfig("kept.cfg", "kept", "");
  ASSERT_EQ(Xm("new -q kept.cfg").code, 0);
  std::string inactive = ListRow("kept");
  EXPECT_TRUE(std::regex_match(inactive, std::regex("kept +64 +2 +0\\.0"))) << inactive;
  EXPECT_EQ(inactive.substr(40, 7), "       ");  // no id

  ASSERT_EQ(Xm("start kept").code, 0);
  EXPECT_NE(Domid("kept"), "None");
  EXPECT_EQ(Xm("shutdown -w kept").code, 0);
  EXPECT_EQ(Domid("kept"), "None");  // managed: still defined, not running
  EXPECT_EQ(Xm("delete kept").code, 0);
  EXPECT_EQ(Xm("start kept").code, 3);
}

TEST_F(XmTest, HostCommands) {
  auto info = Xm("info");
  ASSERT_EQ(info.code, 0);
  EXPECT_TRUE(info.out.starts_with("host                   : ")) << info.out;
  EXPECT_NE(info.out.find("\nxen_scheduler          : credit\n"), std::string::npos);
  EXPECT_EQ(info.out.find("system"), std::string::npos);
  EXPECT_EQ(Xm("dmesg").code, 0);
  EXPECT_EQ(Xm("dmesg extra").code, 1);
  EXPECT_EQ(Xm("log").code, 0);
  EXPECT_EQ(Xm("domid Domain-0").out, "0\n");
}

// A log of many MiB: `xm log` shows its last MiB from a line's start (xend's log rotated at
// 1 MiB), never the whole file read into txend's memory and sent.
TEST_F(XmTest, LogShowsTheLastMiBOfALongLogFromALineStart) {
  {
    std::ofstream log(stack_->log_file(), std::ios::app);
    for (int i = 0; i < 300000; ++i) log << "filler line " << i << "\n";  // ~5.6 MiB
    log << "the last filler line\n";
  }
  auto log = Xm("log");
  ASSERT_EQ(log.code, 0) << log.err;
  EXPECT_LE(log.out.size(), size_t{1} << 20);
  EXPECT_GT(log.out.size(), size_t{1} << 19);
  EXPECT_TRUE(log.out.starts_with("filler line ")) << log.out.substr(0, 80);
  EXPECT_NE(log.out.find("\nthe last filler line\n"), std::string::npos);
  EXPECT_EQ(log.out.find("filler line 0\n"), std::string::npos);
}

TEST_F(XmTest, ErrorsAreOneLineOnStderrWithXmsExitCodes) {
  auto down = Xm("list", stack_->path("no-such-socket"));
  EXPECT_EQ(down.code, 1);
  EXPECT_EQ(down.err,
            "Error: Unable to connect to xend: No such file or directory. Is xend running?\n");

  auto unknown = Xm("frobnicate");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_EQ(unknown.err, "Error: Subcommand frobnicate not found!\n");
  EXPECT_TRUE(unknown.out.starts_with("Usage: xm <subcommand> [args]\n"));

  auto count = Xm("pause");
  EXPECT_EQ(count.code, 1);
  EXPECT_EQ(count.err, "Error: 'xm pause' requires 1 argument.\n");
  EXPECT_EQ(count.out, "Usage: xm pause <Domain>\n\nPause execution of a domain.\n");

  EXPECT_EQ(Xm("list --bogus").code, 1);
  EXPECT_EQ(Xm("mem-set Domain-0 lots").err, "Error: Invalid argument.\n");
  EXPECT_EQ(Xm("destroy ghost").code, 3);
  EXPECT_EQ(Xm("shutdown -w").err, "Error: No domain parameter given\n");
  EXPECT_EQ(Xm("shutdown -R -H demo").err, "Error: Can't specify halt and reboot\n");

  auto missing = Xm("create nowhere.cfg");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "Error: Unable to open config file: nowhere.cfg\n");

  std::ofstream(stack_->path("bad.cfg")) << "name = 'bad'\nmemory = 'lots'\n";
  auto bad = Xm("create bad.cfg");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("bad.cfg:2: memory"), std::string::npos) << bad.err;

  // An endless SXP config: an error at the SXP parser's bound, not all of memory (xm aborted
  // with std::bad_alloc under a 1 GB address-space limit).
  auto endless = Xm("create -F /dev/zero");
  EXPECT_EQ(endless.code, 1);
  EXPECT_EQ(endless.err, "Error: /dev/zero: config file too large (the limit is 16 MiB)\n");

  ASSERT_EQ(Xm("create -q demo.cfg").code, 0);
  auto twice = Xm("create -q demo.cfg");
  EXPECT_EQ(twice.code, 1);
  EXPECT_TRUE(twice.err.starts_with("Error: ")) << twice.err;
  EXPECT_EQ(std::count(twice.err.begin(), twice.err.end(), '\n'), 1) << twice.err;

  EXPECT_EQ(Xm("help").code, 0);
  EXPECT_EQ(Xm("--help").code, 0);
  EXPECT_EQ(Xm("list --help").code, 1);
  EXPECT_EQ(Xm("").code, 1);
  auto alias = Xm("balloon demo 32");
  EXPECT_EQ(alias.code, 0);
  EXPECT_EQ(alias.err, "Command balloon is deprecated.  Please use xm mem-set instead.\n");
  EXPECT_EQ(Xm("li demo").code, 0);  // a unique prefix
}

TEST_F(XmTest, MigrateMovesTheDomainToAnotherTxend) {
  TxendStack::Options there;
  uint16_t port = FreeTcpPort();
  there.extra_args = {"--relocation", "127.0.0.1:" + std::to_string(port), "--relocation-insecure"};
  auto other = TxendStack::Start(there);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  // The destination needs the kernel at the same path, as two hosts sharing storage would.
  WriteConfig("mig.cfg", "mig", "");
  ASSERT_EQ(Xm("create -q mig.cfg").code, 0);
  auto moved = Xm("migrate -l mig 127.0.0.1 -p " + std::to_string(port));
  ASSERT_EQ(moved.code, 0) << moved.err;
  EXPECT_EQ(ListRow("mig"), "");
  auto remote = Xm("list mig", (*other)->xend_socket());
  EXPECT_EQ(remote.code, 0) << remote.err;
  EXPECT_TRUE(std::regex_search(remote.out, std::regex("\nmig +[0-9]+ +64 +2 ")));
  auto refused = Xm("migrate demo 127.0.0.1 -p " + std::to_string(FreeTcpPort()));
  EXPECT_EQ(refused.code, 3);  // no domain demo here
}

TEST(XmOverTcp, XmServerSelectsATcpEndpoint) {
  TxendStack::Options o;
  o.tcp_port = FreeTcpPort();
  auto stack = TxendStack::Start(o);
  ASSERT_TRUE(stack.ok()) << stack.status().ToString();
  auto r = RunCommand("XM_SERVER=http://127.0.0.1:" + std::to_string(o.tcp_port) +
                      "/ " TXEND_BIN_DIR "/xm list");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("\nDomain-0 "), std::string::npos) << r.out;
  auto bad = RunCommand("XM_SERVER=ftp://x " TXEND_BIN_DIR "/xm list 2>&1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(bad.out.starts_with(
      "Error: XM_SERVER: expected httpu:///path, http://host:port/ or https://host:port/"))
      << bad.out;
}

// xsd out of file descriptors: each simulated guest needs its own socket to xsd.
// The create that cannot get one fails on one line and leaves no domain behind;
// the domains before it keep working, and once one goes the create succeeds.
TEST_F(XmTest, CreateBeyondXsdsDescriptorsFailsClearlyAndLeavesNothing) {
  pid_t xsd = stack_->xsd().pid();
  int limit = FdCount(xsd) + 6;
  auto lowered = RunCommand("prlimit --pid " + std::to_string(xsd) +
                            " --nofile=" + std::to_string(limit) + ":" + std::to_string(limit));
  ASSERT_EQ(lowered.exit_code, 0) << lowered.out;
  int created = 0;
  XmRun failed;
  for (; created < 30; ++created) {
    std::string name = "d" + std::to_string(created);
    WriteConfig(name + ".cfg", name, "");
    failed = Xm("create -q " + name + ".cfg");
    if (failed.code != 0) break;
  }
  std::string last = "d" + std::to_string(created);
  EXPECT_EQ(failed.code, 1) << failed.out;
  EXPECT_NE(failed.err.find("xenstore did not take domain"), std::string::npos) << failed.err;
  EXPECT_EQ(std::count(failed.err.begin(), failed.err.end(), '\n'), 1) << failed.err;
  EXPECT_GE(created, 4) << "each connected guest still costs xsd two descriptors";
  EXPECT_EQ(ListRow(last), "") << "the failed create left a domain";
  ASSERT_GT(created, 0);
  EXPECT_EQ(Xm("shutdown -w d0").code, 0) << "a guest connected before stopped answering";
  auto again = Xm("create -q " + last + ".cfg");
  EXPECT_EQ(again.code, 0) << again.err;
  printf("xsd with %d descriptors: %d domains created, then: %s", limit, created,
         failed.err.c_str());
}

}  // namespace
}  // namespace txend::testing
