// The real backend's pure parts: libxenctrl structures -> value types,
// cpumaps, the createdomain request, errno -> Status, libxc's log capture.
#include "toolstack/hypervisor/xen/xen_mapping.h"

#include <cstring>

#include <gtest/gtest.h>

#include "toolstack/hypervisor/xen/xen_log.h"

namespace txend::toolstack {
namespace {

xc_domaininfo_t XenDomain(uint32_t flags) {
  xc_domaininfo_t x{};
  x.domain = 5;
  x.flags = flags;
  x.tot_pages = 262144;
  x.max_pages = 262400;
  x.nr_online_vcpus = 2;
  x.max_vcpu_id = 3;
  x.cpu_time = 123456789;
  x.ssidref = 11;
  for (int i = 0; i < 16; ++i) x.handle[i] = static_cast<uint8_t>(i);
  return x;
}

TEST(XenMapping, DomainInfoFlagsAndSizes) {
  DomainInfo d = DomainInfoFromXen(XenDomain(XEN_DOMINF_blocked | XEN_DOMINF_paused));
  EXPECT_EQ(d.domid, 5u);
  EXPECT_EQ(d.uuid.ToString(), "00010203-0405-0607-0809-0a0b0c0d0e0f");
  EXPECT_EQ(d.StateString(), "-bp---");
  EXPECT_EQ(d.memory_kib, 1048576u);
  EXPECT_EQ(d.max_memory_kib, 1049600u);
  EXPECT_EQ(d.online_vcpus, 2u);
  EXPECT_EQ(d.MaxVcpus(), 4u);
  EXPECT_EQ(d.cpu_time_ns, 123456789u);
  EXPECT_EQ(d.ssidref, 11u);
  EXPECT_FALSE(d.hvm);
  EXPECT_TRUE(DomainInfoFromXen(XenDomain(XEN_DOMINF_hvm_guest | XEN_DOMINF_running)).hvm);
  EXPECT_EQ(DomainInfoFromXen(XenDomain(XEN_DOMINF_running | XEN_DOMINF_dying)).StateString(),
            "r----d");
}

TEST(XenMapping, ShutdownReasonAndCrashAsLibxcReportsThem) {
  auto with_reason = [](uint32_t code) {
    return XEN_DOMINF_shutdown | (code << XEN_DOMINF_shutdownshift);
  };
  DomainInfo reboot = DomainInfoFromXen(XenDomain(with_reason(SHUTDOWN_reboot)));
  EXPECT_TRUE(reboot.shutdown);
  EXPECT_EQ(reboot.shutdown_reason, ShutdownReason::kReboot);
  EXPECT_EQ(reboot.StateString(), "---s--");
  DomainInfo crash = DomainInfoFromXen(XenDomain(with_reason(SHUTDOWN_crash)));
  EXPECT_FALSE(crash.shutdown);
  EXPECT_TRUE(crash.crashed);
  EXPECT_EQ(crash.StateString(), "----c-");
  EXPECT_EQ(DomainInfoFromXen(XenDomain(with_reason(SHUTDOWN_watchdog))).shutdown_reason,
            ShutdownReason::kWatchdog);
  EXPECT_EQ(DomainInfoFromXen(XenDomain(with_reason(SHUTDOWN_suspend))).shutdown_reason,
            ShutdownReason::kSuspend);
  // Reason bits without the shutdown flag mean nothing.
  EXPECT_EQ(
      DomainInfoFromXen(XenDomain(SHUTDOWN_reboot << XEN_DOMINF_shutdownshift)).shutdown_reason,
      ShutdownReason::kPoweroff);
}

TEST(XenMapping, HugeMaxPagesSaturates) {
  xc_domaininfo_t x = XenDomain(0);
  x.max_pages = ~0ull;  // dom0 without a limit
  EXPECT_EQ(DomainInfoFromXen(x).max_memory_kib, ~0ull);
}

TEST(XenMapping, ShutdownCodesMatchXen) {
  EXPECT_EQ(static_cast<int>(ShutdownReason::kPoweroff), SHUTDOWN_poweroff);
  EXPECT_EQ(static_cast<int>(ShutdownReason::kReboot), SHUTDOWN_reboot);
  EXPECT_EQ(static_cast<int>(ShutdownReason::kSuspend), SHUTDOWN_suspend);
  EXPECT_EQ(static_cast<int>(ShutdownReason::kCrash), SHUTDOWN_crash);
  EXPECT_EQ(static_cast<int>(ShutdownReason::kWatchdog), SHUTDOWN_watchdog);
  EXPECT_EQ(static_cast<int>(ShutdownReason::kSoftReset), SHUTDOWN_soft_reset);
  EXPECT_EQ(kFirstReservedDomId, DOMID_FIRST_RESERVED);
}

TEST(XenMapping, VcpuInfo) {
  xc_vcpuinfo_t x{};
  x.vcpu = 1;
  x.online = 1;
  x.running = 1;
  x.cpu_time = 42;
  x.cpu = 3;
  VcpuInfo v = VcpuInfoFromXen(x, CpuSet{2, 3});
  EXPECT_EQ(v.vcpu, 1u);
  EXPECT_TRUE(v.online && v.running);
  EXPECT_FALSE(v.blocked);
  EXPECT_EQ(v.cpu_time_ns, 42u);
  EXPECT_EQ(v.cpu, 3u);
  EXPECT_EQ(v.affinity, (CpuSet{2, 3}));
}

TEST(XenMapping, PhysInfo) {
  xc_physinfo_t x{};
  x.nr_cpus = 16;
  x.max_cpu_id = 15;
  x.nr_nodes = 2;
  x.cores_per_socket = 4;
  x.threads_per_core = 2;
  x.cpu_khz = 2'600'000;
  x.total_pages = 4194304;  // 16 GiB
  x.free_pages = 1000;
  x.scrub_pages = 24;
  x.capabilities = XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_pv;
  x.hw_cap[0] = 0xbfebfbff;
  PhysInfo p = PhysInfoFromXen(x);
  EXPECT_EQ(p.nr_cpus, 16u);
  EXPECT_EQ(p.sockets, 2u);
  EXPECT_EQ(p.nr_nodes, 2u);
  EXPECT_EQ(p.cpu_khz, 2'600'000u);
  EXPECT_EQ(p.total_memory_kib, 16ull << 20);
  EXPECT_EQ(p.free_memory_kib, 4096u);
  EXPECT_TRUE(p.hvm && p.pv);
  EXPECT_FALSE(p.hap);
  EXPECT_EQ(p.HwCapsString().substr(0, 9), "bfebfbff:");
  x.cores_per_socket = 0;  // nonsense from the hypervisor must not divide by zero
  EXPECT_EQ(PhysInfoFromXen(x).sockets, 1u);
}

TEST(XenMapping, VersionPiecesAndSchedulers) {
  VersionInfo v;
  SetVersionNumber((4 << 16) | 17, v);
  EXPECT_EQ(v.major, 4u);
  EXPECT_EQ(v.minor, 17u);
  EXPECT_EQ(SchedulerName(XEN_SCHEDULER_CREDIT), "credit");
  EXPECT_EQ(SchedulerName(XEN_SCHEDULER_CREDIT2), "credit2");
  EXPECT_EQ(SchedulerName(XEN_SCHEDULER_NULL), "null");
  EXPECT_EQ(SchedulerName(1234), "unknown");
  xen_extraversion_t extra;
  std::memset(extra, 'x', sizeof extra);  // no NUL at all
  EXPECT_EQ(FixedString(extra, sizeof extra), std::string(16, 'x'));
  EXPECT_EQ(FixedString(".7\0garbage", 10), ".7");
}

TEST(XenMapping, CpumapConversions) {
  std::vector<uint8_t> map = {0b00000101, 0b10000000};
  EXPECT_EQ(CpuSetFromCpumap(map.data(), map.size()), (CpuSet{0, 2, 15}));
  auto back = CpumapFromCpuSet(CpuSet{0, 2, 15}, 2);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, map);
  EXPECT_EQ(*CpumapFromCpuSet(CpuSet{}, 3), (std::vector<uint8_t>{0, 0, 0}));
  auto too_big = CpumapFromCpuSet(CpuSet{16}, 2);
  EXPECT_EQ(too_big.status().code(), EINVAL);
  EXPECT_EQ(too_big.status().message(), "cpu 16 beyond the hypervisor's 16 cpus");
}

constexpr uint32_t kAllCaps = XEN_SYSCTL_PHYSCAP_hvm | XEN_SYSCTL_PHYSCAP_pv |
                              XEN_SYSCTL_PHYSCAP_hap | XEN_SYSCTL_PHYSCAP_gnttab_v1 |
                              XEN_SYSCTL_PHYSCAP_gnttab_v2;

TEST(XenMapping, CreateDomainConfigForPv) {
  CreateRequest r;
  r.uuid = *Uuid::Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff");
  r.max_vcpus = 4;
  r.ssidref = 9;
  auto c = CreateDomainConfig(r, kAllCaps);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->flags, 0u);
  EXPECT_EQ(c->arch.emulation_flags, 0u);
  EXPECT_EQ(c->max_vcpus, 4u);
  EXPECT_EQ(c->ssidref, 9u);
  EXPECT_EQ(c->handle[0], 0x6f);
  EXPECT_EQ(c->handle[15], 0xff);
  EXPECT_EQ(c->max_evtchn_port, 1023u);
  EXPECT_EQ(c->max_grant_frames, -1);
  EXPECT_EQ(c->max_maptrack_frames, -1);
  EXPECT_EQ(XEN_DOMCTL_GRANT_version(c->grant_opts), 2u);
  EXPECT_EQ(XEN_DOMCTL_GRANT_version(CreateDomainConfig(r, XEN_SYSCTL_PHYSCAP_pv)->grant_opts), 1u);
}

TEST(XenMapping, CreateDomainConfigForHvm) {
  CreateRequest r;
  r.type = GuestType::kHvm;
  auto c = CreateDomainConfig(r, kAllCaps);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->flags, XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap);
  EXPECT_EQ(c->arch.emulation_flags, XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI);
  EXPECT_EQ(CreateDomainConfig(r, kAllCaps & ~XEN_SYSCTL_PHYSCAP_hap)->flags,
            XEN_DOMCTL_CDF_hvm);  // shadow
  r.hap = false;
  EXPECT_EQ(CreateDomainConfig(r, kAllCaps)->flags, XEN_DOMCTL_CDF_hvm);
}

TEST(XenMapping, CreateDomainConfigForPvhEmulatesOnlyTheLocalApic) {
  CreateRequest r;
  r.type = GuestType::kPvh;
  auto c = CreateDomainConfig(r, kAllCaps);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->flags, XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap);
  EXPECT_EQ(c->arch.emulation_flags, XEN_X86_EMU_LAPIC);
  EXPECT_EQ(CreateDomainConfig(r, XEN_SYSCTL_PHYSCAP_pv).status().message(),
            "this host cannot run PVH guests (no VMX/SVM, or disabled)");
}

// libxl__build_hvm's numbers for a 512 MiB HVM guest with 8 MiB of video memory,
// a 4 GiB one (RAM above the hole), and a 256 MiB PVH guest.
TEST(XenMapping, HvmLayoutAsLibxlComputesIt) {
  HvmBuildRequest hvm;
  hvm.memory_kib = 512 * 1024;
  hvm.video_memory_kib = 8 * 1024;
  HvmMemoryLayout l = HvmLayout(hvm);
  EXPECT_EQ(l.target_pages, (504ull << 20) >> 12);
  EXPECT_EQ(l.mmio_start, 0xF0000000ull);
  EXPECT_EQ(l.lowmem_end, 504ull << 20);
  EXPECT_EQ(l.highmem_end, 0u);
  EXPECT_EQ(l.vga_hole_pages, 0x20u);
  ASSERT_EQ(l.e820.size(), 1u);
  EXPECT_EQ(l.e820[0].addr, 0x100000u);
  EXPECT_EQ(l.e820[0].size, (504ull << 20) - 0x100000);

  hvm.memory_kib = 4ull << 20;
  hvm.video_memory_kib = 0;
  l = HvmLayout(hvm);
  EXPECT_EQ(l.lowmem_end, 0xF0000000ull);
  EXPECT_EQ(l.highmem_end, (1ull << 32) + (4ull << 30) - 0xF0000000ull);
  ASSERT_EQ(l.e820.size(), 2u);
  EXPECT_EQ(l.e820[1].addr, 1ull << 32);
  EXPECT_EQ(l.e820[1].type, uint32_t{E820_RAM});

  HvmBuildRequest pvh;
  pvh.type = GuestType::kPvh;
  pvh.memory_kib = 256 * 1024;
  l = HvmLayout(pvh);
  EXPECT_EQ(l.mmio_start, 0xFC000000ull) << "below the ACPI info page, the APIC and special pages";
  EXPECT_EQ(l.vga_hole_pages, 0u);
  ASSERT_EQ(l.e820.size(), 2u);
  EXPECT_EQ(l.e820[0].addr, 0u) << "a PVH guest has RAM from 0";
  EXPECT_EQ(l.e820[1].addr, 0xfeff8000ull);
  EXPECT_EQ(l.e820[1].size, 8ull * 4096);
  EXPECT_EQ(l.e820[1].type, uint32_t{E820_RESERVED});
}

// domain_construct_memmap: each ACPI module's pages are ACPI memory, after the special
// pages and before RAM above 4 GiB; the RSDP below 1 MiB gets its whole page.
TEST(XenMapping, HvmLayoutReservesThePvhAcpiTables) {
  HvmBuildRequest pvh;
  pvh.type = GuestType::kPvh;
  pvh.memory_kib = 5ull << 20;
  PvhAcpiConfig config;
  config.rsdp_below_1mib = true;
  auto acpi = BuildPvhAcpiTables(config);
  ASSERT_TRUE(acpi.ok());
  HvmMemoryLayout l = HvmLayout(pvh, &*acpi);
  ASSERT_EQ(l.e820.size(), 6u);
  EXPECT_EQ(l.e820[1].type, uint32_t{E820_RESERVED});
  EXPECT_EQ(l.e820[2].addr, 0xff000u);
  EXPECT_EQ(l.e820[2].size, 4096u);
  EXPECT_EQ(l.e820[3].addr, 0xfc000000u);
  EXPECT_EQ(l.e820[3].size, 4096u);
  EXPECT_EQ(l.e820[4].addr, 0xfc001000u);
  EXPECT_EQ(l.e820[4].size, acpi->tables.bytes.size());
  for (size_t i = 2; i < 5; ++i) EXPECT_EQ(l.e820[i].type, uint32_t{E820_ACPI}) << i;
  EXPECT_EQ(l.e820[5].addr, 1ull << 32);
  EXPECT_EQ(l.e820[5].type, uint32_t{E820_RAM});
}

TEST(XenMapping, ViridianMaskIsLibxlsDefaultGroup) {
  EXPECT_EQ(ViridianMask(false), 0u);
  EXPECT_EQ(ViridianMask(true),
            uint64_t{HVMPV_base_freq | HVMPV_time_ref_count | HVMPV_apic_assist | HVMPV_crash_ctl});
}

TEST(XenMapping, CreateDomainConfigRejectsWhatTheHostCannotDo) {
  CreateRequest r;
  r.type = GuestType::kHvm;
  auto no_hvm = CreateDomainConfig(r, XEN_SYSCTL_PHYSCAP_pv);
  EXPECT_EQ(no_hvm.status().code(), ENOTSUP);
  r.type = GuestType::kPv;
  EXPECT_EQ(CreateDomainConfig(r, XEN_SYSCTL_PHYSCAP_hvm).status().code(), ENOTSUP);
  r.max_vcpus = 0;
  EXPECT_EQ(CreateDomainConfig(r, kAllCaps).status().code(), EINVAL);
}

TEST(XenMapping, Precopy) {
  precopy_stats x{3, 5000, 42};
  PrecopyStats s = PrecopyStatsFromXen(x);
  EXPECT_EQ(s.iteration, 3u);
  EXPECT_EQ(s.total_written, 5000u);
  EXPECT_EQ(s.dirty_count, 42);
  EXPECT_EQ(PrecopyDecisionToXen(PrecopyDecision::kContinue), XGS_POLICY_CONTINUE_PRECOPY);
  EXPECT_EQ(PrecopyDecisionToXen(PrecopyDecision::kStopAndCopy), XGS_POLICY_STOP_AND_COPY);
  EXPECT_EQ(PrecopyDecisionToXen(PrecopyDecision::kAbort), XGS_POLICY_ABORT);
}

TEST(XenMapping, ErrnoBecomesStatusWithAClearMessage) {
  Status gone = XenDomainError("xc_domain_pause", 7, ESRCH);
  EXPECT_EQ(gone.code(), ESRCH);
  EXPECT_EQ(gone.message(), "xc_domain_pause: no such domain 7");
  Status perm = XenError("xc_interface_open", EACCES);
  EXPECT_EQ(perm.code(), EACCES);
  EXPECT_EQ(perm.message(),
            "xc_interface_open: permission denied (txend must run as root in dom0)");
  Status nomem = XenDomainError("xc_dom_boot_mem_init", 3, ENOMEM, "xc: panic: failed to allocate");
  EXPECT_EQ(nomem.code(), ENOMEM);
  EXPECT_EQ(
      nomem.message(),
      "xc_dom_boot_mem_init (domain 3): Cannot allocate memory [xc: panic: failed to allocate]");
  Status unknown = XenError("xc_dom_parse_image", 0);
  EXPECT_EQ(unknown.code(), EIO);
  EXPECT_EQ(unknown.message(), "xc_dom_parse_image: failed");
}

TEST(XenLog, KeepsTheLastErrorForTheNextStatus) {
  XenLog log(/*echo_to_stderr=*/false);
  xtl_log(log.logger(), XTL_INFO, -1, "xc", "just talking");
  EXPECT_EQ(log.TakeLastError(), "");
  xtl_log(log.logger(), XTL_ERROR, ENOENT, "xc", "cannot open %s", "/boot/vmlinuz");
  xtl_log(log.logger(), XTL_WARN, -1, "xc", "a warning is not an error");
  EXPECT_EQ(log.TakeLastError(), "xc: cannot open /boot/vmlinuz (No such file or directory)");
  EXPECT_EQ(log.TakeLastError(), "");
}

}  // namespace
}  // namespace txend::toolstack
