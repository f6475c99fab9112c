// The toolstack against a real xsd, the simulated hypervisor and simulated kernels.
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/eventually.h"
#include "tests/toolstack/sim_host.h"
#include "toolstack/xs/plain.h"

namespace txend::toolstack {
namespace {

using testing::Eventually;

// How long a simulated guest or backend may take to react.
constexpr std::chrono::seconds kWait{10};

class ToolstackTest : public ::testing::Test {
 protected:
  Result<DomainRecord> Get(const std::string& ref) { return host_.toolstack->queries().Get(ref); }
  // One read: the domain may go between two.
  bool Gone(const std::string& ref) {
    auto r = Get(ref);
    return !r.ok() || !r->info;
  }
  bool AllConnected(const std::string& ref) {
    auto r = Get(ref);
    if (!r.ok() || r->devices.empty()) return false;
    for (const auto& d : r->devices)
      if (d.backend_state != XenbusState::kConnected || d.frontend_state != XenbusState::kConnected)
        return false;
    return true;
  }
  SimHost host_;
};

TEST_F(ToolstackTest, CreateWritesXendsLayoutAndDevicesConnect) {
  auto domid = host_.toolstack->lifecycle().Create(host_.Valid("web"), false);
  ASSERT_TRUE(domid.ok()) << domid.status().ToString();
  std::string home = "/local/domain/" + std::to_string(domid->info->domid);
  auto rec = Get("web");
  ASSERT_TRUE(rec.ok());
  std::string vm = "/vm/" + rec->config->uuid;
  EXPECT_EQ(host_.Read(home + "/name"), "web");
  EXPECT_EQ(host_.Read(home + "/vm"), vm);
  EXPECT_EQ(host_.Read(home + "/memory/target"), "131072");
  EXPECT_EQ(host_.Read(vm + "/name"), "web");
  EXPECT_EQ(host_.Read(vm + "/image/kernel"), host_.kernel());
  EXPECT_EQ(host_.Read(home + "/device/vbd/51713/backend"),
            "/local/domain/0/backend/vbd/" + std::to_string(domid->info->domid) + "/51713");
  EXPECT_EQ(host_.Read("/local/domain/0/backend/vbd/" + std::to_string(domid->info->domid) +
                       "/51713/params"),
            "/dev/vg/web-0");
  EXPECT_EQ(
      host_.Read("/local/domain/0/backend/vif/" + std::to_string(domid->info->domid) + "/0/bridge"),
      "xenbr0");
  EXPECT_TRUE(Eventually(kWait, [&] { return AllConnected("web"); }));
  // The simulated guest kernel marks its vcpus blocked once it has booted.
  EXPECT_TRUE(Eventually(kWait, [&] {
    auto now = Get("web");
    return now.ok() && now->info && now->info->StateString() == "-b----";
  }));
  EXPECT_TRUE(Get(std::to_string(domid->info->domid)).ok());
  EXPECT_TRUE(Get(rec->config->uuid).ok());
  EXPECT_EQ(Get("nope").status().code(), ESRCH);
}

TEST_F(ToolstackTest, TransactionBudgetsCountedByXsd) {
  uint64_t t0 = host_.Stat("transactions_started");
  auto domid = host_.toolstack->lifecycle().Create(host_.Valid("budget"), false);
  ASSERT_TRUE(domid.ok()) << domid.status().ToString();
  uint64_t create = host_.Stat("transactions_started") - t0;
  EXPECT_LE(create, 4u);
  EXPECT_EQ(create, 2u);  // write everything; read the device results once

  ASSERT_TRUE(Eventually(kWait, [&] { return AllConnected("budget"); }));
  // A write under the domain: its next read reads xenstore again, in one snapshot.
  ASSERT_TRUE(
      xs::PlainWrite(*host_.xs,
                     "/local/domain/" + std::to_string(domid->info->domid) + "/data/touched", "1")
          .ok());
  uint64_t t1 = host_.Stat("transactions_started");
  ASSERT_TRUE(Get("budget").ok());
  EXPECT_EQ(host_.Stat("transactions_started") - t1, 1u);  // domain info: one snapshot
  ASSERT_TRUE(Get("budget").ok());
  EXPECT_EQ(host_.Stat("transactions_started") - t1, 1u);  // unchanged since: from the cache
  ASSERT_TRUE(host_.toolstack->queries().Resolve("budget").ok());
  EXPECT_EQ(host_.Stat("transactions_started") - t1, 1u);  // resolving a name: none
  EXPECT_EQ(domid->config, host_.toolstack->queries().Resolve("budget")->config)
      << "create's record shares the registered config";

  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(
        host_.toolstack->lifecycle().Create(host_.Valid("extra" + std::to_string(i)), false).ok());
  uint64_t t2 = host_.Stat("transactions_started");
  {
    auto all = host_.toolstack->queries().List();
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 5u);  // Domain-0 and four guests
  }
  EXPECT_EQ(host_.Stat("transactions_started") - t2, 1u);  // list of N domains: one snapshot

  uint64_t t3 = host_.Stat("transactions_started");
  uint32_t budget_domid = domid->info->domid;
  ASSERT_TRUE(host_.toolstack->lifecycle().Shutdown("budget", "poweroff").ok());
  // Poll the hypervisor, not xenstore: the test must not add transactions of its own.
  ASSERT_TRUE(Eventually(kWait, [&] { return !host_.sim->GetDomainInfo(budget_domid).ok(); }));
  // The request, then the clean-up, which runs on the @releaseDomain thread.
  EXPECT_TRUE(Eventually(kWait, [&] { return host_.Stat("transactions_started") - t3 == 2u; }));

  uint64_t t4 = host_.Stat("transactions_started");
  ASSERT_TRUE(host_.toolstack->lifecycle().Destroy("extra0").ok());
  EXPECT_EQ(host_.Stat("transactions_started") - t4, 1u);
}

TEST_F(ToolstackTest, ShutdownRebootAndCrashFollowTheConfiguredActions) {
  auto config = host_.Config("cycle", 1, 0);
  config.on_crash = ShutdownAction::kPreserve;
  auto domid = host_.toolstack->lifecycle().Create(host_.Valid(config), false);
  ASSERT_TRUE(domid.ok());
  ASSERT_TRUE(Eventually(kWait, [&] { return host_.guests->running_kernels() == 1; }));

  ASSERT_TRUE(host_.toolstack->lifecycle()
                  .Shutdown("cycle", "reboot")
                  .ok());  // on_reboot=restart: a new domid
  uint32_t second = 0;
  ASSERT_TRUE(Eventually(kWait, [&] {
    auto r = Get("cycle");
    if (!r.ok() || !r->info || r->info->domid == domid->info->domid) return false;
    second = r->info->domid;
    return true;
  }));
  EXPECT_FALSE(host_.sim->GetDomainInfo(domid->info->domid).ok());  // the old one is gone
  EXPECT_FALSE(host_.Read("/local/domain/" + std::to_string(domid->info->domid) + "/name"));

  ASSERT_TRUE(host_.sim->GuestShutdown(second, ShutdownReason::kCrash).ok());  // on_crash=preserve
  host_.toolstack->exits().HandlePending();
  auto crashed = Get("cycle");
  ASSERT_TRUE(crashed.ok());
  EXPECT_EQ(crashed->info->StateString(), "----c-");
  std::string said = "domain cycle (" + std::to_string(second) + ") crashed; on_crash preserve\n";
  host_.toolstack->exits().HandlePending();  // looked at again: said once
  EXPECT_EQ(host_.Log(), said) << "a crash is logged once, as xend did";

  ASSERT_TRUE(host_.toolstack->lifecycle().Destroy("cycle").ok());
  EXPECT_TRUE(Gone("cycle"));
  auto create_again = host_.toolstack->lifecycle().Create(host_.Valid(config), false);
  ASSERT_TRUE(create_again.ok());
  ASSERT_TRUE(
      Eventually(kWait, [&] { return host_.guests->kernel_running(create_again->info->domid); }));
  ASSERT_TRUE(
      host_.toolstack->lifecycle().Shutdown("cycle", "poweroff").ok());  // on_poweroff=destroy
  EXPECT_TRUE(Eventually(kWait, [&] { return Gone("cycle"); }));
  EXPECT_EQ(host_.toolstack->lifecycle().Shutdown("cycle", "poweroff").code(), ESRCH);
  EXPECT_EQ(host_.toolstack->lifecycle().Shutdown("x", "explode").code(), ESRCH);
}

// A domain destroyed by someone else (xl destroy) is tidied up and said so in the log.
TEST_F(ToolstackTest, ADomainDestroyedOutsideIsCleanedUpAndLogged) {
  auto created = host_.toolstack->lifecycle().Create(host_.Valid("gone", 0, 0), false);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  uint32_t domid = created->info->domid;
  ASSERT_TRUE(host_.sim->Destroy(domid).ok());
  host_.toolstack->exits().HandlePending();
  EXPECT_TRUE(Gone("gone"));
  EXPECT_FALSE(host_.Read("/local/domain/" + std::to_string(domid) + "/name"));
  EXPECT_EQ(host_.Log(),
            "domain gone (" + std::to_string(domid) +
                ") is gone from the hypervisor (destroyed outside txend): cleaning up\n");
}

// As libxl does: the domain is paused, its nodes go while it still exists, and
// only then does the hypervisor destroy it. Xen's C xenstored refuses (ENOMEM)
// a commit that changes nodes charged to a domain it has already released.
TEST_F(ToolstackTest, ADomainsNodesGoBeforeTheHypervisorDestroysIt) {
  auto created = host_.toolstack->lifecycle().Create(host_.Valid("tidy", 1, 1), false);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  uint32_t domid = created->info->domid;
  std::string home = "/local/domain/" + std::to_string(domid) + "/name";
  std::vector<std::string> seen;  // what each event found; on the destroying thread
  int id = host_.sim->Subscribe([&](const SimEvent& e) {
    if (e.domid != domid) return;
    if (e.kind == SimEvent::Kind::kPaused)
      seen.push_back(host_.Read(home) ? "paused, named" : "paused");
    if (e.kind == SimEvent::Kind::kDying || e.kind == SimEvent::Kind::kReleased)
      seen.push_back(host_.Read(home) ? "gone, named" : "gone");
  });
  Status st = host_.toolstack->lifecycle().Destroy("tidy");
  host_.sim->Unsubscribe(id);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"paused, named", "gone"}));
}

TEST_F(ToolstackTest, PauseMemoryVcpusPinningAndCredit) {
  auto domid = host_.toolstack->lifecycle().Create(host_.Valid("tune", 1, 0), false);
  ASSERT_TRUE(domid.ok());
  ASSERT_TRUE(host_.toolstack->lifecycle().Pause("tune").ok());
  EXPECT_EQ(Get("tune")->info->StateString()[2], 'p');
  ASSERT_TRUE(host_.toolstack->lifecycle().Unpause("tune").ok());

  ASSERT_TRUE(host_.toolstack->lifecycle().SetMaxMemory("tune", 256).ok());
  ASSERT_TRUE(host_.toolstack->lifecycle().SetMemoryTarget("tune", 200).ok());
  EXPECT_TRUE(Eventually(kWait, [&] {
    return host_.sim->GetDomainInfo(domid->info->domid)->memory_kib == 200u * 1024;
  }));
  EXPECT_EQ(host_.toolstack->lifecycle().SetMemoryTarget("tune", 300).code(), EINVAL);
  EXPECT_EQ(host_.toolstack->lifecycle().SetMaxMemory("tune", 100).code(), EINVAL);

  ASSERT_TRUE(host_.toolstack->lifecycle().SetVcpus("tune", 1).ok());
  EXPECT_TRUE(Eventually(
      kWait, [&] { return host_.sim->GetDomainInfo(domid->info->domid)->online_vcpus == 1; }));
  EXPECT_EQ(host_.toolstack->lifecycle().SetVcpus("tune", 3).code(), EINVAL);

  ASSERT_TRUE(host_.toolstack->lifecycle().PinVcpu("tune", "0", "1-2").ok());
  EXPECT_EQ((*host_.toolstack->queries().Vcpus("tune"))[0].affinity, (CpuSet{1, 2}));
  ASSERT_TRUE(host_.toolstack->lifecycle().PinVcpu("tune", "all", "3").ok());
  EXPECT_EQ((*host_.toolstack->queries().Vcpus("tune"))[1].affinity, (CpuSet{3}));
  EXPECT_EQ(host_.toolstack->lifecycle().PinVcpu("tune", "0", "99").code(), EINVAL);

  ASSERT_TRUE(host_.toolstack->lifecycle().SetSchedCredit("tune", 512, std::nullopt).ok());
  EXPECT_EQ(host_.toolstack->lifecycle().GetSchedCredit("tune")->weight, 512u);
  EXPECT_EQ(host_.toolstack->lifecycle().SetSchedCredit("tune", 0, std::nullopt).code(), EINVAL);
  EXPECT_EQ(Get("tune")->config->cpu_weight, 512u);
}

TEST_F(ToolstackTest, RenameKeepsTheDomainAndRejectsDuplicates) {
  ASSERT_TRUE(host_.toolstack->lifecycle().Create(host_.Valid("old", 0, 0), false).ok());
  ASSERT_TRUE(host_.toolstack->lifecycle().Create(host_.Valid("other", 0, 0), false).ok());
  ASSERT_TRUE(host_.toolstack->lifecycle().Rename("old", "new").ok());
  auto r = Get("new");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(host_.Read("/local/domain/" + std::to_string(r->info->domid) + "/name"), "new");
  EXPECT_EQ(host_.toolstack->lifecycle().Rename("new", "other").code(), EEXIST);
  EXPECT_EQ(host_.toolstack->lifecycle().Rename("new", "bad name").code(), EINVAL);
}

TEST_F(ToolstackTest, SaveAndRestoreRoundTrip) {
  auto config = host_.Config("saved", 1, 1);
  config.memory_mb = config.maxmem_mb = 32;
  auto domid = host_.toolstack->lifecycle().Create(host_.Valid(config), false);
  ASSERT_TRUE(domid.ok());
  ASSERT_TRUE(Eventually(kWait, [&] { return host_.guests->running_kernels() == 1; }));
  std::string uuid = Get("saved")->config->uuid;
  std::string file = host_.path("saved.chk");
  ASSERT_TRUE(host_.toolstack->lifecycle().Save("saved", file).ok());
  EXPECT_TRUE(Gone("saved"));
  EXPECT_GT(std::filesystem::file_size(file), 32u << 20);
  auto restored = host_.toolstack->lifecycle().Restore(file, false);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto r = Get("saved");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config->uuid, uuid);
  EXPECT_EQ(r->info->memory_kib, 32u << 10);
  EXPECT_TRUE(Eventually(kWait, [&] { return AllConnected("saved"); }));
  EXPECT_EQ(host_.toolstack->lifecycle().Restore(host_.kernel(), false).status().code(), EINVAL);
}

TEST_F(ToolstackTest, ManagedDomainsAreDefinedStartedAndSurviveRestart) {
  ASSERT_TRUE(host_.toolstack->managed().New(host_.Valid("kept", 1, 0)).ok());
  EXPECT_EQ(host_.toolstack->managed().New(host_.Valid("kept", 1, 0)).code(), EEXIST);
  auto inactive = Get("kept");
  ASSERT_TRUE(inactive.ok());
  EXPECT_FALSE(inactive->info);
  EXPECT_TRUE(inactive->managed);
  auto domid = host_.toolstack->managed().Start("kept", false);
  ASSERT_TRUE(domid.ok()) << domid.status().ToString();
  EXPECT_EQ(host_.toolstack->managed().Delete("kept").code(), EBUSY);
  ASSERT_TRUE(Eventually(kWait, [&] { return host_.guests->running_kernels() == 1; }));

  host_.Restart();  // txend restarts; the domain keeps running
  auto after = Get("kept");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_TRUE(after->info);
  EXPECT_EQ(after->info->domid, *domid);
  EXPECT_TRUE(Eventually(kWait, [&] { return host_.guests->running_kernels() == 1; }));

  ASSERT_TRUE(host_.toolstack->lifecycle().Shutdown("kept", "poweroff").ok());
  ASSERT_TRUE(Eventually(kWait, [&] { return Gone("kept"); }));
  EXPECT_TRUE(Get("kept")->managed);  // still defined
  ASSERT_TRUE(host_.toolstack->managed().Delete("kept").ok());
  EXPECT_EQ(Get("kept").status().code(), ESRCH);
}

TEST_F(ToolstackTest, FailedCreatesLeaveNothingBehind) {
  auto count_domains = [&] { return host_.sim->ListDomains()->size(); };
  auto homes = [&] {
    auto snap = xs::Snapshot::Begin(*host_.xs);
    return snap->Directory("/local/domain")->size();
  };
  size_t domains = count_domains(), home_count = homes();

  auto huge = host_.Config("huge");
  huge.memory_mb = huge.maxmem_mb = 1 << 20;
  EXPECT_EQ(host_.toolstack->lifecycle().Create(host_.Valid(huge), false).status().code(), ENOMEM);

  auto no_kernel = host_.Config("nokernel");
  no_kernel.image.kernel = host_.path("missing-vmlinuz");
  EXPECT_EQ(host_.toolstack->lifecycle().Create(host_.Valid(no_kernel), false).status().code(),
            ENOENT);

  auto bad = host_.Config("bad");
  bad.vbds[0].dev = "floppy";
  EXPECT_EQ(host_.toolstack->CheckConfig(bad).status().code(), EINVAL);  // refused before create

  ASSERT_TRUE(host_.toolstack->lifecycle().Create(host_.Valid("dup"), false).ok());
  EXPECT_EQ(host_.toolstack->lifecycle().Create(host_.Valid("dup"), false).status().code(), EEXIST);

  host_.backends.reset();  // no backend will answer: the device wait times out
  auto stuck = host_.Config("stuck");
  auto r = host_.toolstack->lifecycle().Create(host_.Valid(stuck), false);
  ASSERT_EQ(r.status().code(), ETIMEDOUT);
  EXPECT_NE(r.status().message().find("could not be connected"), std::string::npos);

  EXPECT_EQ(count_domains(), domains + 1);  // only "dup"
  EXPECT_EQ(homes(), home_count + 1);
}

TEST_F(ToolstackTest, DevicesAttachAndDetach) {
  auto domid = host_.toolstack->lifecycle().Create(host_.Valid("hot", 1, 1), false);
  ASSERT_TRUE(domid.ok());
  ASSERT_TRUE(Eventually(kWait, [&] { return AllConnected("hot"); }));
  auto disk = sxp::Parse("(vbd (uname file:/srv/extra.img) (dev xvdb) (mode r))");
  uint64_t t0 = host_.Stat("transactions_started");
  ASSERT_TRUE(host_.toolstack->devices().AttachDevice("hot", *disk).ok());
  EXPECT_EQ(host_.Stat("transactions_started") - t0, 2u);
  Status again = host_.toolstack->devices().AttachDevice("hot", *disk);  // the same disk twice
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("xvdb"), std::string::npos) << again.ToString();
  ASSERT_TRUE(
      host_.toolstack->devices().AttachDevice("hot", *sxp::Parse("(vif (bridge xenbr1))")).ok());
  EXPECT_TRUE(
      Eventually(kWait, [&] { return AllConnected("hot") && Get("hot")->devices.size() == 4; }));

  uint64_t t1 = host_.Stat("transactions_started");
  Status detached = host_.toolstack->devices().DetachDevice("hot", "vbd", "xvdb", false);
  ASSERT_TRUE(detached.ok()) << detached.ToString();
  EXPECT_EQ(host_.Stat("transactions_started") - t1, 2u);
  EXPECT_FALSE(
      host_.Read("/local/domain/" + std::to_string(domid->info->domid) + "/device/vbd/51728"));
  ASSERT_TRUE(host_.toolstack->devices().DetachDevice("hot", "vif", "0", false).ok());
  auto r = Get("hot");
  ASSERT_EQ(r->devices.size(), 2u);
  EXPECT_EQ(r->devices[1].ref.devid, 1u);  // the remaining vif keeps its id
  EXPECT_EQ(host_.toolstack->devices().DetachDevice("hot", "vbd", "xvdz", false).code(), ENODEV);
  EXPECT_EQ(host_.toolstack->devices()
                .AttachDevice("hot", *sxp::Parse("(vbd (uname /nope) (dev xvdc))"))
                .code(),
            EINVAL);
}

// A guest kernel read the names below cpu/ and device/<type>/ with std::stoul:
// one that is not a number threw on its watch thread and ended the process.
TEST_F(ToolstackTest, GuestKernelsSkipNodeNamesThatAreNotNumbers) {
  auto created = host_.toolstack->lifecycle().Create(host_.Valid("odd", 1, 0), false);
  ASSERT_TRUE(created.ok());
  const uint32_t domid = created->info->domid;
  ASSERT_TRUE(Eventually(kWait, [&] { return AllConnected("odd"); }));
  std::string home = "/local/domain/" + std::to_string(domid);
  ASSERT_TRUE(xs::PlainWrite(*host_.xs, home + "/cpu/x/availability", "online").ok());
  ASSERT_TRUE(xs::PlainWrite(*host_.xs, home + "/fake-backend/state", "2").ok());
  ASSERT_TRUE(
      xs::PlainWrite(*host_.xs, home + "/device/vbd/junk/backend", home + "/fake-backend").ok());
  ASSERT_TRUE(xs::PlainWrite(*host_.xs, home + "/device/vbd/junk/state", "1").ok());
  // The kernel still works (and left the odd device alone).
  ASSERT_TRUE(host_.toolstack->lifecycle().SetMemoryTarget("odd", 100).ok());
  EXPECT_TRUE(Eventually(
      kWait, [&] { return host_.sim->GetDomainInfo(domid)->memory_kib == 100u * 1024; }));
  EXPECT_EQ(host_.Read(home + "/device/vbd/junk/state"), "1");
}

}  // namespace
}  // namespace txend::toolstack
