// The simulated hypervisor: lifecycle, ids, memory accounting, vcpus, credit,
// cpu time on an injected clock, events and errors. Kernels are real files.
#include "toolstack/hypervisor/sim/sim_hypervisor.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/small_filesystem.h"
#include "tests/toolstack/hypervisor_test_util.h"

namespace txend::toolstack {
namespace {

using testing::BuildDomain;
using testing::WriteFile;

constexpr uint64_t kGiB = 1ull << 20;  // in KiB
constexpr uint64_t kSecond = 1'000'000'000;

class SimHypervisorTest : public ::testing::Test {
 protected:
  SimHypervisorTest() : kernel_(testing::WriteFakeKernel(dir_ / "vmlinuz")) {}

  SimOptions Options() {
    SimOptions o;
    o.host_memory_kib = 16 * kGiB;
    o.dom0_memory_kib = 1 * kGiB;
    o.nr_cpus = 4;
    o.clock = clock_;
    return o;
  }
  DomainInfo Info(DomId domid) { return sim_.GetDomainInfo(domid).value(); }
  uint64_t FreeKib() { return sim_.Physinfo()->free_memory_kib; }
  DomId Create(uint32_t vcpus = 1) {
    CreateRequest r;
    r.max_vcpus = vcpus;
    return sim_.CreateDomain(r).value();
  }
  testing::BuiltDomain Build(uint64_t memory_kib, uint32_t vcpus = 1) {
    return BuildDomain(sim_, kernel_, memory_kib, vcpus);
  }

  txend::testing::TempDir dir_;
  std::string kernel_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  SimHypervisor sim_{Options()};
};

// A process killed between writing a domain's state file and renaming it leaves the temp
// file behind: the next start removes it (it read as a domain to anyone listing the files;
// MigrationNetnsTest.DestinationKilledMidMigration waited on one in vain).
TEST_F(SimHypervisorTest, AStateFileAKillCutShortIsRemovedAtStart) {
  SimOptions o = Options();
  o.state_dir = dir_ / "state";
  {
    SimHypervisor first(o);
    CreateRequest r;
    r.max_vcpus = 1;
    ASSERT_TRUE(first.CreateDomain(r).ok());
  }
  std::ofstream(dir_ / "state/domain-9.json.tmp") << "{\"domid\": 9, \"uu";
  SimHypervisor again(o);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state/domain-9.json.tmp"));
  auto listed = again.ListDomains();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u) << "Domain-0 and the domain created before";
}

// The state directory's disk full: a change that cannot be written leaves the last state whole
// (an empty file was renamed over it, and the next start lost the domain), and is written at the
// next change once there is room.
TEST_F(SimHypervisorTest, AChangeAFullDiskCannotTakeLeavesTheLastStateWhole) {
  auto disk = txend::testing::SmallFilesystem::Mount(1 << 20);
  if (!disk.ok()) GTEST_SKIP() << disk.status().ToString();
  SimOptions o = Options();
  o.state_dir = (*disk)->path();
  CreateRequest r;
  r.max_vcpus = 1;
  DomId domid = 0;
  {
    SimHypervisor first(o);
    domid = first.CreateDomain(r).value();
    (*disk)->Fill();
    ASSERT_TRUE(first.SetMaxMemory(domid, 4096).ok());  // not written: no room
  }
  {
    SimHypervisor again(o);
    auto info = again.GetDomainInfo(domid);
    ASSERT_TRUE(info.ok()) << "the domain's last state was kept: " << info.status().ToString();
    EXPECT_NE(info->max_memory_kib, 4096u);
    (*disk)->Unfill();
    ASSERT_TRUE(again.SetMaxMemory(domid, 8192).ok());
  }
  SimHypervisor third(o);
  ASSERT_TRUE(third.GetDomainInfo(domid).ok());
  EXPECT_EQ(third.GetDomainInfo(domid)->max_memory_kib, 8192u);
}

TEST_F(SimHypervisorTest, Domain0ExistsFromTheStart) {
  auto list = sim_.ListDomains();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const DomainInfo& dom0 = list->front();
  EXPECT_EQ(dom0.domid, kDom0);
  EXPECT_EQ(dom0.memory_kib, 1 * kGiB);
  EXPECT_EQ(dom0.online_vcpus, 4u);
  EXPECT_EQ(dom0.StateString(), "r-----");
  EXPECT_TRUE(dom0.uuid.IsNil());
  auto phys = sim_.Physinfo();
  EXPECT_EQ(phys->nr_cpus, 4u);
  EXPECT_EQ(phys->total_memory_kib, 16 * kGiB);
  EXPECT_EQ(phys->free_memory_kib, 15 * kGiB);
  EXPECT_TRUE(phys->pv && phys->hvm);
  auto version = sim_.Version();
  EXPECT_EQ(version->major, 4u);
  EXPECT_NE(version->caps.find("xen-3.0-x86_64"), std::string::npos);
  EXPECT_EQ(version->scheduler, "credit");
  EXPECT_EQ(sim_.Name(), "sim");
}

TEST_F(SimHypervisorTest, NewDomainIsPausedEmptyAndKeepsItsUuid) {
  CreateRequest r;
  r.uuid = *Uuid::Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff");
  r.max_vcpus = 3;
  r.ssidref = 7;
  DomId domid = sim_.CreateDomain(r).value();
  DomainInfo d = Info(domid);
  EXPECT_EQ(d.uuid, r.uuid);
  EXPECT_EQ(d.StateString(), "--p---");
  EXPECT_EQ(d.memory_kib, 0u);
  EXPECT_EQ(d.online_vcpus, 0u);
  EXPECT_EQ(d.MaxVcpus(), 3u);
  EXPECT_EQ(d.ssidref, 7u);
  EXPECT_FALSE(d.hvm);
}

TEST_F(SimHypervisorTest, IdsIncreaseAndAreNotReusedBeforeWrapping) {
  DomId a = Create(), b = Create(), c = Create();
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(c, 3u);
  ASSERT_TRUE(sim_.Destroy(b).ok());
  EXPECT_EQ(Create(), 4u);
  CreateRequest explicit_id;
  explicit_id.domid = 2;
  EXPECT_EQ(*sim_.CreateDomain(explicit_id), 2u);
  explicit_id.domid = 3;
  EXPECT_EQ(sim_.CreateDomain(explicit_id).status().code(), EEXIST);
  explicit_id.domid = kFirstReservedDomId;
  EXPECT_EQ(sim_.CreateDomain(explicit_id).status().code(), EINVAL);
}

TEST_F(SimHypervisorTest, IdsWrapToTheLowestFreeAfterTheLast) {
  SimOptions o = Options();
  o.first_reserved_domid = 5;  // ids 1..4
  SimHypervisor sim(o);
  for (DomId want = 1; want <= 4; ++want) EXPECT_EQ(*sim.CreateDomain({}), want);
  ASSERT_TRUE(sim.Destroy(3).ok());
  ASSERT_TRUE(sim.Destroy(2).ok());
  EXPECT_EQ(*sim.CreateDomain({}), 2u);
  EXPECT_EQ(*sim.CreateDomain({}), 3u);
  auto full = sim.CreateDomain({});
  EXPECT_EQ(full.status().code(), ENOMEM);
  EXPECT_EQ(full.status().message(), "no free domain id");
}

TEST_F(SimHypervisorTest, CreateRejectsImpossibleRequests) {
  CreateRequest r;
  r.max_vcpus = 0;
  EXPECT_EQ(sim_.CreateDomain(r).status().code(), EINVAL);
  r.max_vcpus = 1000;
  EXPECT_EQ(sim_.CreateDomain(r).status().code(), EINVAL);
  EXPECT_EQ(sim_.ListDomains()->size(), 1u);
}

TEST_F(SimHypervisorTest, PauseNestsAndUnpauseOfARunningDomainFails) {
  DomId d = Build(64 * 1024).domid;
  ASSERT_TRUE(sim_.Unpause(d).ok());
  EXPECT_EQ(Info(d).StateString(), "r-----");
  Status again = sim_.Unpause(d);
  EXPECT_EQ(again.code(), EINVAL);
  EXPECT_EQ(again.message(), "domain 1 is not paused");
  ASSERT_TRUE(sim_.Pause(d).ok());
  ASSERT_TRUE(sim_.Pause(d).ok());
  ASSERT_TRUE(sim_.Unpause(d).ok());
  EXPECT_TRUE(Info(d).paused);
  ASSERT_TRUE(sim_.Unpause(d).ok());
  EXPECT_FALSE(Info(d).paused);
}

TEST_F(SimHypervisorTest, Domain0CannotBePausedShutDownOrDestroyed) {
  EXPECT_EQ(sim_.Pause(kDom0).code(), EPERM);
  EXPECT_EQ(sim_.Shutdown(kDom0, ShutdownReason::kPoweroff).code(), EPERM);
  EXPECT_EQ(sim_.Destroy(kDom0).code(), EPERM);
  EXPECT_EQ(sim_.Destroy(kDom0).message(), "cannot destroy domain 0");
  EXPECT_EQ(sim_.ListDomains()->size(), 1u);
}

TEST_F(SimHypervisorTest, MemoryIsAccountedAgainstTheHost) {
  EXPECT_EQ(FreeKib(), 15 * kGiB);
  auto a = Build(4 * kGiB);
  EXPECT_EQ(Info(a.domid).memory_kib, 4 * kGiB);
  EXPECT_EQ(Info(a.domid).max_memory_kib, 4 * kGiB);
  EXPECT_EQ(FreeKib(), 11 * kGiB);
  ASSERT_TRUE(sim_.SetShadowMemory(a.domid, 8 * 1024).ok());
  EXPECT_EQ(FreeKib(), 11 * kGiB - 8 * 1024);
  ASSERT_TRUE(sim_.SetShadowMemory(a.domid, 0).ok());
  ASSERT_TRUE(sim_.Destroy(a.domid).ok());
  EXPECT_EQ(FreeKib(), 15 * kGiB);
}

TEST_F(SimHypervisorTest, BuildFailsWithENOMEMWhenTheHostIsFull) {
  Build(10 * kGiB);
  DomId d = Create();
  ASSERT_TRUE(sim_.SetMaxMemory(d, 6 * kGiB).ok());
  PvBuildRequest r;
  r.kernel = kernel_;
  r.memory_kib = 6 * kGiB;
  r.store_port = *sim_.AllocUnboundPort(d, kDom0);
  r.console_port = *sim_.AllocUnboundPort(d, kDom0);
  auto built = sim_.BuildPv(d, r);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), ENOMEM);
  EXPECT_EQ(built.status().message(), "not enough free memory: need 6291456 KiB, 5242880 KiB free");
  EXPECT_EQ(Info(d).memory_kib, 0u);
  EXPECT_EQ(sim_.SetShadowMemory(d, 6 * kGiB).code(), ENOMEM);
  r.memory_kib = 5 * kGiB;
  EXPECT_TRUE(sim_.BuildPv(d, r).ok());
  EXPECT_EQ(FreeKib(), 0u);
}

TEST_F(SimHypervisorTest, BuildBeyondMaxMemoryFails) {
  DomId d = Create();
  ASSERT_TRUE(sim_.SetMaxMemory(d, 256 * 1024).ok());
  PvBuildRequest r;
  r.kernel = kernel_;
  r.memory_kib = 512 * 1024;
  r.store_port = *sim_.AllocUnboundPort(d, kDom0);
  r.console_port = *sim_.AllocUnboundPort(d, kDom0);
  Status st = sim_.BuildPv(d, r).status();
  EXPECT_EQ(st.code(), ENOMEM);
  EXPECT_EQ(st.message(), "domain 1: 524288 KiB exceeds its maximum of 262144 KiB");
}

TEST_F(SimHypervisorTest, BalloonMovesMemoryWithinMaxAndHost) {
  auto a = Build(1 * kGiB);
  ASSERT_TRUE(sim_.SetMaxMemory(a.domid, 2 * kGiB).ok());
  ASSERT_TRUE(sim_.GuestSetMemory(a.domid, 2 * kGiB).ok());
  EXPECT_EQ(Info(a.domid).memory_kib, 2 * kGiB);
  EXPECT_EQ(FreeKib(), 13 * kGiB);
  EXPECT_EQ(sim_.GuestSetMemory(a.domid, 3 * kGiB).code(), ENOMEM);
  ASSERT_TRUE(sim_.GuestSetMemory(a.domid, 512 * 1024).ok());
  EXPECT_EQ(FreeKib(), 15 * kGiB - 512 * 1024);
  EXPECT_EQ(sim_.GuestSetMemory(a.domid, 4).code(), EINVAL);
}

TEST_F(SimHypervisorTest, BuildChecksTheKernelRamdiskPortsAndDomainType) {
  DomId d = Create();
  ASSERT_TRUE(sim_.SetMaxMemory(d, 128 * 1024).ok());
  PvBuildRequest r;
  r.memory_kib = 128 * 1024;
  r.store_port = *sim_.AllocUnboundPort(d, kDom0);
  r.console_port = *sim_.AllocUnboundPort(d, kDom0);
  r.kernel = dir_ / "missing";
  EXPECT_EQ(sim_.BuildPv(d, r).status().code(), ENOENT);
  r.kernel =
      WriteFile(dir_ / "readme", {'n', 'o', 't', ' ', 'a', ' ', 'k', 'e', 'r', 'n', 'e', 'l'});
  EXPECT_EQ(sim_.BuildPv(d, r).status().code(), EINVAL);
  r.kernel = kernel_;
  r.ramdisk = dir_ / "initrd-missing";
  EXPECT_EQ(sim_.BuildPv(d, r).status().code(), ENOENT);
  r.ramdisk = "";
  r.store_port = 77;
  Status port = sim_.BuildPv(d, r).status();
  EXPECT_EQ(port.code(), EINVAL);
  EXPECT_EQ(port.message(), "store port 77 is not an allocated event channel of domain 1");
  r.store_port = 1;
  auto rings = sim_.BuildPv(d, r);
  ASSERT_TRUE(rings.ok());
  EXPECT_NE(rings->store_mfn, rings->console_mfn);
  EXPECT_EQ(sim_.BuildPv(d, r).status().code(), EBUSY);

  CreateRequest hvm;
  hvm.type = GuestType::kHvm;
  DomId h = *sim_.CreateDomain(hvm);
  ASSERT_TRUE(sim_.SetMaxMemory(h, 128 * 1024).ok());
  r.store_port = *sim_.AllocUnboundPort(h, kDom0);
  r.console_port = *sim_.AllocUnboundPort(h, kDom0);
  EXPECT_TRUE(Info(h).hvm);
  EXPECT_EQ(sim_.BuildPv(h, r).status().code(), EINVAL);
}

TEST_F(SimHypervisorTest, HvmAndPvhBuildsCheckTheirFilesAndChargeMemory) {
  for (GuestType type : {GuestType::kHvm, GuestType::kPvh}) {
    CreateRequest create;
    create.type = type;
    create.max_vcpus = 2;
    DomId d = *sim_.CreateDomain(create);
    ASSERT_TRUE(sim_.SetMaxMemory(d, 128 * 1024).ok());
    HvmBuildRequest r;
    r.type = type;
    r.memory_kib = 128 * 1024;
    r.store_port = *sim_.AllocUnboundPort(d, kDom0);
    r.console_port = *sim_.AllocUnboundPort(d, kDom0);
    Status missing = sim_.BuildHvm(d, r).status();
    EXPECT_EQ(missing.code(), EINVAL);
    EXPECT_EQ(missing.message(), type == GuestType::kPvh ? "no kernel given" : "no firmware given");
    (type == GuestType::kPvh ? r.kernel : r.firmware) = dir_ / "absent";
    EXPECT_EQ(sim_.BuildHvm(d, r).status().code(), ENOENT);
    (type == GuestType::kPvh ? r.kernel : r.firmware) = kernel_;
    r.tsc_mode = 3;
    EXPECT_EQ(sim_.BuildHvm(d, r).status().message(),
              "tsc_mode 3 out of range 0..2 (Xen 4.17 removed native_paravirt)");
    r.tsc_mode = 2;
    uint64_t before = FreeKib();
    auto rings = sim_.BuildHvm(d, r);
    ASSERT_TRUE(rings.ok()) << rings.status().ToString();
    EXPECT_EQ(before - FreeKib(), 128 * 1024u);
    EXPECT_TRUE(Info(d).hvm);
    EXPECT_EQ(Info(d).online_vcpus, 2u);
    EXPECT_EQ(sim_.BuildHvm(d, r).status().code(), EBUSY);
  }
  DomId pv = Create();
  HvmBuildRequest r;
  r.firmware = kernel_;
  r.memory_kib = 64 * 1024;
  EXPECT_EQ(sim_.BuildHvm(pv, r).status().message(),
            "domain " + std::to_string(pv) + " is PV; BuildHvm builds HVM and PVH guests");
}

TEST_F(SimHypervisorTest, BuiltDomainsGetDistinctRingFrames) {
  auto a = Build(64 * 1024), b = Build(64 * 1024);
  std::set<uint64_t> frames = {a.rings.store_mfn, a.rings.console_mfn, b.rings.store_mfn,
                               b.rings.console_mfn};
  EXPECT_EQ(frames.size(), 4u);
}

TEST_F(SimHypervisorTest, EventChannelPortsArePerDomainAndBounded) {
  CreateRequest r;
  r.max_evtchn_port = 2;
  DomId d = *sim_.CreateDomain(r);
  DomId e = Create();
  EXPECT_EQ(*sim_.AllocUnboundPort(d, kDom0), 1u);
  EXPECT_EQ(*sim_.AllocUnboundPort(e, kDom0), 1u);
  EXPECT_EQ(*sim_.AllocUnboundPort(d, 0x7FF0 /* DOMID_SELF */), 2u);
  auto full = sim_.AllocUnboundPort(d, kDom0);
  EXPECT_EQ(full.status().code(), ENOSPC);
  EXPECT_EQ(sim_.AllocUnboundPort(e, 40000).status().code(), EINVAL);
}

TEST_F(SimHypervisorTest, VcpuAffinityAndPlacement) {
  auto a = Build(64 * 1024, 3);
  auto vcpus = ListVcpus(sim_, a.domid);
  ASSERT_TRUE(vcpus.ok());
  ASSERT_EQ(vcpus->size(), 3u);
  for (const auto& v : *vcpus) {
    EXPECT_TRUE(v.online);
    EXPECT_EQ(v.affinity, CpuSet::FirstN(4));
    EXPECT_FALSE(v.running);  // still paused
  }
  EXPECT_EQ((*vcpus)[2].cpu, 2u);
  ASSERT_TRUE(sim_.SetVcpuAffinity(a.domid, 1, CpuSet{3}).ok());
  auto v1 = sim_.GetVcpuInfo(a.domid, 1);
  EXPECT_EQ(v1->affinity, CpuSet{3});
  EXPECT_EQ(v1->cpu, 3u);
  EXPECT_EQ(sim_.SetVcpuAffinity(a.domid, 1, CpuSet{4}).code(), EINVAL);
  EXPECT_EQ(sim_.SetVcpuAffinity(a.domid, 1, CpuSet{}).code(), EINVAL);
  Status no_vcpu = sim_.SetVcpuAffinity(a.domid, 3, CpuSet{0});
  EXPECT_EQ(no_vcpu.code(), EINVAL);
  EXPECT_EQ(no_vcpu.message(), "domain 1 has no vcpu 3 (it has 3)");
  EXPECT_EQ(sim_.GetVcpuInfo(a.domid, 9).status().code(), EINVAL);
}

TEST_F(SimHypervisorTest, CreditParametersAreValidated) {
  auto a = Build(64 * 1024, 2);
  EXPECT_EQ(*sim_.GetSchedCredit(a.domid), (SchedCredit{256, 0}));
  ASSERT_TRUE(sim_.SetSchedCredit(a.domid, {512, 200}).ok());
  EXPECT_EQ(*sim_.GetSchedCredit(a.domid), (SchedCredit{512, 200}));
  EXPECT_EQ(sim_.SetSchedCredit(a.domid, {0, 0}).code(), EINVAL);
  EXPECT_EQ(sim_.SetSchedCredit(a.domid, {70000, 0}).code(), EINVAL);
  EXPECT_EQ(sim_.SetSchedCredit(a.domid, {256, 201}).code(), EINVAL);
  EXPECT_EQ(*sim_.GetSchedCredit(a.domid), (SchedCredit{512, 200}));
}

TEST_F(SimHypervisorTest, CpuTimeAdvancesOnlyForRunningVcpus) {
  auto a = Build(64 * 1024, 2);
  clock_->Advance(5 * kSecond);
  EXPECT_EQ(Info(a.domid).cpu_time_ns, 0u);  // paused since creation
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  clock_->Advance(1 * kSecond);
  EXPECT_EQ(Info(a.domid).cpu_time_ns, 2 * kSecond);  // two running vcpus
  ASSERT_TRUE(sim_.GuestSetVcpuBlocked(a.domid, 1, true).ok());
  clock_->Advance(1 * kSecond);
  EXPECT_EQ(Info(a.domid).cpu_time_ns, 3 * kSecond);
  EXPECT_EQ(sim_.GetVcpuInfo(a.domid, 0)->cpu_time_ns, 2 * kSecond);
  EXPECT_EQ(sim_.GetVcpuInfo(a.domid, 1)->cpu_time_ns, 1 * kSecond);
  EXPECT_TRUE(sim_.GetVcpuInfo(a.domid, 1)->blocked);
  ASSERT_TRUE(sim_.Pause(a.domid).ok());
  clock_->Advance(10 * kSecond);
  EXPECT_EQ(Info(a.domid).cpu_time_ns, 3 * kSecond);
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  ASSERT_TRUE(sim_.GuestSetVcpuOnline(a.domid, 0, false).ok());
  clock_->Advance(1 * kSecond);
  EXPECT_EQ(Info(a.domid).cpu_time_ns, 3 * kSecond);
  EXPECT_EQ(Info(a.domid).online_vcpus, 1u);
  ASSERT_TRUE(sim_.Shutdown(a.domid, ShutdownReason::kPoweroff).ok());
  clock_->Advance(1 * kSecond);
  EXPECT_EQ(Info(a.domid).cpu_time_ns, 3 * kSecond);
  EXPECT_EQ(Info(kDom0).cpu_time_ns, 4 * 19 * kSecond);  // dom0's 4 vcpus ran throughout
}

TEST_F(SimHypervisorTest, StatesFollowXen) {
  auto a = Build(64 * 1024, 2);
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  EXPECT_EQ(Info(a.domid).StateString(), "r-----");
  ASSERT_TRUE(sim_.GuestSetVcpuBlocked(a.domid, 0, true).ok());
  EXPECT_EQ(Info(a.domid).StateString(), "r-----");  // vcpu 1 still runs
  ASSERT_TRUE(sim_.GuestSetVcpuBlocked(a.domid, 1, true).ok());
  EXPECT_EQ(Info(a.domid).StateString(), "-b----");
  ASSERT_TRUE(sim_.Pause(a.domid).ok());
  EXPECT_EQ(Info(a.domid).StateString(), "-bp---");
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  ASSERT_TRUE(sim_.GuestShutdown(a.domid, ShutdownReason::kReboot).ok());
  DomainInfo down = Info(a.domid);
  EXPECT_EQ(down.StateString(), "---s--");
  EXPECT_EQ(down.shutdown_reason, ShutdownReason::kReboot);
  ASSERT_TRUE(sim_.Shutdown(a.domid, ShutdownReason::kPoweroff).ok());  // first reason stands
  EXPECT_EQ(Info(a.domid).shutdown_reason, ShutdownReason::kReboot);

  auto b = Build(64 * 1024);
  ASSERT_TRUE(sim_.Unpause(b.domid).ok());
  ASSERT_TRUE(sim_.GuestShutdown(b.domid, ShutdownReason::kCrash).ok());
  DomainInfo crashed = Info(b.domid);
  EXPECT_EQ(crashed.StateString(), "----c-");
  EXPECT_EQ(crashed.shutdown_reason, ShutdownReason::kCrash);

  auto c = Build(64 * 1024);
  ASSERT_TRUE(sim_.GuestShutdown(c.domid, ShutdownReason::kWatchdog).ok());
  EXPECT_EQ(Info(c.domid).shutdown_reason, ShutdownReason::kWatchdog);
  EXPECT_EQ(sim_.Shutdown(c.domid, static_cast<ShutdownReason>(9)).code(), EINVAL);
}

TEST_F(SimHypervisorTest, ResumeOnlyFromSuspend) {
  auto a = Build(64 * 1024);
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  EXPECT_EQ(sim_.Resume(a.domid).code(), EINVAL);
  ASSERT_TRUE(sim_.GuestShutdown(a.domid, ShutdownReason::kSuspend).ok());
  EXPECT_EQ(Info(a.domid).StateString(), "---s--");
  ASSERT_TRUE(sim_.Resume(a.domid).ok());
  EXPECT_EQ(Info(a.domid).StateString(), "r-----");
  clock_->Advance(kSecond);
  EXPECT_EQ(Info(a.domid).cpu_time_ns, kSecond);
}

TEST_F(SimHypervisorTest, DestroyedDomainWithReferencesStaysDying) {
  auto a = Build(1 * kGiB);
  ASSERT_TRUE(sim_.HoldReference(a.domid).ok());
  ASSERT_TRUE(sim_.Destroy(a.domid).ok());
  DomainInfo dying = Info(a.domid);
  EXPECT_TRUE(dying.dying);
  EXPECT_EQ(dying.StateString(), "--p--d");  // never unpaused
  EXPECT_EQ(FreeKib(), 14 * kGiB);           // still held
  EXPECT_EQ(sim_.Unpause(a.domid).code(), EINVAL);
  EXPECT_TRUE(sim_.Destroy(a.domid).ok());
  ASSERT_TRUE(sim_.DropReference(a.domid).ok());
  EXPECT_EQ(sim_.GetDomainInfo(a.domid).status().code(), ESRCH);
  EXPECT_EQ(FreeKib(), 15 * kGiB);
}

TEST_F(SimHypervisorTest, UnknownDomainsAreESRCH) {
  const DomId ghost = 42;
  std::vector<Status> results = {
      sim_.GetDomainInfo(ghost).status(),
      sim_.SetMaxMemory(ghost, 1024),
      sim_.SetShadowMemory(ghost, 1024),
      sim_.Pause(ghost),
      sim_.Unpause(ghost),
      sim_.Shutdown(ghost, ShutdownReason::kPoweroff),
      sim_.Resume(ghost),
      sim_.Destroy(ghost),
      sim_.GetVcpuInfo(ghost, 0).status(),
      sim_.SetVcpuAffinity(ghost, 0, CpuSet{0}),
      sim_.GetSchedCredit(ghost).status(),
      sim_.SetSchedCredit(ghost, {}),
      sim_.AllocUnboundPort(ghost, kDom0).status(),
      sim_.BuildPv(ghost, {kernel_, "", "", "", 65536, 1, 2}).status(),
      sim_.GuestSetMemory(ghost, 65536),
      sim_.GuestSetVcpuOnline(ghost, 0, true),
      sim_.HoldReference(ghost),
      sim_.DropReference(ghost),
      sim_.MemoryDigest(ghost).status(),
      sim_.DumpCore(ghost, dir_ / "core"),
  };
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].code(), ESRCH) << i << ": " << results[i].ToString();
    EXPECT_EQ(results[i].message(), "no such domain 42") << i;
  }
}

TEST_F(SimHypervisorTest, ListenersSeeTheLifecycleAndMayCallBack) {
  std::vector<SimEvent> seen;
  std::vector<std::string> states;
  sim_.Subscribe([&](const SimEvent& e) {
    seen.push_back(e);
    if (auto info = sim_.GetDomainInfo(e.domid); info.ok()) states.push_back(info->StateString());
  });
  auto a = Build(64 * 1024);
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  ASSERT_TRUE(sim_.GuestShutdown(a.domid, ShutdownReason::kPoweroff).ok());
  ASSERT_TRUE(sim_.Destroy(a.domid).ok());
  using Kind = SimEvent::Kind;
  std::vector<Kind> kinds;
  for (const auto& e : seen) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::kCreated, Kind::kBuilt, Kind::kUnpaused,
                                      Kind::kShutdown, Kind::kReleased}));
  EXPECT_EQ(seen[1].store_port, a.store_port);
  EXPECT_EQ(seen[1].rings.store_mfn, a.rings.store_mfn);
  EXPECT_FALSE(seen[1].restored);
  EXPECT_EQ(seen[3].reason, ShutdownReason::kPoweroff);
  EXPECT_EQ(states, (std::vector<std::string>{"--p---", "--p---", "r-----", "---s--"}));
}

TEST_F(SimHypervisorTest, UnsubscribedListenersHearNothing) {
  int calls = 0;
  int id = sim_.Subscribe([&](const SimEvent&) { ++calls; });
  Create();
  sim_.Unsubscribe(id);
  Create();
  EXPECT_EQ(calls, 1);
}

TEST_F(SimHypervisorTest, ConcurrentCallersGetDistinctDomains) {
  std::vector<std::thread> threads;
  std::vector<std::vector<DomId>> ids(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        DomId d = *sim_.CreateDomain({});
        ids[t].push_back(d);
        (void)sim_.GetDomainInfo(d);
        if (i % 2) (void)sim_.Destroy(d);
      }
    });
  for (auto& th : threads) th.join();
  std::set<DomId> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 200u);
  EXPECT_EQ(sim_.ListDomains()->size(), 101u);
}

}  // namespace
}  // namespace txend::toolstack
