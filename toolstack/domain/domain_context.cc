#include "toolstack/domain/domain_context.h"

#include <chrono>

namespace txend::toolstack {
namespace {

ToolstackOptions WithDefaults(ToolstackOptions options) {
  if (!options.random) options.random = SystemRandomBytes();
  if (!options.wall_clock)
    options.wall_clock = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  return options;
}

}  // namespace

DomainContext::DomainContext(xs::Connection& xs, Hypervisor& hv, ToolstackOptions options,
                             std::unique_ptr<DomainRegistry> registry)
    : xs(xs),
      hv(hv),
      options(std::move(options)),
      registry(*registry),
      registry_(std::move(registry)) {}

Result<std::unique_ptr<DomainContext>> DomainContext::Open(xs::Connection& xs, Hypervisor& hv,
                                                           ToolstackOptions options) {
  options = WithDefaults(std::move(options));
  TXEND_ASSIGN_OR_RETURN(auto registry, DomainRegistry::Open(options.state_dir, options.random));
  return std::unique_ptr<DomainContext>(
      new DomainContext(xs, hv, std::move(options), std::move(registry)));
}

Result<ValidConfig> DomainContext::ParseConfig(const sxp::Value& vm) const {
  return FromSxp(vm, options.random);
}

Result<ValidConfig> DomainContext::CheckConfig(DomainConfig config) const {
  return ValidConfig::Check(std::move(config), options.random);
}

Status DomainContext::Reconfigure(DomainConfig config) const {
  TXEND_ASSIGN_OR_RETURN(ValidConfig valid, CheckConfig(std::move(config)));
  TXEND_ASSIGN_OR_RETURN(auto registered, RegisteredConfig::Make(std::move(valid)));
  return registry.Update(std::move(registered));
}

Status DomainContext::WriteInTransaction(
    const std::vector<xs::Transaction::NodeWrite>& writes) const {
  return xs::RunTransaction(xs, [&](xs::Transaction& tx) { return tx.WriteMany(writes); });
}

}  // namespace txend::toolstack
