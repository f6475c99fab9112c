// Toolstack: domain operations for txend and xm — a small facade over parts
// that share one DomainContext (toolstack/domain/domain_context.h: the
// xenstore connection, the hypervisor, the options, the DomainRegistry, the
// DomainLocks and the IntentLog). Callers reach the parts through it:
// `toolstack.lifecycle().Destroy(ref)`.
//
//   queries()    DomainQueries   List, Get, Resolve, Node, Dmesg, DeviceDetails,
//                                Vcpus. Reads run in the caller's Snapshot (List in
//                                its own, only for domains changed since the last
//                                list; Resolve reads no xenstore); they take no
//                                domain lock, so they never wait for a lifecycle
//                                operation.
//   lifecycle()  Lifecycle       create, destroy, shutdown, pause, memory, vcpus,
//                                sched credit, save/restore, dump, sysrq, reset.
//                                Changes hold their domain's lock throughout;
//                                Pause, Unpause, PinVcpu, GetSchedCredit, DumpCore
//                                and Sysrq are one call each and take none.
//   devices()    DeviceOps       attach/detach; hold the domain's lock.
//   managed()    ManagedDomains  xm new/start/delete; hold the domain's lock.
//   migration()  Migration       Migrate/ReceiveMigration, built on Lifecycle's
//                                internal API (CreateFromRestoreFdLocked,
//                                DestroyLocked, ...); hold the domain's lock.
//   exits()      DomainExits     the @releaseDomain thread; on_poweroff/on_reboot/
//                                on_crash run holding the exited domain's lock.
//
// Lock rules:
//  - A domain's lock (DomainLocks, keyed by its uuid, plus "name:<name>" for a
//    name an operation takes: create, restore, start, rename, an arrival) is
//    held by one operation at a time, from the parts' public entry points,
//    for the operation's whole length. Operations on different domains never
//    wait for each other. All keys an operation needs are taken at once, so
//    no two operations deadlock.
//  - Waiting for a lock is bounded (options.busy_timeout; then EBUSY naming
//    the operation in progress); an arriving migration and an exit do not
//    wait at all (refused, or retried shortly).
//  - The *Locked methods take an Operation (domain_context.h): the lock and the
//    operation's intent — proof, checked by the compiler's types, that the
//    caller holds the domain. The registry and DomainLocks have mutexes of
//    their own, held only inside their methods (annotated, checked by clang's
//    -Wthread-safety); no toolstack mutex is held across a hypervisor call,
//    a xenstore request or any I/O.
//  - Start-up recovery (recovery.h) runs before anything else.
// The transactions each operation costs are listed in its header.
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
class DeviceModels;
class ManagedDomains;
class Migration;
class DomainExits;
class DomainEvents;
class ValidConfig;
struct DomainConfig;

class Toolstack {
 public:
  // Recovers (recovery.h: finishes or undoes what a killed txend left,
  // rebuilds its view from the hypervisor, the state directory and xenstore,
  // and removes xenstore nodes of domains that exist nowhere), then starts
  // handling @releaseDomain.
  static Result<std::unique_ptr<Toolstack>> Open(xs::Connection& xs, Hypervisor& hv,
                                                 ToolstackOptions options);
  ~Toolstack();

  DomainQueries& queries() { return *queries_; }
  Lifecycle& lifecycle() { return *lifecycle_; }
  DeviceOps& devices() { return *devices_; }
  ManagedDomains& managed() { return *managed_; }
  Migration& migration() { return *migration_; }
  DomainExits& exits() { return *exits_; }
  DeviceModels& device_models();  // HVM guests' qemu processes
  // Domain lifecycle changes as they happen, for waiters (domain_events.h).
  DomainEvents& events();

  // The one way a config reaches the operations, with options.random: parsed
  // from SXP, or (built in code) checked.
  Result<ValidConfig> ParseConfig(const sxp::Value& vm) const;
  Result<ValidConfig> CheckConfig(DomainConfig config) const;
  // What a domain from elsewhere may use (options.incoming): arriving
  // migrations pass it, and txend applies it to creates over TCP.
  const IncomingPolicy& incoming_policy() const;

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
