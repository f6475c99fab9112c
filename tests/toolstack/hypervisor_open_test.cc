// OpenHypervisor: sim where /dev/xen/privcmd is absent, xen when forced — and
// forcing xen on a machine without Xen fails cleanly through the real libxenctrl.
#include <gtest/gtest.h>

#include "tests/toolstack/hypervisor_test_util.h"
#include "toolstack/hypervisor/xen/xen_hypervisor.h"
#include "toolstack/open_hypervisor.h"

namespace txend::toolstack {
namespace {

TEST(OpenHypervisor, ParsesKinds) {
  EXPECT_EQ(*ParseHypervisorKind("auto"), HypervisorKind::kAuto);
  EXPECT_EQ(*ParseHypervisorKind("sim"), HypervisorKind::kSim);
  EXPECT_EQ(*ParseHypervisorKind("xen"), HypervisorKind::kXen);
  EXPECT_EQ(ParseHypervisorKind("kvm").status().code(), EINVAL);
}

TEST(OpenHypervisor, AutoFollowsThePrivcmdDevice) {
  txend::testing::TempDir dir;
  EXPECT_EQ(ResolveHypervisorKind(HypervisorKind::kAuto, dir / "privcmd"), HypervisorKind::kSim);
  std::string present = testing::WriteFile(dir / "privcmd", {});
  EXPECT_EQ(ResolveHypervisorKind(HypervisorKind::kAuto, present), HypervisorKind::kXen);
  EXPECT_EQ(ResolveHypervisorKind(HypervisorKind::kSim, present), HypervisorKind::kSim);
  EXPECT_EQ(ResolveHypervisorKind(HypervisorKind::kXen, dir / "none"), HypervisorKind::kXen);
}

TEST(OpenHypervisor, SimIsConfigured) {
  txend::testing::TempDir dir;
  HypervisorOptions options;
  options.privcmd_path = dir / "privcmd";
  options.sim.nr_cpus = 8;
  options.sim.host_memory_kib = 4ull << 20;
  auto hv = OpenHypervisor(options);
  ASSERT_TRUE(hv.ok());
  EXPECT_EQ((*hv)->Name(), "sim");
  EXPECT_EQ((*hv)->Physinfo()->nr_cpus, 8u);
  EXPECT_EQ((*hv)->Physinfo()->total_memory_kib, 4ull << 20);
}

TEST(OpenHypervisor, XenWithoutXenFailsWithAReason) {
  if (::access("/dev/xen/privcmd", F_OK) == 0) GTEST_SKIP() << "running on Xen";
  HypervisorOptions options;
  options.kind = HypervisorKind::kXen;
  auto hv = OpenHypervisor(options);
  ASSERT_FALSE(hv.ok());
  EXPECT_NE(hv.status().code(), 0);
  EXPECT_NE(hv.status().message().find("xc_interface_open"), std::string::npos)
      << hv.status().ToString();
}

}  // namespace
}  // namespace txend::toolstack
