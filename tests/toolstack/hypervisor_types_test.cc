// The interface's value types and the argument rules both implementations share.
#include <gtest/gtest.h>

#include "toolstack/hypervisor/cpu_set.h"
#include "toolstack/hypervisor/domain_info.h"
#include "toolstack/hypervisor/hypervisor.h"
#include "toolstack/hypervisor/hypervisor_validation.h"
#include "toolstack/hypervisor/uuid.h"

namespace txend::toolstack {
namespace {

TEST(Uuid, ParsesAndPrintsTheDashedForm) {
  auto u = Uuid::Parse("6F9619FF-8B86-D011-B42D-00C04FC964FF");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToString(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
  EXPECT_EQ(u->bytes[0], 0x6f);
  EXPECT_EQ(u->bytes[15], 0xff);
  EXPECT_FALSE(u->IsNil());
  EXPECT_TRUE(Uuid().IsNil());
  EXPECT_EQ(Uuid().ToString(), "00000000-0000-0000-0000-000000000000");
}

TEST(Uuid, RejectsMalformedText) {
  for (const char* bad :
       {"", "6f9619ff8b86d011b42d00c04fc964ff", "6f9619ff-8b86-d011-b42d-00c04fc964f",
        "6f9619ff-8b86-d011-b42d-00c04fc964fg", "6f9619ff+8b86-d011-b42d-00c04fc964ff"}) {
    auto u = Uuid::Parse(bad);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.status().code(), EINVAL);
  }
}

TEST(Uuid, RandomBitsMakeAVersion4Uuid) {
  Uuid u = Uuid::FromRandomBits(0xffffffffffffffffull, 0xffffffffffffffffull);
  std::string s = u.ToString();
  EXPECT_EQ(s[14], '4');
  EXPECT_EQ(s[19], 'b');
  EXPECT_EQ(*Uuid::Parse(s), u);
  EXPECT_NE(Uuid::FromRandomBits(1, 2), Uuid::FromRandomBits(1, 3));
}

TEST(CpuSet, ParsesXmSyntax) {
  EXPECT_EQ(CpuSet::Parse("0-3,^1,6", 8)->ToVector(), (std::vector<uint32_t>{0, 2, 3, 6}));
  EXPECT_EQ(CpuSet::Parse("all", 4)->ToVector(), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(CpuSet::Parse(" 5 ", 4)->ToVector(), (std::vector<uint32_t>{5}));
  EXPECT_EQ(CpuSet::Parse("1, 2", 4)->ToVector(), (std::vector<uint32_t>{1, 2}));
}

TEST(CpuSet, RejectsBadLists) {
  for (const char* bad : {"", "a", "3-1", "1-", "-1", "1,,2", "^", "99999", "0-5000"}) {
    auto s = CpuSet::Parse(bad, 4);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), EINVAL) << bad;
  }
}

TEST(CpuSet, PrintsRanges) {
  EXPECT_EQ((CpuSet{0, 1, 2, 5, 7, 8}).ToString(), "0-2,5,7-8");
  EXPECT_EQ(CpuSet().ToString(), "");
  EXPECT_EQ(CpuSet::FirstN(1).ToString(), "0");
  CpuSet s{4, 9};
  EXPECT_EQ(s.Nth(1), 9u);
  EXPECT_EQ(*s.Max(), 9u);
  EXPECT_FALSE(CpuSet().Max().has_value());
}

TEST(DomainInfo, StateStringShowsEachFlag) {
  DomainInfo d;
  EXPECT_EQ(d.StateString(), "------");
  d.running = d.blocked = d.paused = d.shutdown = d.crashed = d.dying = true;
  EXPECT_EQ(d.StateString(), "rbpscd");
  DomainInfo b;
  b.blocked = true;
  EXPECT_EQ(b.StateString(), "-b----");
  EXPECT_EQ(b.MaxVcpus(), 1u);
}

TEST(ShutdownReason, NamesAndCodesRoundTrip) {
  for (uint32_t code = 0; code <= 5; ++code) {
    auto r = ShutdownReasonFromCode(code);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*ShutdownReasonFromName(ShutdownReasonName(*r)), *r);
  }
  EXPECT_EQ(ShutdownReasonName(ShutdownReason::kWatchdog), "watchdog");
  EXPECT_EQ(static_cast<uint32_t>(ShutdownReason::kCrash), 3u);
  EXPECT_EQ(ShutdownReasonFromCode(6).status().code(), EINVAL);
  EXPECT_EQ(ShutdownReasonFromName("halt").status().code(), EINVAL);
  EXPECT_EQ(ShutdownReasonName(static_cast<ShutdownReason>(77)), "unknown");
}

TEST(PhysInfo, HwCapsAsXmPrintsThem) {
  PhysInfo p;
  p.hw_caps = {0x178bfbff, 0xf6d8320b, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(p.HwCapsString(),
            "178bfbff:f6d8320b:00000000:00000000:00000000:00000000:00000000:00000001");
}

TEST(Validation, CreateRequest) {
  CreateRequest r;
  EXPECT_TRUE(ValidateCreateRequest(r).ok());
  r.max_vcpus = 0;
  EXPECT_EQ(ValidateCreateRequest(r).code(), EINVAL);
  r.max_vcpus = kMaxPvVcpus;
  EXPECT_TRUE(ValidateCreateRequest(r).ok());
  r.type = GuestType::kHvm;
  EXPECT_EQ(ValidateCreateRequest(r).code(), EINVAL);
  r = CreateRequest{};
  r.domid = kFirstReservedDomId;
  Status st = ValidateCreateRequest(r);
  EXPECT_EQ(st.code(), EINVAL);
  EXPECT_NE(st.message().find("reserved"), std::string::npos);
}

TEST(Validation, SchedCreditRangesAsXendChecksThem) {
  EXPECT_TRUE(ValidateSchedCredit({1, 0}, 1).ok());
  EXPECT_TRUE(ValidateSchedCredit({65535, 200}, 2).ok());
  EXPECT_EQ(ValidateSchedCredit({0, 0}, 1).code(), EINVAL);
  EXPECT_EQ(ValidateSchedCredit({65536, 0}, 1).code(), EINVAL);
  Status cap = ValidateSchedCredit({256, 201}, 2);
  EXPECT_EQ(cap.code(), EINVAL);
  EXPECT_EQ(cap.message(), "credit cap 201 out of range 0..200 (100 per vcpu)");
}

TEST(Validation, AffinityVcpuAndBuild) {
  EXPECT_TRUE(ValidateAffinity({0, 3}, 4).ok());
  EXPECT_EQ(ValidateAffinity({}, 4).code(), EINVAL);
  EXPECT_EQ(ValidateAffinity({4}, 4).message(), "cpu 4 does not exist (host has 4 cpus)");
  EXPECT_TRUE(ValidateVcpu(3, 1, 2).ok());
  EXPECT_EQ(ValidateVcpu(3, 2, 2).code(), EINVAL);
  PvBuildRequest b;
  EXPECT_EQ(ValidatePvBuildRequest(b).code(), EINVAL);
  b.kernel = "/k";
  b.memory_kib = 512;
  EXPECT_EQ(ValidatePvBuildRequest(b).code(), EINVAL);
  b.memory_kib = 1024;
  EXPECT_TRUE(ValidatePvBuildRequest(b).ok());
  b.memory_kib = 1536;
  EXPECT_EQ(ValidatePvBuildRequest(b).message(), "memory 1536 KiB is not a whole number of MiB");
  EXPECT_EQ(KibToPages(0), 0u);
  EXPECT_EQ(KibToPages(1), 1u);
  EXPECT_EQ(KibToPages(8), 2u);
}

TEST(Precopy, DefaultPolicyStopsAfterFiveRoundsOrFewDirtyPages) {
  EXPECT_EQ(DefaultPrecopyPolicy({0, 0, 1000}), PrecopyDecision::kContinue);
  EXPECT_EQ(DefaultPrecopyPolicy({0, 0, -1}), PrecopyDecision::kContinue);
  EXPECT_EQ(DefaultPrecopyPolicy({2, 0, 49}), PrecopyDecision::kStopAndCopy);
  EXPECT_EQ(DefaultPrecopyPolicy({4, 0, 5000}), PrecopyDecision::kContinue);
  EXPECT_EQ(DefaultPrecopyPolicy({5, 0, 5000}), PrecopyDecision::kStopAndCopy);
}

}  // namespace
}  // namespace txend::toolstack
