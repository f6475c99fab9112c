#include "toolstack/hypervisor/xen/xen_hypervisor.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string_view>
#include <sys/mman.h>
#include <vector>

#include "base/host_files.h"
#include "toolstack/hypervisor/hypervisor_validation.h"
#include "toolstack/hypervisor/kernel_image.h"
#include "toolstack/hypervisor/pvh_acpi_tables.h"
#include "toolstack/hypervisor/xen/xen_headers.h"
#include "toolstack/hypervisor/xen/xen_log.h"
#include "toolstack/hypervisor/xen/xen_mapping.h"

namespace txend::toolstack {

class XenHypervisor::Handle {
 public:
  static Result<std::unique_ptr<Handle>> Open() {
    auto h = std::unique_ptr<Handle>(new Handle);
    h->xch_ = xc_interface_open(h->log_.logger(), h->log_.logger(), 0);
    if (!h->xch_) return XenError("xc_interface_open", errno, h->log_.TakeLastError());
    return h;
  }
  ~Handle() {
    if (xch_) xc_interface_close(xch_);
  }
  xc_interface* xch() { return xch_; }
  XenLog& log() { return log_; }
  // Status for a failed call whose errno is `err`, with libxc's last message.
  Status Fail(std::string_view call, DomId domid, int err) {
    return XenDomainError(call, domid, err, log_.TakeLastError());
  }
  Status FailHost(std::string_view call, int err) {
    return XenError(call, err, log_.TakeLastError());
  }

 private:
  Handle() = default;
  XenLog log_;
  xc_interface* xch_ = nullptr;
};

namespace {

// Frees an xc_dom_image on every path out of BuildPv.
struct DomImageDeleter {
  void operator()(xc_dom_image* dom) const { xc_dom_release(dom); }
};

// What the save callbacks reach through their `data` pointer.
struct SaveCallbackState {
  const SaveRequest* request;
  Status suspend_status;
};

int SuspendCallback(void* data) {
  auto* state = static_cast<SaveCallbackState*>(data);
  state->suspend_status = state->request->suspend();
  return state->suspend_status.ok() ? 1 : 0;
}

// libxc calls it for every HVM save; without a device model there is nothing to switch.
int SwitchQemuLogdirtyCallback(uint32_t, unsigned enable, void* data) {
  auto* state = static_cast<SaveCallbackState*>(data);
  if (!state->request->device_model_logdirty) return 0;
  return state->request->device_model_logdirty(enable != 0).ok() ? 0 : -1;
}

int PrecopyCallback(precopy_stats stats, void* data) {
  auto* state = static_cast<SaveCallbackState*>(data);
  return PrecopyDecisionToXen(state->request->precopy_policy(PrecopyStatsFromXen(stats)));
}

}  // namespace

Result<std::unique_ptr<XenHypervisor>> XenHypervisor::Open() {
  TXEND_ASSIGN_OR_RETURN(auto handle, Handle::Open());
  xc_physinfo_t physinfo{};
  if (xc_physinfo(handle->xch(), &physinfo) != 0) return handle->FailHost("xc_physinfo", errno);
  return std::unique_ptr<XenHypervisor>(
      new XenHypervisor(std::move(handle), physinfo.capabilities, physinfo.max_cpu_id + 1));
}

XenHypervisor::XenHypervisor(std::unique_ptr<Handle> handle, uint32_t capabilities,
                             uint32_t nr_cpu_ids)
    : handle_(std::move(handle)), capabilities_(capabilities), nr_cpu_ids_(nr_cpu_ids) {}

XenHypervisor::~XenHypervisor() = default;

Status XenHypervisor::Check(int rc, std::string_view call, DomId domid) {
  if (rc >= 0) return Status::Ok();
  return handle_->Fail(call, domid, errno);
}

Status XenHypervisor::CheckHost(int rc, std::string_view call) {
  if (rc >= 0) return Status::Ok();
  return handle_->FailHost(call, errno);
}

Result<VersionInfo> XenHypervisor::Version() {
  std::lock_guard lock(mu_);
  xc_interface* xch = handle_->xch();
  VersionInfo v;
  int packed = xc_version(xch, XENVER_version, nullptr);
  TXEND_RETURN_IF_ERROR(CheckHost(packed, "xc_version"));
  SetVersionNumber(packed, v);
  xen_extraversion_t extra{};
  xen_capabilities_info_t caps{};
  xen_changeset_info_t changeset{};
  xen_compile_info_t compile{};
  xen_commandline_t cmdline{};
  xen_platform_parameters_t platform{};
  TXEND_RETURN_IF_ERROR(
      CheckHost(xc_version(xch, XENVER_extraversion, &extra), "xc_version(extraversion)"));
  TXEND_RETURN_IF_ERROR(
      CheckHost(xc_version(xch, XENVER_capabilities, &caps), "xc_version(capabilities)"));
  TXEND_RETURN_IF_ERROR(
      CheckHost(xc_version(xch, XENVER_changeset, &changeset), "xc_version(changeset)"));
  TXEND_RETURN_IF_ERROR(
      CheckHost(xc_version(xch, XENVER_compile_info, &compile), "xc_version(compile_info)"));
  xc_version(xch, XENVER_commandline, &cmdline);  // refused to unprivileged callers; empty then
  xc_version(xch, XENVER_platform_parameters, &platform);
  v.extra = FixedString(extra, sizeof extra);
  v.caps = FixedString(caps, sizeof caps);
  v.changeset = FixedString(changeset, sizeof changeset);
  v.compiler = FixedString(compile.compiler, sizeof compile.compiler);
  v.compile_by = FixedString(compile.compile_by, sizeof compile.compile_by);
  v.compile_domain = FixedString(compile.compile_domain, sizeof compile.compile_domain);
  v.compile_date = FixedString(compile.compile_date, sizeof compile.compile_date);
  v.commandline = FixedString(cmdline, sizeof cmdline);
  v.virt_start = platform.virt_start;
  int pagesize = xc_version(xch, XENVER_pagesize, nullptr);
  v.pagesize = pagesize > 0 ? static_cast<uint64_t>(pagesize) : 4096;
  int sched_id = 0;
  TXEND_RETURN_IF_ERROR(CheckHost(xc_sched_id(xch, &sched_id), "xc_sched_id"));
  v.scheduler = SchedulerName(static_cast<uint32_t>(sched_id));
  return v;
}

Result<PhysInfo> XenHypervisor::Physinfo() {
  std::lock_guard lock(mu_);
  xc_physinfo_t info{};
  TXEND_RETURN_IF_ERROR(CheckHost(xc_physinfo(handle_->xch(), &info), "xc_physinfo"));
  return PhysInfoFromXen(info);
}

Result<DomId> XenHypervisor::CreateDomain(const CreateRequest& request) {
  TXEND_ASSIGN_OR_RETURN(xen_domctl_createdomain config,
                         CreateDomainConfig(request, capabilities_));
  std::lock_guard lock(mu_);
  uint32_t domid = request.domid;
  TXEND_RETURN_IF_ERROR(
      CheckHost(xc_domain_create(handle_->xch(), &domid, &config), "xc_domain_create"));
  // Xen 4.17 still allocates the vcpus themselves in XEN_DOMCTL_max_vcpus (domctl.h),
  // with the count createdomain was given; without it the first SETVCPUCONTEXT fails.
  if (xc_domain_max_vcpus(handle_->xch(), domid, config.max_vcpus) != 0) {
    int err = errno;
    xc_domain_destroy(handle_->xch(), domid);
    return handle_->Fail("xc_domain_max_vcpus", domid, err);
  }
  return domid;
}

Result<DomainInfo> XenHypervisor::InfoLocked(DomId domid) {
  xc_domaininfo_t info{};
  int n = xc_domain_getinfolist(handle_->xch(), domid, 1, &info);
  TXEND_RETURN_IF_ERROR(Check(n, "xc_domain_getinfolist", domid));
  if (n == 0 || info.domain != domid)
    return Status::Error(ESRCH, "no such domain " + std::to_string(domid));
  return DomainInfoFromXen(info);
}

Result<DomainInfo> XenHypervisor::GetDomainInfo(DomId domid) {
  std::lock_guard lock(mu_);
  return InfoLocked(domid);
}

Result<std::vector<DomainInfo>> XenHypervisor::ListDomains() {
  constexpr unsigned kBatch = 256;
  std::lock_guard lock(mu_);
  std::vector<DomainInfo> list;
  std::vector<xc_domaininfo_t> batch(kBatch);
  uint32_t next = 0;
  while (true) {
    int n = xc_domain_getinfolist(handle_->xch(), next, kBatch, batch.data());
    TXEND_RETURN_IF_ERROR(CheckHost(n, "xc_domain_getinfolist"));
    for (int i = 0; i < n; ++i) list.push_back(DomainInfoFromXen(batch[i]));
    if (n < static_cast<int>(kBatch)) return list;
    next = batch[n - 1].domain + 1u;
  }
}

Status XenHypervisor::SetMaxMemory(DomId domid, uint64_t kib) {
  std::lock_guard lock(mu_);
  return Check(xc_domain_setmaxmem(handle_->xch(), domid, kib), "xc_domain_setmaxmem", domid);
}

Status XenHypervisor::SetShadowMemory(DomId domid, uint64_t kib) {
  std::lock_guard lock(mu_);
  uint64_t bytes = KibToPages(kib) * kPageKib * 1024;
  return Check(xc_set_paging_mempool_size(handle_->xch(), domid, bytes),
               "xc_set_paging_mempool_size", domid);
}

Status XenHypervisor::Pause(DomId domid) {
  std::lock_guard lock(mu_);
  return Check(xc_domain_pause(handle_->xch(), domid), "xc_domain_pause", domid);
}

Status XenHypervisor::Unpause(DomId domid) {
  std::lock_guard lock(mu_);
  return Check(xc_domain_unpause(handle_->xch(), domid), "xc_domain_unpause", domid);
}

Status XenHypervisor::Shutdown(DomId domid, ShutdownReason reason) {
  TXEND_ASSIGN_OR_RETURN(ShutdownReason valid,
                         ShutdownReasonFromCode(static_cast<uint32_t>(reason)));
  std::lock_guard lock(mu_);
  return Check(xc_domain_shutdown(handle_->xch(), domid, static_cast<int>(valid)),
               "xc_domain_shutdown", domid);
}

Result<bool> XenHypervisor::HasPvDrivers(DomId domid) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, InfoLocked(domid));
  if (!info.hvm) return true;
  uint64_t callback_irq = 0;
  TXEND_RETURN_IF_ERROR(
      Check(xc_hvm_param_get(handle_->xch(), domid, HVM_PARAM_CALLBACK_IRQ, &callback_irq),
            "xc_hvm_param_get(CALLBACK_IRQ)", domid));
  return callback_irq != 0;
}

Status XenHypervisor::Resume(DomId domid) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, InfoLocked(domid));
  if (!info.shutdown || info.shutdown_reason != ShutdownReason::kSuspend)
    return Status::Error(EINVAL, "domain " + std::to_string(domid) + " is not suspended");
  return Check(xc_domain_resume(handle_->xch(), domid, /*fast=*/1), "xc_domain_resume", domid);
}

Status XenHypervisor::Destroy(DomId domid) {
  std::lock_guard lock(mu_);
  return Check(xc_domain_destroy(handle_->xch(), domid), "xc_domain_destroy", domid);
}

Result<VcpuInfo> XenHypervisor::GetVcpuInfo(DomId domid, uint32_t vcpu) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, InfoLocked(domid));
  TXEND_RETURN_IF_ERROR(ValidateVcpu(domid, vcpu, info.MaxVcpus()));
  xc_vcpuinfo_t x{};
  TXEND_RETURN_IF_ERROR(
      Check(xc_vcpu_getinfo(handle_->xch(), domid, vcpu, &x), "xc_vcpu_getinfo", domid));
  int size = xc_get_cpumap_size(handle_->xch());
  TXEND_RETURN_IF_ERROR(Check(size > 0 ? 0 : -1, "xc_get_cpumap_size", domid));
  std::vector<uint8_t> map(static_cast<size_t>(size));
  TXEND_RETURN_IF_ERROR(Check(xc_vcpu_getaffinity(handle_->xch(), domid, static_cast<int>(vcpu),
                                                  map.data(), nullptr, XEN_VCPUAFFINITY_HARD),
                              "xc_vcpu_getaffinity", domid));
  return VcpuInfoFromXen(x, CpuSetFromCpumap(map.data(), map.size()));
}

Status XenHypervisor::SetVcpuAffinity(DomId domid, uint32_t vcpu, const CpuSet& cpus) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, InfoLocked(domid));
  TXEND_RETURN_IF_ERROR(ValidateVcpu(domid, vcpu, info.MaxVcpus()));
  TXEND_RETURN_IF_ERROR(ValidateAffinity(cpus, nr_cpu_ids_));
  int size = xc_get_cpumap_size(handle_->xch());
  TXEND_RETURN_IF_ERROR(Check(size > 0 ? 0 : -1, "xc_get_cpumap_size", domid));
  TXEND_ASSIGN_OR_RETURN(auto map, CpumapFromCpuSet(cpus, static_cast<size_t>(size)));
  return Check(xc_vcpu_setaffinity(handle_->xch(), domid, static_cast<int>(vcpu), map.data(),
                                   nullptr, XEN_VCPUAFFINITY_HARD),
               "xc_vcpu_setaffinity", domid);
}

Result<SchedCredit> XenHypervisor::GetSchedCredit(DomId domid) {
  std::lock_guard lock(mu_);
  xen_domctl_sched_credit s{};
  TXEND_RETURN_IF_ERROR(Check(xc_sched_credit_domain_get(handle_->xch(), domid, &s),
                              "xc_sched_credit_domain_get", domid));
  return SchedCredit{s.weight, s.cap};
}

Status XenHypervisor::SetSchedCredit(DomId domid, const SchedCredit& params) {
  std::lock_guard lock(mu_);
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, InfoLocked(domid));
  TXEND_RETURN_IF_ERROR(ValidateSchedCredit(params, info.MaxVcpus()));
  xen_domctl_sched_credit s{static_cast<uint16_t>(params.weight),
                            static_cast<uint16_t>(params.cap)};
  return Check(xc_sched_credit_domain_set(handle_->xch(), domid, &s), "xc_sched_credit_domain_set",
               domid);
}

Result<uint32_t> XenHypervisor::AllocUnboundPort(DomId domid, DomId remote) {
  std::lock_guard lock(mu_);
  int port = xc_evtchn_alloc_unbound(handle_->xch(), domid, remote);
  TXEND_RETURN_IF_ERROR(Check(port, "xc_evtchn_alloc_unbound", domid));
  return static_cast<uint32_t>(port);
}

Result<GuestRings> XenHypervisor::BuildPv(DomId domid, const PvBuildRequest& request) {
  TXEND_RETURN_IF_ERROR(ValidatePvBuildRequest(request));
  TXEND_RETURN_IF_ERROR(CheckKernelFile(request.kernel).status());
  if (!request.ramdisk.empty())
    TXEND_RETURN_IF_ERROR(CheckReadableFile(request.ramdisk, "ramdisk"));
  std::lock_guard lock(mu_);
  xc_interface* xch = handle_->xch();
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, InfoLocked(domid));
  if (info.hvm)
    return Status::Error(EINVAL,
                         "domain " + std::to_string(domid) + " is HVM; BuildPv builds PV guests");
  uint64_t limit_kib = std::max(info.max_memory_kib, request.memory_kib);
  TXEND_RETURN_IF_ERROR(Check(xc_domain_set_memmap_limit(xch, domid, limit_kib),
                              "xc_domain_set_memmap_limit", domid));
  std::unique_ptr<xc_dom_image, DomImageDeleter> dom(
      xc_dom_allocate(xch, request.cmdline.c_str(), request.features.c_str()));
  if (!dom) return handle_->Fail("xc_dom_allocate", domid, errno);
  dom->container_type = xc_dom_image::XC_DOM_PV_CONTAINER;
  TXEND_RETURN_IF_ERROR(
      Check(xc_dom_kernel_file(dom.get(), request.kernel.c_str()), "xc_dom_kernel_file", domid));
  if (!request.ramdisk.empty())
    TXEND_RETURN_IF_ERROR(Check(xc_dom_module_file(dom.get(), request.ramdisk.c_str(), nullptr),
                                "xc_dom_module_file", domid));
  dom->flags = 0;
  dom->console_evtchn = request.console_port;
  dom->console_domid = request.console_domid;
  dom->xenstore_evtchn = request.store_port;
  dom->xenstore_domid = request.store_domid;
  dom->claim_enabled = 0;
  dom->max_vcpus = info.MaxVcpus();
  TXEND_RETURN_IF_ERROR(
      Check(xc_dom_boot_xen_init(dom.get(), xch, domid), "xc_dom_boot_xen_init", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_parse_image(dom.get()), "xc_dom_parse_image", domid));
  auto mem_mb = static_cast<unsigned>(request.memory_kib / 1024);
  TXEND_RETURN_IF_ERROR(Check(xc_dom_mem_init(dom.get(), mem_mb), "xc_dom_mem_init", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_boot_mem_init(dom.get()), "xc_dom_boot_mem_init", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_build_image(dom.get()), "xc_dom_build_image", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_boot_image(dom.get()), "xc_dom_boot_image", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_gnttab_init(dom.get()), "xc_dom_gnttab_init", domid));
  return GuestRings{xc_dom_p2m(dom.get(), dom->xenstore_pfn),
                    xc_dom_p2m(dom.get(), dom->console_pfn)};
}

namespace {

// A whole file in memory: the BIOS image hvmloader hands over to.
Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path, std::string_view what) {
  TXEND_ASSIGN_OR_RETURN(std::string data, ReadRegularFile(path, what, kMaxBootFileBytes));
  if (data.empty()) return Status::Error(EINVAL, std::string(what) + " " + path + " is empty");
  return std::vector<uint8_t>(data.begin(), data.end());
}

// libxl__dom_load_acpi: the PVH guest's ACPI tables, handed to libxenguest as acpi_modules
// (RSDP first: the start info's rsdp_paddr is module 0's address).
Result<PvhAcpiTables> PvhAcpiFor(xc_dom_image& dom, const HvmBuildRequest& request,
                                 uint32_t max_vcpus) {
  PvhAcpiConfig config;
  config.vcpus = max_vcpus;
  config.vcpu_online = request.vcpu_avail;
  config.apic = request.apic;
  const char* os = xc_dom_guest_os(&dom);
  config.rsdp_below_1mib = os && std::string_view(os) == "linux" &&
                           !xc_dom_feature_get(&dom, XENFEAT_linux_rsdp_unrestricted);
  return BuildPvhAcpiTables(config);
}

void SetAcpiModules(xc_dom_image& dom, PvhAcpiTables& tables) {
  AcpiModule* modules[] = {&tables.rsdp, &tables.info, &tables.tables};
  for (size_t i = 0; i < std::size(modules); ++i) {
    dom.acpi_modules[i].data = modules[i]->bytes.data();
    dom.acpi_modules[i].length = static_cast<uint32_t>(modules[i]->bytes.size());
    dom.acpi_modules[i].guest_addr_out = modules[i]->guest_address;
  }
}

}  // namespace

// libxl__arch_domain_create's platform settings: HVM params, viridian, TSC, RTC offset.
Status XenHypervisor::SetHvmPlatformLocked(DomId domid, const HvmBuildRequest& request) {
  xc_interface* xch = handle_->xch();
  bool hvm = request.type == GuestType::kHvm;
  if (hvm) {
    TXEND_RETURN_IF_ERROR(Check(xc_hvm_param_set(xch, domid, HVM_PARAM_HPET_ENABLED, request.hpet),
                                "xc_hvm_param_set(HPET_ENABLED)", domid));
    TXEND_RETURN_IF_ERROR(
        Check(xc_hvm_param_set(xch, domid, HVM_PARAM_VPT_ALIGN, request.vpt_align),
              "xc_hvm_param_set(VPT_ALIGN)", domid));
  }
  TXEND_RETURN_IF_ERROR(
      Check(xc_hvm_param_set(xch, domid, HVM_PARAM_TIMER_MODE, request.timer_mode),
            "xc_hvm_param_set(TIMER_MODE)", domid));
  TXEND_RETURN_IF_ERROR(
      Check(xc_hvm_param_set(xch, domid, HVM_PARAM_ALTP2M, 0), "xc_hvm_param_set(ALTP2M)", domid));
  if (hvm && request.viridian)
    TXEND_RETURN_IF_ERROR(
        Check(xc_hvm_param_set(xch, domid, HVM_PARAM_VIRIDIAN, ViridianMask(request.viridian)),
              "xc_hvm_param_set(VIRIDIAN)", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_domain_set_tsc_info(xch, domid, request.tsc_mode, 0, 0, 0),
                              "xc_domain_set_tsc_info", domid));
  if (request.rtc_offset_s != 0)
    TXEND_RETURN_IF_ERROR(
        Check(xc_domain_set_time_offset(xch, domid, static_cast<int32_t>(request.rtc_offset_s)),
              "xc_domain_set_time_offset", domid));
  return Status::Ok();
}

// hvmloader's hvm_info table: vcpu count, which are online, APIC mode, checksum.
Status XenHypervisor::WriteHvmInfoLocked(DomId domid, const HvmBuildRequest& request,
                                         uint32_t max_vcpus) {
  void* map = xc_map_foreign_range(handle_->xch(), domid, XC_PAGE_SIZE, PROT_READ | PROT_WRITE,
                                   HVM_INFO_PFN);
  if (!map) return handle_->Fail("xc_map_foreign_range(HVM_INFO_PFN)", domid, errno);
  auto* info = reinterpret_cast<hvm_info_table*>(static_cast<uint8_t*>(map) + HVM_INFO_OFFSET);
  info->apic_mode = request.apic;
  info->nr_vcpus = max_vcpus;
  std::memset(info->vcpu_online, 0, sizeof info->vcpu_online);
  for (uint32_t v = 0; v < max_vcpus && v < 64; ++v)
    if (request.vcpu_avail & (uint64_t{1} << v))
      info->vcpu_online[v / 8] = static_cast<uint8_t>(info->vcpu_online[v / 8] | (1u << (v % 8)));
  uint8_t sum = 0;
  for (uint32_t i = 0; i < info->length; ++i)
    sum = static_cast<uint8_t>(sum + reinterpret_cast<uint8_t*>(info)[i]);
  info->checksum = static_cast<uint8_t>(info->checksum - sum);
  munmap(map, XC_PAGE_SIZE);
  return Status::Ok();
}

// libxl__build_hvm (Xen 4.17) without vNUMA, RDM, SMBIOS modules or a PVH shim;
// PVH gets ACPI tables built as libacpi does for it (pvh_acpi_tables.h).
Result<GuestRings> XenHypervisor::BuildHvm(DomId domid, const HvmBuildRequest& request) {
  TXEND_RETURN_IF_ERROR(ValidateHvmBuildRequest(request));
  bool pvh = request.type == GuestType::kPvh;
  std::vector<uint8_t> bios;
  if (pvh) {
    TXEND_RETURN_IF_ERROR(CheckKernelFile(request.kernel).status());
    if (!request.ramdisk.empty())
      TXEND_RETURN_IF_ERROR(CheckReadableFile(request.ramdisk, "ramdisk"));
  } else {
    TXEND_RETURN_IF_ERROR(CheckReadableFile(request.firmware, "firmware"));
    if (!request.system_firmware.empty()) {
      TXEND_ASSIGN_OR_RETURN(bios, ReadWholeFile(request.system_firmware, "system firmware"));
    }
  }
  std::lock_guard lock(mu_);
  xc_interface* xch = handle_->xch();
  TXEND_ASSIGN_OR_RETURN(DomainInfo info, InfoLocked(domid));
  if (!info.hvm)
    return Status::Error(
        EINVAL, "domain " + std::to_string(domid) + " is PV; BuildHvm builds HVM and PVH guests");
  TXEND_RETURN_IF_ERROR(SetHvmPlatformLocked(domid, request));
  std::unique_ptr<xc_dom_image, DomImageDeleter> dom(
      xc_dom_allocate(xch, pvh ? request.cmdline.c_str() : nullptr, nullptr));
  if (!dom) return handle_->Fail("xc_dom_allocate", domid, errno);
  dom->container_type = xc_dom_image::XC_DOM_HVM_CONTAINER;
  const std::string& image = pvh ? request.kernel : request.firmware;
  TXEND_RETURN_IF_ERROR(
      Check(xc_dom_kernel_file(dom.get(), image.c_str()), "xc_dom_kernel_file", domid));
  if (pvh && !request.ramdisk.empty())
    TXEND_RETURN_IF_ERROR(Check(xc_dom_module_file(dom.get(), request.ramdisk.c_str(), nullptr),
                                "xc_dom_module_file", domid));
  if (!bios.empty()) {
    dom->system_firmware_module.data = bios.data();
    dom->system_firmware_module.length = static_cast<uint32_t>(bios.size());
  }
  HvmMemoryLayout layout = HvmLayout(request);
  dom->target_pages = layout.target_pages;
  dom->claim_enabled = 0;
  dom->mmio_size = layout.mmio_size;
  dom->mmio_start = layout.mmio_start;
  dom->lowmem_end = layout.lowmem_end;
  dom->highmem_end = layout.highmem_end;
  dom->vga_hole_size = layout.vga_hole_pages;
  dom->device_model = !pvh;
  dom->max_vcpus = info.MaxVcpus();
  dom->console_evtchn = request.console_port;
  dom->console_domid = request.console_domid;
  dom->xenstore_evtchn = request.store_port;
  dom->xenstore_domid = request.store_domid;
  TXEND_RETURN_IF_ERROR(
      Check(xc_dom_boot_xen_init(dom.get(), xch, domid), "xc_dom_boot_xen_init", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_parse_image(dom.get()), "xc_dom_parse_image", domid));
  PvhAcpiTables acpi;  // read by xc_dom_build_image
  if (pvh) {
    TXEND_ASSIGN_OR_RETURN(acpi, PvhAcpiFor(*dom, request, info.MaxVcpus()));
    layout.e820 = HvmLayout(request, &acpi).e820;
    SetAcpiModules(*dom, acpi);
  }
  auto mem_mb = static_cast<unsigned>((request.memory_kib - request.video_memory_kib) / 1024);
  TXEND_RETURN_IF_ERROR(Check(xc_dom_mem_init(dom.get(), mem_mb), "xc_dom_mem_init", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_boot_mem_init(dom.get()), "xc_dom_boot_mem_init", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_domain_set_memory_map(xch, domid, layout.e820.data(),
                                                       static_cast<uint32_t>(layout.e820.size())),
                              "xc_domain_set_memory_map", domid));
  dom->e820 = layout.e820.data();
  dom->e820_entries = static_cast<unsigned>(layout.e820.size());
  TXEND_RETURN_IF_ERROR(Check(xc_dom_build_image(dom.get()), "xc_dom_build_image", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_boot_image(dom.get()), "xc_dom_boot_image", domid));
  TXEND_RETURN_IF_ERROR(Check(xc_dom_gnttab_init(dom.get()), "xc_dom_gnttab_init", domid));
  if (!pvh) TXEND_RETURN_IF_ERROR(WriteHvmInfoLocked(domid, request, info.MaxVcpus()));
  return GuestRings{dom->xenstore_pfn, dom->console_pfn};  // guest frames: HVM has no p2m here
}

Status XenHypervisor::Save(DomId domid, int fd, const SaveRequest& request) {
  if (!request.suspend)
    return Status::Error(EINVAL,
                         "saving domain " + std::to_string(domid) + " needs a suspend callback");
  TXEND_ASSIGN_OR_RETURN(auto handle, Handle::Open());
  SaveCallbackState state{&request, Status::Ok()};
  save_callbacks callbacks{};
  callbacks.suspend = SuspendCallback;
  callbacks.switch_qemu_logdirty = SwitchQemuLogdirtyCallback;  // libxc requires it for HVM
  if (request.precopy_policy) callbacks.precopy_policy = PrecopyCallback;
  callbacks.data = &state;
  uint32_t flags = request.live ? XCFLAGS_LIVE : 0;
  if (xc_domain_save(handle->xch(), fd, domid, flags, &callbacks, XC_STREAM_PLAIN, -1) == 0)
    return Status::Ok();
  int err = errno;
  if (!state.suspend_status.ok()) return state.suspend_status;
  return handle->Fail("xc_domain_save", domid, err);
}

Result<GuestRings> XenHypervisor::Restore(DomId domid, int fd, const RestoreRequest& request) {
  TXEND_ASSIGN_OR_RETURN(auto handle, Handle::Open());
  restore_callbacks callbacks{};
  unsigned long store_mfn = 0, console_mfn = 0;
  int rc = xc_domain_restore(handle->xch(), fd, domid, request.store_port, &store_mfn,
                             request.store_domid, request.console_port, &console_mfn,
                             request.console_domid, XC_STREAM_PLAIN, &callbacks, -1);
  if (rc != 0) return handle->Fail("xc_domain_restore", domid, errno);
  return GuestRings{store_mfn, console_mfn};
}

Status XenHypervisor::DumpCore(DomId domid, const std::string& path) {
  // libxc opens the path itself: make sure first that it is a regular file it cannot block on.
  TXEND_RETURN_IF_ERROR(CreateRegularFileToWrite(path, "core file").status());
  std::lock_guard lock(mu_);
  return Check(xc_domain_dumpcore(handle_->xch(), domid, path.c_str()), "xc_domain_dumpcore",
               domid);
}

Result<std::string> XenHypervisor::ReadConsoleRing(bool clear) {
  std::lock_guard lock(mu_);
  std::string buffer(1 << 20, '\0');
  unsigned int size = static_cast<unsigned int>(buffer.size());
  uint32_t index = 0;
  TXEND_RETURN_IF_ERROR(
      Check(xc_readconsolering(handle_->xch(), buffer.data(), &size, clear, 0, &index),
            "xc_readconsolering", kDom0));
  buffer.resize(size);
  return buffer;
}

}  // namespace txend::toolstack
