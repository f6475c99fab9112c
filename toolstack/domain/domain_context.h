// DomainContext: what every part of the toolstack shares — the xenstore
// connection, the hypervisor, the options, the registry, the domain locks and
// the intent log — as one object that each part holds by reference. No globals.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "toolstack/config/domain_config.h"
#include "toolstack/devicemodel/device_models.h"
#include "toolstack/domain/domain_locks.h"
#include "toolstack/domain/domain_registry.h"
#include "toolstack/domain/intents.h"
#include "toolstack/domain/toolstack_options.h"
#include "toolstack/hypervisor/hypervisor.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::toolstack {

// A registered domain with its lock held.
struct LockedDomain {
  DomainLock lock;
  RegisteredDomain domain;
};

// A lifecycle operation under way: the lock it holds and its intent on disk.
// The *Locked methods of the parts take one.
struct Operation {
  DomainLock lock;
  IntentRecord intent;
  // The operation reached `step` (where TXEND_FAULT strikes).
  void Step(std::string_view step) const { intent.Step(step); }
};

class DomainContext {
 public:
  // Fills in the options' defaults (system random source and clock) and opens
  // the registry under options.state_dir.
  static Result<std::unique_ptr<DomainContext>> Open(xs::Connection& xs, Hypervisor& hv,
                                                     ToolstackOptions options);

  xs::Connection& xs;
  Hypervisor& hv;
  const ToolstackOptions options;
  DomainRegistry& registry;
  DeviceModels& device_models;  // HVM guests' qemu processes
  // Held by lifecycle operations, per domain (queries take none).
  DomainLocks locks;
  const IntentLog intents;

  // Locks the registered domain `ref` names for `op`, waiting at most
  // options.busy_timeout (EBUSY), and returns it as it is once locked (looked
  // up again by uuid). `running`: EINVAL unless it runs. `new_name`: also
  // takes that name (rename).
  Result<LockedDomain> LockDomain(std::string_view ref, const std::string& op, bool running,
                                  const std::string& new_name = "");
  // Locks a config's uuid and name for `op`, which brings that domain in;
  // `wait` defaults to options.busy_timeout.
  Result<DomainLock> LockNewDomain(const DomainConfig& config, const std::string& op,
                                   std::optional<std::chrono::milliseconds> wait = std::nullopt);
  // Writes the intent of an operation that holds `lock`.
  Result<Operation> Begin(DomainLock lock, Intent intent) const;

  // The one way a config reaches an operation, with options.random: parsed
  // from SXP, or (built in code) checked.
  Result<ValidConfig> ParseConfig(const sxp::Value& vm) const;
  Result<ValidConfig> CheckConfig(DomainConfig config) const;
  // Checks a registered domain's changed config and records it.
  Status Reconfigure(DomainConfig config) const;
  // Writes every node in one transaction.
  Status WriteInTransaction(const std::vector<xs::Transaction::NodeWrite>& writes) const;
  // Removes every path, with its subtree, in one transaction; missing ones are fine.
  Status RemoveInTransaction(const std::vector<std::string>& paths) const;
  // Writes `line` to options.log, when there is one.
  void Say(const std::string& line) const {
    if (options.log) options.log(line);
  }

 private:
  DomainContext(xs::Connection& xs, Hypervisor& hv, ToolstackOptions options,
                std::unique_ptr<DomainRegistry> registry,
                std::unique_ptr<DeviceModels> device_models);
  const std::unique_ptr<DomainRegistry> registry_;
  const std::unique_ptr<DeviceModels> device_models_;
};

}  // namespace txend::toolstack
