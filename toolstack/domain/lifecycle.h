// Lifecycle: creating, stopping and changing domains. Each operation
// interleaves hypervisor calls with xenstore writes and owns its transactions:
//   Create 2 (write everything; read the device results once watches fired),
//   Destroy 1, Shutdown 1 (+1 when the domain's exit is handled), Rename 1,
//   SetMemoryTarget 1, SetMaxMemory 1, SetVcpus 1, Sysrq 1, Save 2,
//   Reset 3, Pause/Unpause/PinVcpu/SchedCredit/DumpCore 0.
// Locking: operations that change a domain hold the lifecycle lock
// (ctx.lifecycle_mu) throughout; Pause, Unpause, PinVcpu, GetSchedCredit,
// DumpCore and Sysrq are one hypervisor or xenstore call each and take none.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/domain_record.h"

namespace txend::toolstack {

class Lifecycle {
 public:
  explicit Lifecycle(DomainContext& ctx) : ctx_(ctx) {}

  // The created domain's record, from what create knew and one hypervisor
  // query (device states are not read: no transaction beyond create's two).
  Result<DomainRecord> Create(ValidConfig config, bool paused) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Status Destroy(std::string_view ref) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  // reason: poweroff, reboot, halt or suspend.
  Status Shutdown(std::string_view ref, std::string_view reason) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Status Pause(std::string_view ref);
  Status Unpause(std::string_view ref);
  Status Rename(std::string_view ref, const std::string& new_name)
      LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Status SetMemoryTarget(std::string_view ref, uint64_t mib) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Status SetMaxMemory(std::string_view ref, uint64_t mib) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Status SetVcpus(std::string_view ref, uint32_t count) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  // vcpu: a number or "all".
  Status PinVcpu(std::string_view ref, std::string_view vcpu, std::string_view cpus);
  Result<SchedCredit> GetSchedCredit(std::string_view ref);
  Status SetSchedCredit(std::string_view ref, std::optional<uint32_t> weight,
                        std::optional<uint32_t> cap) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Status Save(std::string_view ref, const std::string& path) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Result<uint32_t> Restore(const std::string& path, bool paused) LOCKS_EXCLUDED(ctx_.lifecycle_mu);
  Status DumpCore(std::string_view ref, const std::string& path);
  Status Sysrq(std::string_view ref, std::string_view key);
  // Hard reset: destroy and create again from the same config.
  Result<uint32_t> Reset(std::string_view ref) LOCKS_EXCLUDED(ctx_.lifecycle_mu);

  // --- Internal: for ManagedDomains, DomainExits and Migration, which hold mu(). ---
  Mutex& mu() LOCK_RETURNED(ctx_.lifecycle_mu) { return ctx_.lifecycle_mu; }
  // Builds a domain from its registered config and waits for its backends.
  Result<RegisteredDomain> CreateLocked(std::shared_ptr<const RegisteredConfig> config, bool paused)
      EXCLUSIVE_LOCKS_REQUIRED(ctx_.lifecycle_mu);
  // Creates a domain by restoring the image read from `fd` (a save file or a
  // migration stream); backends connected, as CreateLocked.
  Result<RegisteredDomain> CreateFromRestoreFdLocked(std::shared_ptr<const RegisteredConfig> config,
                                                     bool paused, int fd)
      EXCLUSIVE_LOCKS_REQUIRED(ctx_.lifecycle_mu);
  Status DestroyLocked(const RegisteredDomain& d) EXCLUSIVE_LOCKS_REQUIRED(ctx_.lifecycle_mu);
  // Waits until the hypervisor reports the domain suspended (polls the hypervisor, not xenstore).
  Status WaitSuspended(uint32_t domid, const std::string& name);
  // Lets a domain whose save failed run on (hypervisor and xenstore); a no-op
  // unless it is suspended.
  void ResumeIfSuspended(uint32_t domid);

 private:
  // CreateLocked, restoring from `restore_fd` when it is >= 0.
  Result<RegisteredDomain> BuildLocked(std::shared_ptr<const RegisteredConfig> config, bool paused,
                                       int restore_fd) EXCLUSIVE_LOCKS_REQUIRED(ctx_.lifecycle_mu);

  DomainContext& ctx_;
};

}  // namespace txend::toolstack
