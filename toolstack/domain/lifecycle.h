// Lifecycle: creating, stopping and changing domains. Each operation
// interleaves hypervisor calls with xenstore writes and owns its transactions:
//   Create 2 (write everything; read the device results once watches fired),
//   Destroy 1, Shutdown 1 (+1 when the domain's exit is handled), Rename 1,
//   SetMemoryTarget 1, SetMaxMemory 1, SetVcpus 1, Sysrq 1, Save 2,
//   Reset 3, Pause/Unpause/PinVcpu/SchedCredit 0, DumpCore 0 (crash: +1, reset: +3).
// Locking: operations that change a domain hold its lock (DomainLocks: its
// uuid, and the name a create or rename takes) throughout; Pause, Unpause,
// PinVcpu, GetSchedCredit and Sysrq are one hypervisor or xenstore call each
// and take none. Create, Destroy, Save, Restore and Reset write an intent
// first (intents.h), so start-up recovery finishes or undoes them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "toolstack/bootloader/bootloader.h"
#include "toolstack/domain/domain_context.h"
#include "toolstack/domain/domain_record.h"

namespace txend::toolstack {

// What xend's domain_dump does around the core dump (op=dump's live, crash, reset).
struct DumpOptions {
  bool live = false;   // dump while it runs; otherwise paused for the dump
  bool crash = false;  // destroy the domain after the dump
  bool reset = false;  // reset it after the dump
};

class Lifecycle {
 public:
  explicit Lifecycle(DomainContext& ctx) : ctx_(ctx) {}

  // The created domain's record, from what create knew and one hypervisor
  // query (device states are not read: no transaction beyond create's two).
  // A PV or PVH guest's bootloader runs under the new domain's lock only (as
  // xend released its domains lock for it).
  Result<DomainRecord> Create(ValidConfig config, bool paused);
  Status Destroy(std::string_view ref);
  // reason: poweroff, reboot, halt or suspend.
  Status Shutdown(std::string_view ref, std::string_view reason);
  Status Pause(std::string_view ref);
  Status Unpause(std::string_view ref);
  Status Rename(std::string_view ref, const std::string& new_name);
  Status SetMemoryTarget(std::string_view ref, uint64_t mib);
  Status SetMaxMemory(std::string_view ref, uint64_t mib);
  Status SetVcpus(std::string_view ref, uint32_t count);
  // vcpu: a number or "all".
  Status PinVcpu(std::string_view ref, std::string_view vcpu, std::string_view cpus);
  Result<SchedCredit> GetSchedCredit(std::string_view ref);
  Status SetSchedCredit(std::string_view ref, std::optional<uint32_t> weight,
                        std::optional<uint32_t> cap);
  Status Save(std::string_view ref, const std::string& path);
  Result<uint32_t> Restore(const std::string& path, bool paused);
  Status DumpCore(std::string_view ref, const std::string& path, DumpOptions how = {});
  Status Sysrq(std::string_view ref, std::string_view key);
  // Hard reset: destroy and create again from the same config.
  Result<uint32_t> Reset(std::string_view ref);

  // --- Internal: for ManagedDomains, DomainExits, Migration and recovery,
  // whose Operation holds the domain's lock and intent. ---
  // Builds a domain from its registered config and waits for its backends; a
  // PV or PVH guest with a bootloader runs it first.
  Result<RegisteredDomain> CreateLocked(Operation& op,
                                        std::shared_ptr<const RegisteredConfig> config,
                                        bool paused);
  // Creates a domain by restoring the image read from `fd` (a save file or a
  // migration stream); backends connected, as CreateLocked.
  Result<RegisteredDomain> CreateFromRestoreFdLocked(Operation& op,
                                                     std::shared_ptr<const RegisteredConfig> config,
                                                     bool paused, int fd);
  // Destroys a registered domain (hypervisor, xenstore, registry). On failure
  // the intent is kept for recovery.
  Status DestroyLocked(Operation& op, const RegisteredDomain& d);
  // Destroy, then create again from `config` (reset, and restarts on exit).
  Result<RegisteredDomain> RecreateLocked(Operation& op, const RegisteredDomain& d,
                                          std::shared_ptr<const RegisteredConfig> config);
  // The intent of `op` on a registered domain.
  static Intent IntentFor(const char* op, const RegisteredDomain& d);
  // Suspends a domain for a save or a migration's last round, as libxl does: asks
  // the guest (control/shutdown = suspend), or suspends it from outside when it
  // has no PV drivers to ask; then waits until the hypervisor reports it suspended.
  Status Suspend(uint32_t domid, const std::string& name);
  // Lets a domain whose save failed run on (hypervisor and xenstore); a no-op
  // unless it is suspended.
  void ResumeIfSuspended(uint32_t domid);

 private:
  // CreateLocked, restoring from `restore_fd` when it is >= 0.
  Result<RegisteredDomain> BuildLocked(Operation& op,
                                       std::shared_ptr<const RegisteredConfig> config, bool paused,
                                       int restore_fd);
  // A settings change on a running domain: xenstore writes, then its config.
  Status ChangeRunning(std::string_view ref, const std::string& op,
                       const std::function<Status(const RegisteredDomain&)>& change);

  DomainContext& ctx_;
};

}  // namespace txend::toolstack
