// Toolstack: domain operations for txend and xm — a small facade over parts
// that share one DomainContext (toolstack/domain/domain_context.h: the
// xenstore connection, the hypervisor, the options, the DomainRegistry and
// the lifecycle lock). Callers reach the parts through it:
// `toolstack.lifecycle().Destroy(ref)`.
//
//   queries()    DomainQueries   List, Get, Resolve, Node, Dmesg, DeviceDetails,
//                                Vcpus. Reads run in the caller's Snapshot (Resolve
//                                reads no xenstore); never take the lifecycle
//                                lock, so they run in parallel.
//   lifecycle()  Lifecycle       create, destroy, shutdown, pause, memory, vcpus,
//                                sched credit, save/restore, dump, sysrq, reset.
//                                Changes hold the lifecycle lock throughout;
//                                Pause, Unpause, PinVcpu, GetSchedCredit, DumpCore
//                                and Sysrq are one call each and take none.
//   devices()    DeviceOps       attach/detach; hold the lifecycle lock.
//   managed()    ManagedDomains  xm new/start/delete; hold the lifecycle lock.
//   migration()  Migration       Migrate/ReceiveMigration, built on Lifecycle's
//                                internal API (CreateFromRestoreFdLocked,
//                                DestroyLocked, ...); hold the lifecycle lock but
//                                for an incoming domain's checks.
//   exits()      DomainExits     the @releaseDomain thread; on_poweroff/on_reboot/
//                                on_crash run holding the lifecycle lock.
//
// Lock rules (checked by clang's -Wthread-safety): the lifecycle lock
// (DomainContext::lifecycle_mu, Lifecycle::mu()) is taken only by the parts'
// public entry points, which are LOCKS_EXCLUDED(it); Lifecycle's *Locked
// methods are EXCLUSIVE_LOCKS_REQUIRED(it). The registry has its own lock,
// held only inside its methods, so queries never wait for a lifecycle
// operation. The transactions each operation costs are listed in its header.
#pragma once

#include <memory>

#include "base/result.h"
#include "toolstack/domain/toolstack_options.h"

namespace txend::sxp {
class Value;
}
namespace txend::xs {
class Connection;
}

namespace txend::toolstack {

class Hypervisor;
class DomainContext;
class DomainQueries;
class Lifecycle;
class DeviceOps;
class ManagedDomains;
class Migration;
class DomainExits;
class ValidConfig;
struct DomainConfig;

class Toolstack {
 public:
  // Discards incoming migrations a restart cut off, rebuilds its view from
  // xenstore (one snapshot), the hypervisor and the state directory, then
  // starts handling @releaseDomain.
  static Result<std::unique_ptr<Toolstack>> Open(xs::Connection& xs, Hypervisor& hv,
                                                 ToolstackOptions options);
  ~Toolstack();

  DomainQueries& queries() { return *queries_; }
  Lifecycle& lifecycle() { return *lifecycle_; }
  DeviceOps& devices() { return *devices_; }
  ManagedDomains& managed() { return *managed_; }
  Migration& migration() { return *migration_; }
  DomainExits& exits() { return *exits_; }

  // The one way a config reaches the operations, with options.random: parsed
  // from SXP, or (built in code) checked.
  Result<ValidConfig> ParseConfig(const sxp::Value& vm) const;
  Result<ValidConfig> CheckConfig(DomainConfig config) const;

 private:
  explicit Toolstack(std::unique_ptr<DomainContext> ctx);

  std::unique_ptr<DomainContext> ctx_;
  std::unique_ptr<DomainQueries> queries_;
  std::unique_ptr<Lifecycle> lifecycle_;
  std::unique_ptr<DeviceOps> devices_;
  std::unique_ptr<ManagedDomains> managed_;
  std::unique_ptr<Migration> migration_;
  std::unique_ptr<DomainExits> exits_;  // last: stopped first
};

}  // namespace txend::toolstack
