// XenHypervisor: the Hypervisor on real Xen 4.17, through libxenctrl and
// libxenguest (Debian's libxen-dev). Each call is a thin wrapper: argument
// mapping and error translation live in xen_mapping.h, where they are tested.
// Short calls share one libxc handle under a mutex; Save and Restore open a
// handle of their own (as xl's save helper does), so a long migration blocks
// nothing else and its callbacks may call back in.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "toolstack/hypervisor/hypervisor.h"

namespace txend::toolstack {

class XenHypervisor : public Hypervisor {
 public:
  // Opens /dev/xen/privcmd through libxenctrl; fails (ENOENT, EACCES, ...) off Xen.
  static Result<std::unique_ptr<XenHypervisor>> Open();
  ~XenHypervisor() override;

  std::string_view Name() const override { return "xen"; }
  Result<VersionInfo> Version() override;
  Result<PhysInfo> Physinfo() override;
  Result<DomId> CreateDomain(const CreateRequest& request) override;
  Result<DomainInfo> GetDomainInfo(DomId domid) override;
  Result<std::vector<DomainInfo>> ListDomains() override;
  Status SetMaxMemory(DomId domid, uint64_t kib) override;
  Status SetShadowMemory(DomId domid, uint64_t kib) override;
  Status Pause(DomId domid) override;
  Status Unpause(DomId domid) override;
  Status Shutdown(DomId domid, ShutdownReason reason) override;
  Result<bool> HasPvDrivers(DomId domid) override;
  Status Resume(DomId domid) override;
  Status Destroy(DomId domid) override;
  Result<VcpuInfo> GetVcpuInfo(DomId domid, uint32_t vcpu) override;
  Status SetVcpuAffinity(DomId domid, uint32_t vcpu, const CpuSet& cpus) override;
  Result<SchedCredit> GetSchedCredit(DomId domid) override;
  Status SetSchedCredit(DomId domid, const SchedCredit& params) override;
  Result<uint32_t> AllocUnboundPort(DomId domid, DomId remote) override;
  Result<GuestRings> BuildPv(DomId domid, const PvBuildRequest& request) override;
  Result<GuestRings> BuildHvm(DomId domid, const HvmBuildRequest& request) override;
  Status Save(DomId domid, int fd, const SaveRequest& request) override;
  Result<GuestRings> Restore(DomId domid, int fd, const RestoreRequest& request) override;
  Status DumpCore(DomId domid, const std::string& path) override;
  Result<std::string> ReadConsoleRing(bool clear) override;

  class Handle;  // an open libxc interface and its XenLog

 private:
  XenHypervisor(std::unique_ptr<Handle> handle, uint32_t capabilities, uint32_t nr_cpu_ids);
  Result<DomainInfo> InfoLocked(DomId domid);
  // Status for a libxc return code (< 0: failed, errno set), naming the call.
  Status Check(int rc, std::string_view call, DomId domid);
  Status CheckHost(int rc, std::string_view call);
  Status SetHvmPlatformLocked(DomId domid, const HvmBuildRequest& request);
  Status WriteHvmInfoLocked(DomId domid, const HvmBuildRequest& request, uint32_t max_vcpus);

  std::mutex mu_;
  std::unique_ptr<Handle> handle_;
  uint32_t capabilities_;  // XEN_SYSCTL_PHYSCAP_*
  uint32_t nr_cpu_ids_;    // max_cpu_id + 1
};

}  // namespace txend::toolstack
