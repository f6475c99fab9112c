// txend, started as a process beside a real xsd, driven with the request
// sequences libvirt's xend driver sends (docs/reference/xend-http-api.md §4).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/support/fake_kernel.h"
#include "tests/support/files.h"
#include "tests/support/txend_stack.h"
#include "toolstack/xs/transaction.h"

namespace txend::testing {
namespace {

// How long txend may take to react (guests booting, domains going away, restarts).
constexpr std::chrono::seconds kWait{10};

class TxendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = TxendStack::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stack_ = std::move(*s);
  }
  XendReply Get(const std::string& path) { return stack_->client().Get(path); }
  XendReply Post(const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& form) {
    return stack_->client().Post(path, form);
  }
  // libvirt's `virsh create`: create (paused), look up, wait for devices, unpause.
  std::string Create(const std::string& name, int disks = 2, int vifs = 1) {
    auto created =
        Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config(name, disks, vifs)}});
    EXPECT_EQ(created.status, 201) << created.body;
    auto info = Get("/xend/domain/" + name + "?detail=1");
    EXPECT_EQ(info.status, 200);
    std::string domid = sxp::ChildValue(info.sxp, "domid");
    EXPECT_FALSE(domid.empty()) << info.body;
    EXPECT_EQ(Post("/xend/domain/" + name, {{"op", "wait_for_devices"}}).status, 202);
    EXPECT_EQ(Post("/xend/domain/" + name, {{"op", "unpause"}}).status, 200);
    return domid;
  }
  std::unique_ptr<TxendStack> stack_;
};

TEST_F(TxendTest, NodeInfoHasWhatLibvirtReads) {
  auto node = Get("/xend/node/");
  ASSERT_EQ(node.status, 200);
  EXPECT_EQ(sxp::Name(node.sxp), "node");
  for (const char* f : {"machine", "total_memory", "nr_cpus", "cpu_mhz", "nr_nodes",
                        "sockets_per_node", "cores_per_socket", "threads_per_core", "node_to_cpu",
                        "xen_scheduler", "xend_config_format"})
    EXPECT_TRUE(sxp::FindChildValue(node.sxp, f).has_value()) << f;
  EXPECT_EQ(sxp::ChildValue(node.sxp, "xen_scheduler"), "credit");
  EXPECT_EQ(sxp::ChildValue(node.sxp, "xend_config_format"), "4");
  EXPECT_EQ(Get("/xend/node").status, 200);
  auto dmesg = Get("/xend/node/dmesg");
  EXPECT_EQ(dmesg.status, 200);
  EXPECT_NE(dmesg.body.find("(XEN)"), std::string::npos);
}

TEST_F(TxendTest, ListAndDominfoLikeVirsh) {
  std::string domid = Create("demo");
  // Running until the simulated guest's kernel has booted and its vcpus block.
  ASSERT_TRUE(Eventually(kWait, [&] {
    return sxp::ChildValue(Get("/xend/domain/demo?detail=1").sxp, "state") == "-b----";
  }));
  auto names = Get("/xend/domain");
  ASSERT_EQ(names.status, 200);
  EXPECT_EQ(sxp::ToString(names.sxp), "(Domain-0 demo)");
  auto detail = Get("/xend/domain?detail=1");
  ASSERT_EQ(detail.sxp.items().size(), 2u);
  for (const std::string& ref : {std::string("demo"), domid}) {
    auto d = Get("/xend/domain/" + ref + "?detail=1");
    ASSERT_EQ(d.status, 200) << ref;
    EXPECT_EQ(sxp::ChildValue(d.sxp, "name"), "demo");
    EXPECT_EQ(sxp::ChildValue(d.sxp, "memory"), "64");
    EXPECT_EQ(sxp::ChildValue(d.sxp, "maxmem"), "128");
    EXPECT_EQ(sxp::ChildValue(d.sxp, "vcpus"), "2");
    EXPECT_EQ(sxp::ChildValue(d.sxp, "state"), "-b----");
    EXPECT_EQ(sxp::ChildValue(*sxp::Child(*sxp::Child(d.sxp, "image"), "linux"), "args"),
              "root=/dev/xvda1 ro");
    EXPECT_EQ(sxp::Children(d.sxp, "device").size(), 3u);
    EXPECT_TRUE(sxp::FindChildValue(d.sxp, "cpu_time"));
  }
  auto by_uuid =
      Get("/xend/domain/" + sxp::ChildValue(Get("/xend/domain/demo").sxp, "uuid") + "?detail=1");
  EXPECT_EQ(sxp::ChildValue(by_uuid.sxp, "domid"), domid);
  auto vcpus = Get("/xend/domain/demo?op=vcpuinfo");
  ASSERT_EQ(vcpus.status, 200);
  EXPECT_EQ(sxp::Children(vcpus.sxp, "vcpu").size(), 2u);
  EXPECT_EQ(sxp::ToString(*sxp::Child(*sxp::Children(vcpus.sxp, "vcpu")[0], "cpumap")),
            "(cpumap (0 1 2 3))");
}

// True once every frontend of `domid` is Connected (the simulated guest is done).
bool FrontendsConnected(const TxendStack& stack, const std::string& domid) {
  auto conn = xs::Connection::Open(stack.xs_socket());
  auto snap = xs::Snapshot::Begin(**conn);
  int connected = 0;
  for (const char* type : {"vbd", "vif"}) {
    std::string dir = "/local/domain/" + domid + "/device/" + type;
    for (const auto& id : *snap->DirectoryIfExists(dir)) {
      if (snap->Read(dir + "/" + id + "/state").value_or("") != "4") return false;
      ++connected;
    }
  }
  return connected > 0;
}

TEST_F(TxendTest, DominfoCostsOneTransactionAndNoDiskWrites) {
  std::string domid = Create("demo");
  ASSERT_TRUE(Eventually(kWait, [&] { return FrontendsConnected(*stack_, domid); }));
  uint64_t tx0 = stack_->XsdStat("transactions_started");
  uint64_t disk0 = stack_->XsdStat("disk_bytes_written");
  uint64_t implicit0 = stack_->XsdStat("implicit_transactions");
  ASSERT_EQ(Get("/xend/domain/demo?detail=1").status, 200);
  EXPECT_EQ(stack_->XsdStat("transactions_started") - tx0, 1u);  // xend: 16
  EXPECT_EQ(stack_->XsdStat("disk_bytes_written") - disk0, 0u);  // xend: ~2 MB
  EXPECT_EQ(stack_->XsdStat("implicit_transactions") - implicit0, 0u);
  // Once the simulated guest's last writes are read, a list and a read cost none (the cache).
  EXPECT_TRUE(Eventually(kWait, [&] {
    uint64_t tx1 = stack_->XsdStat("transactions_started");
    bool ok = Get("/xend/domain?detail=1").status == 200 &&
              Get("/xend/domain/demo?detail=1").status == 200;
    return ok && stack_->XsdStat("transactions_started") - tx1 == 0;
  }));
}

// `xm create`: op=create (paused), op=wait_for_devices, op=unpause. The 201
// reply is the record create built (the same bytes a read then returns) and
// wait_for_devices resolves the name without xenstore: create's own two
// transactions are all (xend: 80).
TEST_F(TxendTest, XmCreateCostsTwoTransactions) {
  uint64_t tx0 = stack_->XsdStat("transactions_started");
  auto created = Post("/xend/domain/", {{"op", "create"}, {"config", stack_->Config("xm", 2, 1)}});
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(Post("/xend/domain/xm", {{"op", "wait_for_devices"}}).status, 202);
  EXPECT_EQ(stack_->XsdStat("transactions_started") - tx0, 2u);
  EXPECT_EQ(Get("/xend/domain/xm?detail=1").body, created.body);
  ASSERT_EQ(Post("/xend/domain/xm", {{"op", "unpause"}}).status, 200);
  EXPECT_EQ(Post("/xend/domain/nobody", {{"op", "wait_for_devices"}}).status, 404);
}

TEST_F(TxendTest, DefineStartUndefine) {
  ASSERT_EQ(Post("/xend/domain/", {{"op", "new"}, {"config", stack_->Config("kept", 1, 0)}}).status,
            200);
  EXPECT_EQ(sxp::ToString(Get("/xend/domain?state=halted").sxp), "(kept)");
  auto inactive = Get("/xend/domain/kept?detail=1");
  EXPECT_FALSE(sxp::FindChildValue(inactive.sxp, "domid"));  // libvirt: no domid = inactive
  EXPECT_EQ(sxp::ChildValue(inactive.sxp, "status"), "0");
  ASSERT_EQ(Post("/xend/domain/kept", {{"op", "start"}}).status, 202);
  EXPECT_TRUE(sxp::FindChildValue(Get("/xend/domain/kept?detail=1").sxp, "domid"));
  EXPECT_EQ(Post("/xend/domain/kept", {{"op", "delete"}}).status, 500);  // running
  ASSERT_EQ(Post("/xend/domain/kept", {{"op", "destroy"}}).status, 202);
  ASSERT_EQ(Post("/xend/domain/kept", {{"op", "delete"}}).status, 202);
  EXPECT_EQ(Get("/xend/domain/kept?detail=1").status, 404);
}

TEST_F(TxendTest, ShutdownRebootDestroy) {
  std::string first = Create("cycle", 1, 0);
  ASSERT_EQ(Post("/xend/domain/cycle", {{"op", "shutdown"}, {"reason", "reboot"}}).status, 202);
  ASSERT_TRUE(Eventually(kWait, [&] {
    auto d = Get("/xend/domain/cycle?detail=1");
    return d.status == 200 && sxp::ChildValue(d.sxp, "domid") != first &&
           sxp::ChildValue(d.sxp, "state") == "-b----";
  }));
  ASSERT_EQ(Post("/xend/domain/cycle", {{"op", "shutdown"}, {"reason", "poweroff"}}).status, 202);
  ASSERT_TRUE(Eventually(kWait, [&] { return Get("/xend/domain/cycle?detail=1").status == 404; }));
  Create("gone", 0, 0);
  ASSERT_EQ(Post("/xend/domain/gone", {{"op", "destroy"}}).status, 202);
  EXPECT_EQ(Get("/xend/domain/gone").status, 404);
  EXPECT_EQ(Post("/xend/domain/x", {{"op", "shutdown"}, {"reason", "poweroff"}}).status, 404);
  Create("awake", 0, 0);
  auto bad = Post("/xend/domain/awake", {{"op", "shutdown"}, {"reason", "sleep"}});
  EXPECT_EQ(bad.status, 500);
  EXPECT_NE(bad.body.find("invalid shutdown reason"), std::string::npos) << bad.body;
}

TEST_F(TxendTest, MemoryVcpusPinningAndScheduler) {
  Create("tune", 1, 0);
  EXPECT_EQ(Post("/xend/domain/tune", {{"op", "maxmem_set"}, {"memory", "256"}}).status, 200);
  EXPECT_EQ(Post("/xend/domain/tune", {{"op", "mem_target_set"}, {"target", "200"}}).status, 200);
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/tune").sxp, "memory"), "200");
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/tune").sxp, "maxmem"), "256");
  auto too_much = Post("/xend/domain/tune", {{"op", "mem_target_set"}, {"target", "999"}});
  EXPECT_EQ(too_much.status, 500);
  EXPECT_EQ(sxp::Name(too_much.sxp), "xend.err");
  EXPECT_EQ(Post("/xend/domain/tune", {{"op", "set_vcpus"}, {"vcpus", "1"}}).status, 200);
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/tune").sxp, "vcpu_avail"), "1");
  auto pinned = Post("/xend/domain/tune", {{"op", "pincpu"}, {"vcpu", "0"}, {"cpumap", "0,2,3"}});
  EXPECT_EQ(pinned.status, 200);
  EXPECT_EQ(pinned.body, "0");
  auto info = Get("/xend/domain/tune?op=vcpuinfo");
  EXPECT_EQ(sxp::ToString(*sxp::Child(*sxp::Children(info.sxp, "vcpu")[0], "cpumap")),
            "(cpumap (0 2 3))");
  EXPECT_EQ(Post("/xend/domain/tune",
                 {{"op", "domain_sched_credit_set"}, {"weight", "512"}, {"cap", "50"}})
                .status,
            200);
  auto credit = Post("/xend/domain/tune", {{"op", "domain_sched_credit_get"}});
  EXPECT_EQ(sxp::ToString(credit.sxp), "((weight 512) (cap 50))");
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/tune").sxp, "cpu_weight"), "512");
  EXPECT_EQ(Post("/xend/domain/tune", {{"op", "pause"}}).status, 200);
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/tune").sxp, "state")[2], 'p');
  EXPECT_EQ(Post("/xend/domain/tune", {{"op", "unpause"}}).status, 200);
}

TEST_F(TxendTest, AttachAndDetachDevices) {
  std::string domid = Create("hot", 1, 0);
  auto attached = Post("/xend/domain/hot",
                       {{"op", "device_create"},
                        {"config", "(vbd (dev 'xvdb')(uname 'phy:/dev/vg0/d2')(mode 'w'))"}});
  ASSERT_EQ(attached.status, 200) << attached.body;
  ASSERT_EQ(
      Post("/xend/domain/hot", {{"op", "device_create"},
                                {"config", "(vif (mac '00:16:3e:00:00:42')(bridge 'xenbr0'))"}})
          .status,
      200);
  EXPECT_EQ(sxp::Children(Get("/xend/domain/hot").sxp, "device").size(), 3u);
  auto blocks = Post("/xend/domain/hot", {{"op", "devices"}, {"type", "vbd"}});
  EXPECT_EQ(blocks.sxp.items().size(), 2u);
  auto detached = Post("/xend/domain/hot", {{"op", "device_destroy"},
                                            {"type", "vbd"},
                                            {"dev", "51728"},
                                            {"force", "0"},
                                            {"rm_cfg", "1"}});
  EXPECT_EQ(detached.status, 200) << detached.body;
  EXPECT_EQ(sxp::Children(Get("/xend/domain/hot").sxp, "device").size(), 2u);
  EXPECT_EQ(Post("/xend/domain/hot", {{"op", "device_destroy"}, {"type", "vbd"}, {"dev", "51728"}})
                .status,
            500);
}

TEST_F(TxendTest, SaveAndRestore) {
  Create("saved", 1, 1);
  std::string file = stack_->path("saved.chk");
  ASSERT_EQ(Post("/xend/domain/saved", {{"op", "save"}, {"file", file}}).status, 202);
  EXPECT_EQ(Get("/xend/domain/saved").status, 404);
  ASSERT_EQ(Post("/xend/domain/", {{"op", "restore"}, {"file", file}}).status, 201);
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/saved").sxp, "name"), "saved");
}

TEST_F(TxendTest, BadRequestsGetClearErrorsAndTheDaemonKeepsServing) {
  struct Case {
    std::string raw;
    int status;
    const char* body;
  } cases[] = {
      {"GET /xend/nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "Not found"},
      {"GET /xend/domain/nosuch HTTP/1.1\r\nHost: x\r\n\r\n", 404, "does not exist"},
      {"POST /xend/domain/ HTTP/1.1\r\nContent-Length: 9\r\n\r\nop=frobni", 501,
       "Operation not implemented: frobni"},
      {"POST /xend/domain/ HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1", 406, "exactly one op"},
      {"POST /xend/domain/ HTTP/1.1\r\nContent-Length: 6\r\n\r\nop=%zz", 400, "malformed"},
      {"POST /xend/domain/ HTTP/1.1\r\nContent-Length: 9\r\n\r\nop=create", 400,
       "Missing parameter: config"},
      {"POST /xend/domain/ HTTP/1.1\r\nContent-Length: 25\r\n\r\nop=create&config=(vm%20(x", 400,
       "unterminated list"},
      {"PUT /xend/domain/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 501, "Not implemented"},
      {"garbage\r\n\r\n", 400, "malformed HTTP"},
  };
  for (const auto& c : cases) {
    std::string reply = stack_->client().Raw(c.raw);
    EXPECT_EQ(std::atoi(reply.c_str() + 9), c.status) << c.raw << "\n" << reply;
    EXPECT_NE(reply.find(c.body), std::string::npos) << c.raw << "\n" << reply;
  }
  auto bad_config = Post(
      "/xend/domain/",
      {{"op", "create"}, {"config", "(vm (name x) (memory lots) (image (linux (kernel /k))))"}});
  EXPECT_EQ(bad_config.status, 500);
  EXPECT_NE(bad_config.body.find("memory"), std::string::npos) << bad_config.body;
  std::string huge(2 << 20, 'a');
  std::string reply = stack_->client().Raw("POST /xend/domain/ HTTP/1.1\r\nContent-Length: " +
                                           std::to_string(huge.size()) + "\r\n\r\n" + huge);
  EXPECT_EQ(std::atoi(reply.c_str() + 9), 413);
  EXPECT_EQ(Get("/xend/node/").status, 200);  // still serving
  EXPECT_TRUE(stack_->txend().Running());
}

// Numbers from a request are parsed with the types they end up in: an absurd
// value is a 400 naming the parameter, never a crash or a truncated value.
TEST_F(TxendTest, AbsurdNumbersAreBadRequestsNotCrashesOrTruncations) {
  Create("numbers", 0, 0);
  struct Case {
    std::vector<std::pair<std::string, std::string>> form;
    const char* body;
  } cases[] = {
      {{{"op", "sysrq"}, {"key", "99999999999"}}, "Invalid parameter: key"},
      {{{"op", "sysrq"}, {"key", "256"}}, "Invalid parameter: key"},
      {{{"op", "set_vcpus"}, {"vcpus", "4294967297"}}, "Invalid parameter: vcpus"},
      {{{"op", "domain_sched_credit_set"}, {"weight", "4294967552"}}, "Invalid parameter: weight"},
      {{{"op", "mem_target_set"}, {"target", "99999999999999999999"}}, "Invalid parameter: target"},
      {{{"op", "migrate"}, {"destination", "127.0.0.1"}, {"port", "70000"}},
       "Invalid parameter: port"},
  };
  for (const auto& c : cases) {
    auto r = Post("/xend/domain/numbers", c.form);
    EXPECT_EQ(r.status, 400) << c.form[0].second << ": " << r.body;
    EXPECT_NE(r.body.find(c.body), std::string::npos) << r.body;
  }
  EXPECT_TRUE(stack_->txend().Running());
  auto info = Get("/xend/domain/numbers?detail=1");
  EXPECT_EQ(sxp::ChildValue(info.sxp, "online_vcpus"), "2") << info.body;  // unchanged
  EXPECT_EQ(Post("/xend/domain/numbers", {{"op", "sysrq"}, {"key", "98"}}).status, 202);
}

// Paths a request names (kernel, ramdisk, restore, save and core files) are
// opened without blocking and must be regular files of bounded size: a FIFO,
// /dev/zero or a huge sparse file gets a clear error at once, and the daemon
// keeps serving reads and lifecycle operations.
TEST_F(TxendTest, HostilePathsGetClearErrorsAndNeverWedgeTheDaemon) {
  std::string domid = Create("victim", 0, 0);
  const std::string fifo = stack_->path("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // An ELF kernel header on 2 GiB of holes: no disk used, larger than any builder takes.
  const std::string huge = WriteFile(stack_->path("huge"), Elf64Header());
  ASSERT_EQ(::truncate(huge.c_str(), 2ll << 30), 0);
  XendClient client = stack_->client().set_timeout_s(20);
  auto config = [&](const std::string& kernel, const std::string& ramdisk) {
    return "(vm (name probe)(memory 64)(image (linux (kernel '" + kernel + "')" +
           (ramdisk.empty() ? "" : "(ramdisk '" + ramdisk + "')") + ")))";
  };
  struct Case {
    std::string path;
    std::vector<std::pair<std::string, std::string>> form;
    std::string expected;  // in the error
  };
  std::vector<Case> cases;
  for (const std::string& bad : {fifo, std::string("/dev/zero"), huge}) {
    std::string why = bad == huge ? "larger than" : "not a regular file";
    cases.push_back({"/xend/domain/", {{"op", "create"}, {"config", config(bad, "")}}, why});
    cases.push_back(
        {"/xend/domain/", {{"op", "create"}, {"config", config(stack_->kernel(), bad)}}, why});
    cases.push_back({"/xend/domain/",
                     {{"op", "restore"}, {"file", bad}},
                     bad == huge ? "not a txend save file" : why});
  }
  cases.push_back({"/xend/domain/victim", {{"op", "save"}, {"file", fifo}}, "not a regular file"});
  cases.push_back(
      {"/xend/domain/victim", {{"op", "save"}, {"file", "/dev/null"}}, "not a regular file"});
  cases.push_back({"/xend/domain/victim", {{"op", "dump"}, {"file", fifo}}, "not a regular file"});
  for (const auto& c : cases) {
    auto r = client.Post(c.path, c.form);
    std::string what = c.form[0].second + " " + sxp::ToString(sxp::Value(c.form[1].second));
    EXPECT_EQ(r.status, 500) << what << ": " << r.body;
    EXPECT_NE(r.body.find(c.expected), std::string::npos) << what << ": " << r.body;
    EXPECT_EQ(Get("/xend/domain/victim").status, 200) << "after " << what;
  }
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/victim").sxp, "domid"), domid);
  EXPECT_EQ(Get("/xend/domain/probe").status, 404);
  Create("after", 0, 0);  // lifecycle operations still run
}

// A name that a ref would resolve to another domain (Domain-0, a domid, a
// uuid) is refused by create, new and rename, as xend refused names it could
// look up; commands then still address the domain they name.
TEST_F(TxendTest, AmbiguousNamesAreRefused) {
  std::string domid = Create("plain", 0, 0);
  const std::string uuid_name = "6f1e0e2c-3b4a-4c5d-8e9f-0a1b2c3d4e5f";
  for (const std::string& name : {std::string("Domain-0"), domid, std::string("7"), uuid_name}) {
    std::string config = stack_->Config(name, 0, 0);
    auto created = Post("/xend/domain/", {{"op", "create"}, {"config", config}});
    EXPECT_EQ(created.status, 500) << name;
    EXPECT_NE(created.body.find("choose another name"), std::string::npos) << created.body;
    auto defined = Post("/xend/domain/", {{"op", "new"}, {"config", config}});
    EXPECT_EQ(defined.status, 500) << name;
    auto renamed = Post("/xend/domain/plain", {{"op", "rename"}, {"name", name}});
    EXPECT_EQ(renamed.status, 500) << name;
    EXPECT_NE(renamed.body.find("choose another name"), std::string::npos) << renamed.body;
  }
  auto nil_uuid =
      Post("/xend/domain/",
           {{"op", "create"},
            {"config", "(vm (name nil)(uuid 00000000-0000-0000-0000-000000000000)(memory 64)" +
                           std::string("(image (linux (kernel '") + stack_->kernel() + "'))))"}});
  EXPECT_EQ(nil_uuid.status, 500);
  EXPECT_NE(nil_uuid.body.find("is Domain-0"), std::string::npos) << nil_uuid.body;
  auto names = Get("/xend/domain/");
  EXPECT_EQ(sxp::ToString(names.sxp), "(Domain-0 plain)");
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/Domain-0").sxp, "domid"), "0");
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/" + domid).sxp, "name"), "plain");
}

// xend started the managed domains marked (on_xend_start start) once it was up; libvirt's
// autostart sets the mark. A txend start does too: those not running, once each. One that
// cannot start is logged and the rest start all the same; unmarked ones stay halted.
TEST_F(TxendTest, AStartStartsTheManagedDomainsMarkedAutostart) {
  auto define = [&](const std::string& name, bool autostart, const std::string& kernel = "") {
    std::string config = stack_->Config(name, 1, 1);
    if (autostart) config = "(vm (on_xend_start start)" + config.substr(3);
    if (!kernel.empty())
      config.replace(config.find(stack_->kernel()), stack_->kernel().size(), kernel);
    auto r = Post("/xend/domain/", {{"op", "new"}, {"config", config}});
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
  };
  auto domid = [&](const std::string& name) {
    return sxp::ChildValue(Get("/xend/domain/" + name + "?detail=1").sxp, "domid");
  };
  define("auto", true);
  define("plain", false);
  define("broken", true, stack_->path("no-such-kernel"));
  define("already", true);
  ASSERT_EQ(Post("/xend/domain/already", {{"op", "start"}}).status, 202);
  const std::string already = domid("already");
  ASSERT_FALSE(already.empty());

  ASSERT_TRUE(stack_->RestartTxend(SIGTERM).ok());
  ASSERT_TRUE(Eventually(kWait, [&] { return !domid("auto").empty(); })) << "auto started";
  const std::string started = domid("auto");
  EXPECT_EQ(sxp::ChildValue(Get("/xend/domain/auto?detail=1").sxp, "state"), "-b----")
      << "started unpaused";
  EXPECT_EQ(domid("plain"), "");
  EXPECT_EQ(domid("broken"), "");
  EXPECT_EQ(domid("already"), already) << "left running, not started twice";
  EXPECT_TRUE(Eventually(kWait, [&] {
    return ReadFile(stack_->log_file()).find("autostart: cannot start broken") != std::string::npos;
  })) << ReadFile(stack_->log_file());

  ASSERT_TRUE(stack_->RestartTxend(SIGTERM).ok());
  ASSERT_TRUE(Eventually(kWait, [&] {
    return ReadFile(stack_->log_file()).find("autostart: cannot start broken") !=
           ReadFile(stack_->log_file()).rfind("autostart: cannot start broken");
  })) << "the second start's autostart ran";
  EXPECT_EQ(domid("auto"), started) << "running: not started again";
}

// xend asked the running domains marked (on_xend_stop shutdown) to power off when it stopped.
// txend does, and waits for them; one marked suspend keeps running (no managed save images
// here), logged; unmarked ones keep running and a new txend takes them over.
TEST_F(TxendTest, AStopShutsDownTheDomainsMarkedToStopWithIt) {
  auto create = [&](const std::string& name, const std::string& on_stop) {
    std::string config = stack_->Config(name, 1, 1);
    if (!on_stop.empty()) config = "(vm (on_xend_stop " + on_stop + ")" + config.substr(3);
    ASSERT_EQ(Post("/xend/domain/", {{"op", "create"}, {"config", config}}).status, 201) << name;
    ASSERT_EQ(Post("/xend/domain/" + name, {{"op", "unpause"}}).status, 200) << name;
  };
  auto domid = [&](const std::string& name) {
    return sxp::ChildValue(Get("/xend/domain/" + name + "?detail=1").sxp, "domid");
  };
  create("stopper", "shutdown");
  create("sleeper", "suspend");
  create("keeper", "");
  const std::string sleeper = domid("sleeper"), keeper = domid("keeper");

  ASSERT_TRUE(stack_->RestartTxend(SIGTERM).ok());
  EXPECT_EQ(Get("/xend/domain/stopper").status, 404) << "shut down (on_poweroff destroy)";
  EXPECT_EQ(domid("sleeper"), sleeper);
  EXPECT_EQ(domid("keeper"), keeper);
  const std::string log = ReadFile(stack_->log_file());
  EXPECT_NE(log.find("on_xend_stop: shut down stopper"), std::string::npos) << log;
  EXPECT_NE(log.find("on_xend_stop: cannot suspend sleeper"), std::string::npos) << log;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("on_xend_stop") != std::string::npos) {
      EXPECT_EQ(line.find("keeper"), std::string::npos) << line;
    }
  }
}

TEST_F(TxendTest, DomainsSurviveATxendRestart) {
  std::string domid = Create("durable", 2, 1);
  ASSERT_TRUE(stack_->RestartTxend(SIGKILL).ok());
  auto d = Get("/xend/domain/durable?detail=1");
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(sxp::ChildValue(d.sxp, "domid"), domid);
  EXPECT_EQ(sxp::Children(d.sxp, "device").size(), 3u);
  ASSERT_EQ(Post("/xend/domain/durable", {{"op", "shutdown"}, {"reason", "poweroff"}}).status, 202);
  EXPECT_TRUE(Eventually(kWait, [&] { return Get("/xend/domain/durable").status == 404; }));
}

// Every request has a line in the log: a change's at once, a read's within a second or
// with the next line of another kind.
TEST_F(TxendTest, EveryRequestIsLoggedAReadWithinASecond) {
  auto log_says = [&](const std::string& what) {
    return ReadFile(stack_->log_file()).find(what) != std::string::npos;
  };
  ASSERT_EQ(Get("/xend/domain/no-such-reader").status, 404);
  EXPECT_TRUE(Eventually(std::chrono::seconds(3),
                         [&] { return log_says("GET /xend/domain/no-such-reader 404"); }));
  ASSERT_EQ(Post("/xend/domain/no-such-changer", {{"op", "pause"}}).status, 404);
  EXPECT_TRUE(log_says("POST /xend/domain/no-such-changer 404"));
}

TEST_F(TxendTest, DomainsAndTheApiSurviveAnXsdRestart) {
  std::string domid = Create("steady", 2, 1);
  ASSERT_TRUE(Eventually(kWait, [&] { return FrontendsConnected(*stack_, domid); }));
  int txend_pid = stack_->txend().pid();
  ASSERT_TRUE(stack_->RestartXsd(SIGKILL).ok());  // the store comes back from its journal
  // txend notices, restarts itself in place (same pid) and re-introduces the domain.
  auto log_says = [&](const std::string& what) {
    return ReadFile(stack_->log_file()).find(what) != std::string::npos;
  };
  EXPECT_TRUE(Eventually(kWait, [&] { return log_says("lost the xenstore connection"); }));
  ASSERT_TRUE(Eventually(kWait, [&] {
    auto d = Get("/xend/domain/steady?detail=1");
    return d.status == 200 && sxp::ChildValue(d.sxp, "domid") == domid;
  }));
  EXPECT_EQ(stack_->txend().pid(), txend_pid);
  EXPECT_TRUE(stack_->txend().Running());
  EXPECT_TRUE(Eventually(kWait, [&] { return FrontendsConnected(*stack_, domid); }));
  // The guest's kernel reconnected too: it acts on a shutdown request.
  ASSERT_EQ(Post("/xend/domain/steady", {{"op", "shutdown"}, {"reason", "poweroff"}}).status, 202);
  EXPECT_TRUE(Eventually(kWait, [&] { return Get("/xend/domain/steady").status == 404; }));
  Create("after", 1, 0);
}

TEST(TxendTcp, OffByDefaultOnWhenAskedAndFilteredByHostsAllow) {
  auto plain = TxendStack::Start();
  ASSERT_TRUE(plain.ok());
  uint16_t unused = FreeTcpPort();
  EXPECT_EQ(XendClient::Tcp(unused).Raw("GET /xend/node/ HTTP/1.1\r\n\r\n"),
            "");  // nothing listens

  TxendStack::Options o;
  o.tcp_port = FreeTcpPort();
  auto tcp = TxendStack::Start(o);
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  EXPECT_EQ(XendClient::Tcp(o.tcp_port).Get("/xend/node/").status, 200);

  TxendStack::Options strict;
  strict.tcp_port = FreeTcpPort();
  strict.hosts_allow = "^192\\.0\\.2\\.";
  auto refused = TxendStack::Start(strict);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(XendClient::Tcp(strict.tcp_port).Get("/xend/node/").status, 403);
}

}  // namespace
}  // namespace txend::testing
