#include "toolstack/sim/sim_hypervisor.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/support/daemon_process.h"

namespace txend::toolstack {
namespace {

class SimTest : public ::testing::Test {
 protected:
  std::unique_ptr<SimHypervisor> Open(std::string state_dir = "") {
    SimOptions o;
    o.nr_cpus = 4;
    o.total_kib = 4ull << 20;  // 4 GiB
    o.dom0_kib = 1ull << 20;
    o.state_dir = std::move(state_dir);
    o.clock_ns = [this] { return now_; };
    auto sim = SimHypervisor::Open(o);
    EXPECT_TRUE(sim.ok()) << sim.status().ToString();
    return std::move(*sim);
  }
  DomainCreateSpec Spec(uint64_t mib = 256, uint32_t vcpus = 2) {
    return {"11111111-2222-4333-8444-555555555555", false, vcpus, mib << 10, mib << 11};
  }
  std::string Kernel() {
    std::string path = dir_ / "vmlinuz";
    std::ofstream(path) << "\x7f" "ELF fake kernel";
    return path;
  }
  uint64_t now_ = 1'000'000'000;
  testing::TempDir dir_;
};

TEST_F(SimTest, Dom0ExistsAndDomainsGetIncreasingIds) {
  auto sim = Open();
  auto doms = sim->ListDomains();
  ASSERT_EQ(doms->size(), 1u);
  EXPECT_EQ((*doms)[0].StateString(), "r-----");
  uint32_t a = *sim->CreateDomain(Spec());
  uint32_t b = *sim->CreateDomain(Spec());
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  ASSERT_TRUE(sim->Destroy(a).ok());
  EXPECT_EQ(*sim->CreateDomain(Spec()), 3u);  // ids are not reused at once
  EXPECT_EQ(sim->GetDomain(a).status().code(), ESRCH);
  EXPECT_EQ(sim->Destroy(0).code(), EINVAL);
}

TEST_F(SimTest, LifecycleStatesAndCpuTime) {
  auto sim = Open();
  uint32_t d = *sim->CreateDomain(Spec(256, 2));
  EXPECT_EQ(sim->GetDomain(d)->StateString(), "--p---");  // created paused
  now_ += 10'000'000'000;
  EXPECT_EQ(sim->GetDomain(d)->cpu_time_ns, 0u);  // paused: no time
  ASSERT_TRUE(sim->Unpause(d).ok());
  EXPECT_EQ(sim->GetDomain(d)->StateString(), "-b----");
  now_ += 100'000'000'000;  // 100 s, 2 vcpus at 1%
  EXPECT_EQ(sim->GetDomain(d)->cpu_time_ns, 2'000'000'000u);
  ASSERT_TRUE(sim->Pause(d).ok());
  now_ += 50'000'000'000;
  EXPECT_EQ(sim->GetDomain(d)->cpu_time_ns, 2'000'000'000u);
  ASSERT_TRUE(sim->Unpause(d).ok());
  ASSERT_TRUE(sim->GuestShutdown(d, ShutdownReason::kCrash).ok());
  auto info = *sim->GetDomain(d);
  EXPECT_TRUE(info.crashed());
  EXPECT_EQ(info.StateString(), "----c-");
}

TEST_F(SimTest, MemoryIsAccountedAgainstTheHost) {
  auto sim = Open();
  uint64_t free0 = sim->GetPhysInfo()->free_kib;
  EXPECT_EQ(free0, 3ull << 20);
  uint32_t d = *sim->CreateDomain(Spec(1024));
  EXPECT_EQ(sim->GetPhysInfo()->free_kib, free0 - (1024 << 10));
  auto too_big = sim->CreateDomain(Spec(4096));
  EXPECT_EQ(too_big.status().code(), ENOMEM);
  EXPECT_NE(too_big.status().message().find("MiB free"), std::string::npos);
  ASSERT_TRUE(sim->GuestSetMemory(d, 512 << 10).ok());  // ballooned down
  EXPECT_EQ(sim->GetDomain(d)->memory_kib, 512u << 10);
  ASSERT_TRUE(sim->GuestSetMemory(d, 100u << 20).ok());  // capped at maxmem
  EXPECT_EQ(sim->GetDomain(d)->memory_kib, 2048u << 10);
  EXPECT_EQ(sim->SetMaxMemory(d, 0).code(), EINVAL);
  DomainCreateSpec bad = Spec();
  bad.max_memory_kib = 1;
  EXPECT_EQ(sim->CreateDomain(bad).status().code(), EINVAL);
}

TEST_F(SimTest, VcpusAffinityAndCredit) {
  auto sim = Open();
  uint32_t d = *sim->CreateDomain(Spec(256, 3));
  auto vcpus = *sim->GetVcpus(d);
  ASSERT_EQ(vcpus.size(), 3u);
  EXPECT_EQ(vcpus[0].affinity, (std::vector<int>{0, 1, 2, 3}));
  ASSERT_TRUE(sim->SetVcpuAffinity(d, 1, {2, 3}).ok());
  EXPECT_EQ((*sim->GetVcpus(d))[1].affinity, (std::vector<int>{2, 3}));
  EXPECT_EQ(sim->SetVcpuAffinity(d, 7, {0}).code(), EINVAL);
  EXPECT_EQ(sim->SetVcpuAffinity(d, 0, {9}).code(), EINVAL);
  ASSERT_TRUE(sim->GuestSetVcpuOnline(d, 2, false).ok());
  EXPECT_EQ(sim->GetDomain(d)->online_vcpus, 2u);
  EXPECT_EQ(*sim->GetSchedCredit(d), (SchedCredit{256, 0}));
  ASSERT_TRUE(sim->SetSchedCredit(d, {512, 150}).ok());
  EXPECT_EQ(sim->SetSchedCredit(d, {0, 0}).code(), EINVAL);
  EXPECT_EQ(sim->SetSchedCredit(d, {256, 301}).code(), EINVAL);  // 3 vcpus: cap <= 300
}

TEST_F(SimTest, PvBuildChecksTheKernel) {
  auto sim = Open();
  uint32_t d = *sim->CreateDomain(Spec());
  EXPECT_TRUE(sim->BuildPv(d, {Kernel(), "", "console=hvc0", 1, 2}).ok());
  EXPECT_EQ(sim->BuildPv(d, {dir_ / "missing", "", "", 1, 2}).status().code(), ENOENT);
  std::ofstream(dir_ / "text") << "not a kernel at all";
  EXPECT_EQ(sim->BuildPv(d, {dir_ / "text", "", "", 1, 2}).status().code(), EINVAL);
}

TEST_F(SimTest, SaveRestoreRoundTripsMemoryThroughARealFile) {
  auto sim = Open();
  uint32_t d = *sim->CreateDomain(Spec(16, 2));
  ASSERT_TRUE(sim->Unpause(d).ok());
  ASSERT_TRUE(sim->GuestDirtyPages(d, 500).ok());
  ASSERT_TRUE(sim->SetSchedCredit(d, {300, 0}).ok());
  std::string image = dir_ / "demo.save";
  int fd = open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_TRUE(sim->Save(d, fd).ok());
  EXPECT_EQ(std::filesystem::file_size(image) >> 20, 16u);  // 16 MiB of pages and a small header
  ASSERT_TRUE(sim->Destroy(d).ok());
  lseek(fd, 0, SEEK_SET);
  auto r = sim->Restore(fd, {});
  ASSERT_TRUE(r.ok()) << "restore: " << r.status().ToString();
  auto info = *sim->GetDomain(*r);
  EXPECT_EQ(info.memory_kib, 16u << 10);
  EXPECT_EQ(info.uuid, "11111111-2222-4333-8444-555555555555");
  EXPECT_TRUE(info.paused);
  EXPECT_EQ(sim->GetSchedCredit(*r)->weight, 300u);
  ASSERT_EQ(ftruncate(fd, std::filesystem::file_size(image) - 100), 0);
  lseek(fd, 0, SEEK_SET);
  EXPECT_EQ(sim->Restore(fd, {}).status().code(), EIO);
  close(fd);
}

TEST_F(SimTest, DomainsSurviveReopeningTheStateDirectory) {
  std::string state = dir_ / "sim";
  uint32_t d;
  {
    auto sim = Open(state);
    d = *sim->CreateDomain(Spec(128, 1));
    ASSERT_TRUE(sim->Unpause(d).ok());
    now_ += 100'000'000'000;
  }
  auto sim = Open(state);
  auto info = sim->GetDomain(d);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->StateString(), "-b----");
  EXPECT_EQ(info->cpu_time_ns, 1'000'000'000u);
  EXPECT_GT(*sim->CreateDomain(Spec()), d);
}

TEST_F(SimTest, ObserversSeeEvents) {
  auto sim = Open();
  std::vector<std::string> seen;
  sim->Subscribe([&](const SimEvent& e) { seen.push_back(std::to_string(e.kind) + ":" + std::to_string(e.domid)); });
  uint32_t d = *sim->CreateDomain(Spec());
  (void)sim->Unpause(d);
  (void)sim->Shutdown(d, ShutdownReason::kReboot);
  (void)sim->Destroy(d);
  EXPECT_EQ(seen, (std::vector<std::string>{"0:1", "1:1", "3:1", "4:1"}));
}

TEST(CpuList, ParsesXmSyntax) {
  EXPECT_EQ(*ParseCpuList("0-3,^1", 8), (std::vector<int>{0, 2, 3}));
  EXPECT_EQ(*ParseCpuList("all", 2), (std::vector<int>{0, 1}));
  EXPECT_EQ(*ParseCpuList("5", 8), (std::vector<int>{5}));
  EXPECT_FALSE(ParseCpuList("9", 8).ok());
  EXPECT_FALSE(ParseCpuList("x", 8).ok());
  EXPECT_FALSE(ParseCpuList("3-1", 8).ok());
  EXPECT_EQ(FormatCpuList({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
}

}  // namespace
}  // namespace txend::toolstack
