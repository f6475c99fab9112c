// DomainContext: what every part of the toolstack shares — the xenstore
// connection, the hypervisor, the options, the registry and the lifecycle
// lock — as one object that each part holds by reference. No globals.
#pragma once

#include <memory>
#include <vector>

#include "base/mutex.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/domain/domain_registry.h"
#include "toolstack/domain/toolstack_options.h"
#include "toolstack/hypervisor/hypervisor.h"
#include "toolstack/xs/connection.h"
#include "toolstack/xs/transaction.h"

namespace txend::toolstack {

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
  // Serializes lifecycle operations (create, destroy, changes, devices, managed
  // domains, migration, exit handling); queries never take it.
  Mutex lifecycle_mu;

  // The one way a config reaches an operation, with options.random: parsed
  // from SXP, or (built in code) checked.
  Result<ValidConfig> ParseConfig(const sxp::Value& vm) const;
  Result<ValidConfig> CheckConfig(DomainConfig config) const;
  // Checks a registered domain's changed config and records it.
  Status Reconfigure(DomainConfig config) const;
  // Writes every node in one transaction.
  Status WriteInTransaction(const std::vector<xs::Transaction::NodeWrite>& writes) const;

 private:
  DomainContext(xs::Connection& xs, Hypervisor& hv, ToolstackOptions options,
                std::unique_ptr<DomainRegistry> registry);
  const std::unique_ptr<DomainRegistry> registry_;
};

}  // namespace txend::toolstack
