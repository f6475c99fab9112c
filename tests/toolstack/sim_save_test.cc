// Save, restore and core dumps of the simulated hypervisor through real files
// and pipes: round trips, live saves with pages dirtied between rounds, and
// damaged or mismatched images.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sys/stat.h>
#include <thread>

#include <gtest/gtest.h>

#include "tests/toolstack/hypervisor_test_util.h"
#include "toolstack/hypervisor/sim/save_stream.h"
#include "toolstack/hypervisor/sim/sim_hypervisor.h"

namespace txend::toolstack {
namespace {

using testing::BuildDomain;
using testing::File;

constexpr uint64_t kMiB = 1024;  // in KiB

class SimSaveTest : public ::testing::Test {
 protected:
  SimSaveTest() : kernel_(testing::WriteFakeKernel(dir_ / "vmlinuz")) {}

  // The toolstack's side of a save: ask the guest to suspend. Here the
  // "guest" is the hypervisor itself (no guest agent yet).
  SaveRequest Suspending(SimHypervisor& sim, DomId domid) {
    SaveRequest r;
    r.suspend = [&sim, domid] { return sim.GuestShutdown(domid, ShutdownReason::kSuspend); };
    return r;
  }

  // A fresh empty domain ready for Restore, as the toolstack would make it.
  DomId EmptyDomain(SimHypervisor& sim, uint64_t max_kib, uint32_t vcpus, RestoreRequest& ports) {
    CreateRequest c;
    c.max_vcpus = vcpus;
    DomId d = *sim.CreateDomain(c);
    EXPECT_TRUE(sim.SetMaxMemory(d, max_kib).ok());
    ports.store_port = *sim.AllocUnboundPort(d, kDom0);
    ports.console_port = *sim.AllocUnboundPort(d, kDom0);
    return d;
  }

  uint64_t FreeKib(SimHypervisor& sim) { return sim.Physinfo()->free_memory_kib; }

  txend::testing::TempDir dir_;
  std::string kernel_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  SimOptions options_ = [this] {
    SimOptions o;
    o.clock = clock_;
    return o;
  }();
  SimHypervisor sim_{options_};
};

TEST_F(SimSaveTest, RoundTripThroughAFileRestoresMemoryAndVcpuState) {
  auto a = BuildDomain(sim_, kernel_, 16 * kMiB, 2);
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  std::vector<uint64_t> pages = {0, 7, 4095};
  ASSERT_TRUE(sim_.GuestTouchPages(a.domid, pages, 1234).ok());
  ASSERT_TRUE(sim_.SetVcpuAffinity(a.domid, 1, CpuSet{2, 3}).ok());
  ASSERT_TRUE(sim_.SetSchedCredit(a.domid, {1024, 150}).ok());
  ASSERT_TRUE(sim_.GuestSetVcpuBlocked(a.domid, 0, true).ok());
  uint64_t digest = *sim_.MemoryDigest(a.domid);

  std::string image = dir_ / "demo.save";
  {
    File out(image, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(sim_.Save(a.domid, out.fd(), Suspending(sim_, a.domid)).ok());
  }
  DomainInfo saved = *sim_.GetDomainInfo(a.domid);
  EXPECT_TRUE(saved.shutdown);
  EXPECT_EQ(saved.shutdown_reason, ShutdownReason::kSuspend);
  struct stat st;
  ASSERT_EQ(::stat(image.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 4096 * 4096);  // every page went into the file
  ASSERT_TRUE(sim_.Destroy(a.domid).ok());
  uint64_t free_before = FreeKib(sim_);

  RestoreRequest ports;
  DomId b = EmptyDomain(sim_, 16 * kMiB, 2, ports);
  File in(image, O_RDONLY);
  auto rings = sim_.Restore(b, in.fd(), ports);
  ASSERT_TRUE(rings.ok()) << rings.status().ToString();
  EXPECT_EQ(*sim_.MemoryDigest(b), digest);
  DomainInfo restored = *sim_.GetDomainInfo(b);
  EXPECT_EQ(restored.memory_kib, 16 * kMiB);
  EXPECT_EQ(restored.StateString(), "--p---");  // paused, ready to be unpaused
  EXPECT_EQ(FreeKib(sim_), free_before - 16 * kMiB);
  EXPECT_EQ(sim_.GetVcpuInfo(b, 1)->affinity, (CpuSet{2, 3}));
  EXPECT_TRUE(sim_.GetVcpuInfo(b, 0)->blocked);
  EXPECT_EQ(*sim_.GetSchedCredit(b), (SchedCredit{1024, 150}));
  EXPECT_NE(rings->store_mfn, rings->console_mfn);
  ASSERT_TRUE(sim_.Unpause(b).ok());
  EXPECT_EQ(sim_.GetDomainInfo(b)->StateString(), "r-----");
}

TEST_F(SimSaveTest, AFourGibDomainCostsOnlyItsChangedPages) {
  SimOptions o = options_;
  o.host_memory_kib = 8ull << 20;
  SimHypervisor sim(o);
  auto a = BuildDomain(sim, kernel_, 4ull << 20, 1);  // 4 GiB guest
  EXPECT_EQ(sim.GetDomainInfo(a.domid)->memory_kib, 4ull << 20);
  std::vector<uint64_t> pages = {0, 1, (1u << 20) - 1};
  ASSERT_TRUE(sim.GuestTouchPages(a.domid, pages, 5).ok());
  EXPECT_EQ(sim.GuestTouchPages(a.domid, std::vector<uint64_t>{1u << 20}, 5).code(), EINVAL);
  EXPECT_EQ(sim.Physinfo()->free_memory_kib, (8ull << 20) - (1ull << 20) - (4ull << 20));
}

TEST_F(SimSaveTest, ImageFollowsAToolstackHeaderAndStopsAtItsEnd) {
  auto a = BuildDomain(sim_, kernel_, 4 * kMiB, 1);
  uint64_t digest = *sim_.MemoryDigest(a.domid);
  std::string image = dir_ / "with-header.save";
  {
    File out(image, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_EQ(::write(out.fd(), "LinuxGuestRecord", 16), 16);  // what xend writes first
    ASSERT_TRUE(sim_.Save(a.domid, out.fd(), Suspending(sim_, a.domid)).ok());
    ASSERT_EQ(::write(out.fd(), "trailer", 7), 7);
  }
  RestoreRequest ports;
  DomId b = EmptyDomain(sim_, 4 * kMiB, 1, ports);
  File in(image, O_RDONLY);
  char magic[16];
  ASSERT_EQ(::read(in.fd(), magic, 16), 16);
  ASSERT_TRUE(sim_.Restore(b, in.fd(), ports).ok());
  char rest[16] = {};
  EXPECT_EQ(::read(in.fd(), rest, sizeof rest), 7);
  EXPECT_STREQ(rest, "trailer");
  EXPECT_EQ(*sim_.MemoryDigest(b), digest);
}

TEST_F(SimSaveTest, LiveSaveSendsPagesDirtiedBetweenRoundsThroughAPipe) {
  auto a = BuildDomain(sim_, kernel_, 8 * kMiB, 1);  // 2048 pages
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  SimHypervisor target(options_);
  RestoreRequest ports;
  DomId b = EmptyDomain(target, 8 * kMiB, 1, ports);

  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Result<GuestRings> restored = Status::Error(EIO, "not run");
  std::thread receiver([&] {
    restored = target.Restore(b, fds[0], ports);
    ::close(fds[0]);
  });

  std::vector<PrecopyStats> rounds;
  SaveRequest r = Suspending(sim_, a.domid);
  r.live = true;
  r.precopy_policy = [&](const PrecopyStats& s) {
    rounds.push_back(s);
    if (s.iteration < 3) {  // the "workload" dirties 100 pages per round
      std::vector<uint64_t> pfns;
      for (uint64_t p = 0; p < 100; ++p) pfns.push_back(s.iteration * 500 + p);
      EXPECT_TRUE(sim_.GuestTouchPages(a.domid, pfns, s.iteration + 1).ok());
    }
    return DefaultPrecopyPolicy(s);
  };
  Status saved = sim_.Save(a.domid, fds[1], r);
  ::close(fds[1]);
  receiver.join();
  ASSERT_TRUE(saved.ok()) << saved.ToString();
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();

  // Round k sends what was dirtied during round k-1; once quiet, the default policy stops.
  ASSERT_EQ(rounds.size(), 5u);
  EXPECT_EQ(rounds[0].iteration, 0u);
  EXPECT_EQ(rounds[0].dirty_count, 2048);
  EXPECT_EQ(rounds[1].total_written, 2048u);
  EXPECT_EQ(rounds[1].dirty_count, 100);
  EXPECT_EQ(rounds[3].dirty_count, 100);
  EXPECT_EQ(rounds[4].iteration, 4u);
  EXPECT_EQ(rounds[4].dirty_count, 0);
  EXPECT_EQ(rounds[4].total_written, 2048u + 300u);
  EXPECT_EQ(*target.MemoryDigest(b), *sim_.MemoryDigest(a.domid));
}

TEST_F(SimSaveTest, PagesDirtiedWhileSuspendingAreSentInTheLastRound) {
  auto a = BuildDomain(sim_, kernel_, 4 * kMiB, 1);
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  SaveRequest r;
  r.live = true;
  r.precopy_policy = [](const PrecopyStats& s) {
    return s.iteration == 0 ? PrecopyDecision::kContinue : PrecopyDecision::kStopAndCopy;
  };
  r.suspend = [&] {
    EXPECT_TRUE(sim_.GuestTouchPages(a.domid, std::vector<uint64_t>{3, 9}, 77).ok());
    return sim_.GuestShutdown(a.domid, ShutdownReason::kSuspend);
  };
  std::string image = dir_ / "live.save";
  {
    File out(image, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(sim_.Save(a.domid, out.fd(), r).ok());
  }
  RestoreRequest ports;
  DomId b = EmptyDomain(sim_, 4 * kMiB, 1, ports);
  File in(image, O_RDONLY);
  ASSERT_TRUE(sim_.Restore(b, in.fd(), ports).ok());
  EXPECT_EQ(*sim_.MemoryDigest(b), *sim_.MemoryDigest(a.domid));
}

TEST_F(SimSaveTest, SaveErrors) {
  auto a = BuildDomain(sim_, kernel_, 4 * kMiB, 1);
  File out(dir_ / "x.save", O_WRONLY | O_CREAT | O_TRUNC);
  EXPECT_EQ(sim_.Save(a.domid, out.fd(), SaveRequest{}).code(), EINVAL);  // no suspend callback

  SaveRequest lazy;
  lazy.suspend = [] { return Status::Ok(); };  // says yes, does not suspend
  Status not_suspended = sim_.Save(a.domid, out.fd(), lazy);
  EXPECT_EQ(not_suspended.code(), EINVAL);
  EXPECT_EQ(not_suspended.message(), "domain 1 did not suspend (state --p---)");

  SaveRequest refusing;
  refusing.suspend = [] { return Status::Error(ETIMEDOUT, "guest did not answer"); };
  Status refused = sim_.Save(a.domid, out.fd(), refusing);
  EXPECT_EQ(refused.code(), ETIMEDOUT);
  EXPECT_EQ(refused.message(), "suspending domain 1: guest did not answer");

  SaveRequest aborting = Suspending(sim_, a.domid);
  aborting.live = true;
  aborting.precopy_policy = [](const PrecopyStats&) { return PrecopyDecision::kAbort; };
  EXPECT_EQ(sim_.Save(a.domid, out.fd(), aborting).code(), ECANCELED);
  EXPECT_EQ(sim_.GuestSetMemory(a.domid, 4 * kMiB).code(), 0);  // log-dirty ended with the save

  EXPECT_EQ(sim_.Save(a.domid, -1, Suspending(sim_, a.domid)).code(), EBADF);
  EXPECT_EQ(sim_.Save(kDom0, out.fd(), Suspending(sim_, kDom0)).code(), EPERM);
  CreateRequest c;
  DomId empty = *sim_.CreateDomain(c);
  EXPECT_EQ(sim_.Save(empty, out.fd(), Suspending(sim_, empty)).code(), EINVAL);
}

TEST_F(SimSaveTest, DomainDestroyedDuringSaveEndsIt) {
  auto a = BuildDomain(sim_, kernel_, 4 * kMiB, 1);
  SaveRequest r;
  r.suspend = [&] { return sim_.Destroy(a.domid); };
  File out(dir_ / "gone.save", O_WRONLY | O_CREAT | O_TRUNC);
  EXPECT_EQ(sim_.Save(a.domid, out.fd(), r).code(), ESRCH);
}

class SimRestoreErrorsTest : public SimSaveTest {
 protected:
  void SetUp() override {
    auto a = BuildDomain(sim_, kernel_, 4 * kMiB, 2);
    image_ = dir_ / "good.save";
    File out(image_, O_WRONLY | O_CREAT | O_TRUNC);
    ASSERT_TRUE(sim_.Save(a.domid, out.fd(), Suspending(sim_, a.domid)).ok());
    ASSERT_TRUE(sim_.Destroy(a.domid).ok());
    bytes_ = testing::ReadFile(image_);
  }

  Status RestoreBytes(const std::string& bytes, uint64_t max_kib = 4 * kMiB, uint32_t vcpus = 2) {
    std::string path = dir_ / "candidate.save";
    std::ofstream(path, std::ios::binary) << bytes;
    RestoreRequest ports;
    DomId d = EmptyDomain(sim_, max_kib, vcpus, ports);
    File in(path, O_RDONLY);
    uint64_t free = FreeKib(sim_);
    Status st = sim_.Restore(d, in.fd(), ports).status();
    if (!st.ok()) {
      EXPECT_EQ(FreeKib(sim_), free) << "a failed restore must give its memory back";
      EXPECT_EQ(sim_.GetDomainInfo(d)->memory_kib, 0u);
    }
    return st;
  }

  std::string image_;
  std::string bytes_;
};

TEST_F(SimRestoreErrorsTest, GoodImageRestores) { EXPECT_TRUE(RestoreBytes(bytes_).ok()); }

TEST_F(SimRestoreErrorsTest, TruncatedImage) {
  for (size_t keep : {size_t{0}, size_t{10}, size_t{40}, bytes_.size() / 2, bytes_.size() - 1}) {
    Status st = RestoreBytes(bytes_.substr(0, keep));
    EXPECT_EQ(st.code(), EINVAL) << keep;
    EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
  }
}

TEST_F(SimRestoreErrorsTest, ForeignFile) {
  Status st = RestoreBytes(std::string(4096, 'Z'));
  EXPECT_EQ(st.code(), EINVAL);
  EXPECT_EQ(st.message(), "restoring domain 2: not a simulated-hypervisor save image (bad magic)");
}

TEST_F(SimRestoreErrorsTest, DomainTooSmallOrMismatched) {
  Status small = RestoreBytes(bytes_, 2 * kMiB);
  EXPECT_EQ(small.code(), ENOMEM);
  EXPECT_NE(small.message().find("image needs 4096 KiB"), std::string::npos);
  EXPECT_EQ(RestoreBytes(bytes_, 4 * kMiB, 1).code(), EINVAL);  // 2 vcpus saved
}

TEST_F(SimRestoreErrorsTest, DamagedPageNumber) {
  std::string bad = bytes_;
  // First PAGE_DATA record: stream header 16, DOMAIN record 16+36, record
  // header 16, count/pad 8; then the first pfn. Point it past the domain.
  size_t pfn_at = 16 + 16 + 36 + 16 + 8;
  bad[pfn_at + 3] = '\x7f';
  Status st = RestoreBytes(bad);
  EXPECT_EQ(st.code(), EINVAL);
  EXPECT_NE(st.message().find("corrupt save image"), std::string::npos) << st.message();
}

// A stream that keeps sending pages (a runaway or hostile source) is cut off
// once it carried each page kMaxPagePasses times, instead of being read forever.
TEST_F(SimRestoreErrorsTest, EndlessPageDataIsRefused) {
  const size_t first_pages = 16 + 16 + 36;  // stream header, DOMAIN record
  uint64_t length = 0;
  std::memcpy(&length, bytes_.data() + first_pages + 8, sizeof length);
  const std::string pages = bytes_.substr(first_pages, 16 + length);  // one PAGE_DATA record
  ASSERT_EQ(pages.size(), 16 + 8 + 1024 * (8 + 4096u));               // all 1024 pages
  std::string within = bytes_;
  for (uint64_t i = 1; i < kMaxPagePasses; ++i) within.insert(first_pages, pages);
  EXPECT_TRUE(RestoreBytes(within).ok());  // pre-copy rounds resend pages
  std::string endless = within;
  endless.insert(first_pages, pages);
  Status st = RestoreBytes(endless);
  EXPECT_EQ(st.code(), EINVAL);
  EXPECT_NE(st.message().find("more page data than"), std::string::npos) << st.message();
}

TEST_F(SimRestoreErrorsTest, RestoreNeedsAnEmptyDomainAndItsPorts) {
  auto built = BuildDomain(sim_, kernel_, 4 * kMiB, 2);
  File in(image_, O_RDONLY);
  RestoreRequest ports{built.store_port, built.console_port};
  EXPECT_EQ(sim_.Restore(built.domid, in.fd(), ports).status().code(), EBUSY);
  RestoreRequest wrong;
  DomId d = EmptyDomain(sim_, 4 * kMiB, 2, wrong);
  wrong.console_port = 99;
  EXPECT_EQ(sim_.Restore(d, in.fd(), wrong).status().code(), EINVAL);
  EXPECT_EQ(sim_.Restore(kDom0, in.fd(), ports).status().code(), EPERM);
}

TEST_F(SimSaveTest, DumpCoreWritesARestorableImageAndLeavesTheDomainRunning) {
  auto a = BuildDomain(sim_, kernel_, 4 * kMiB, 1);
  ASSERT_TRUE(sim_.Unpause(a.domid).ok());
  std::string core = dir_ / "demo.core";
  ASSERT_TRUE(sim_.DumpCore(a.domid, core).ok());
  EXPECT_EQ(sim_.GetDomainInfo(a.domid)->StateString(), "r-----");
  RestoreRequest ports;
  DomId b = EmptyDomain(sim_, 4 * kMiB, 1, ports);
  File in(core, O_RDONLY);
  ASSERT_TRUE(sim_.Restore(b, in.fd(), ports).ok());
  EXPECT_EQ(*sim_.MemoryDigest(b), *sim_.MemoryDigest(a.domid));
  EXPECT_EQ(sim_.DumpCore(a.domid, dir_ / "no/such/dir/core").code(), ENOENT);
}

}  // namespace
}  // namespace txend::toolstack
