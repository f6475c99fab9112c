// SimHypervisor: a simulated Xen, the default wherever /dev/xen/privcmd is
// absent. Domains have ids, uuids, memory accounted against the host, vcpus
// with affinity, cpu time that advances with a clock, states and credit
// parameters. Its state lives in a directory (one file per domain), so
// domains keep "running" while txend restarts, as they would on Xen.
// Guests are simulated elsewhere (GuestAgent); they act through the
// Guest* calls, as a PV kernel would through hypercalls.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "toolstack/hypervisor.h"

namespace txend::toolstack {

struct SimOptions {
  uint32_t nr_cpus = 4;
  uint64_t total_kib = 16ull << 20;  // 16 GiB host
  uint64_t dom0_kib = 2ull << 20;
  uint32_t cpu_mhz = 2400;
  std::string state_dir;  // empty: state in memory only
  std::function<uint64_t()> clock_ns;  // default: CLOCK_MONOTONIC
};

// What happened to a domain, for the simulated guests and devices.
struct SimEvent {
  enum Kind { kCreated, kUnpaused, kPaused, kShutdown, kDestroyed };
  Kind kind;
  uint32_t domid;
  ShutdownReason reason = ShutdownReason::kPoweroff;
};

class SimHypervisor : public Hypervisor {
 public:
  // Loads the domains recorded in options.state_dir, if any.
  static Result<std::unique_ptr<SimHypervisor>> Open(SimOptions options);
  ~SimHypervisor() override;

  std::string name() const override { return "sim"; }
  Result<PhysInfo> GetPhysInfo() override;
  Result<VersionInfo> GetVersion() override;
  Result<std::vector<DomainInfo>> ListDomains() override;
  Result<DomainInfo> GetDomain(uint32_t domid) override;
  Result<uint32_t> CreateDomain(const DomainCreateSpec& spec) override;
  Result<BuiltImage> BuildPv(uint32_t domid, const PvImage& image) override;
  Result<uint32_t> AllocEventChannel(uint32_t domid, uint32_t remote_domid) override;
  Status Pause(uint32_t domid) override;
  Status Unpause(uint32_t domid) override;
  Status Shutdown(uint32_t domid, ShutdownReason reason) override;
  Status Destroy(uint32_t domid) override;
  Status SetMaxMemory(uint32_t domid, uint64_t kib) override;
  Result<std::vector<VcpuInfo>> GetVcpus(uint32_t domid) override;
  Status SetVcpuAffinity(uint32_t domid, uint32_t vcpu, const std::vector<int>& cpus) override;
  Result<SchedCredit> GetSchedCredit(uint32_t domid) override;
  Status SetSchedCredit(uint32_t domid, const SchedCredit& credit) override;
  Status Save(uint32_t domid, int fd) override;
  Result<uint32_t> Restore(int fd, const DomainCreateSpec& spec) override;
  Status DumpCore(uint32_t domid, const std::string& path) override;
  Result<std::string> ConsoleRing(bool clear) override;

  // What a simulated guest kernel does.
  Status GuestShutdown(uint32_t domid, ShutdownReason reason);  // SCHEDOP_shutdown
  Status GuestSetMemory(uint32_t domid, uint64_t kib);          // the balloon driver
  Status GuestSetVcpuOnline(uint32_t domid, uint32_t vcpu, bool online);
  // Touches `pages` pseudo-random pages, as a running workload would.
  Status GuestDirtyPages(uint32_t domid, uint64_t pages);

  // Observers run on the thread that caused the event, after the change.
  void Subscribe(std::function<void(const SimEvent&)> observer);

  struct Domain;

 private:
  explicit SimHypervisor(SimOptions options);
  Result<Domain*> Find(uint32_t domid);
  DomainInfo InfoOf(const Domain& d) const;
  uint64_t FreeKib() const;
  void Persist(const Domain& d);
  void Forget(uint32_t domid);
  void Emit(std::vector<SimEvent> events);
  uint64_t Now() const;

  SimOptions options_;
  mutable std::mutex mu_;
  std::map<uint32_t, std::unique_ptr<Domain>> domains_;
  uint32_t next_domid_ = 1;
  std::vector<std::function<void(const SimEvent&)>> observers_;
  std::string console_;  // what `xm dmesg` shows
  void Log(const std::string& line);
};

}  // namespace txend::toolstack
