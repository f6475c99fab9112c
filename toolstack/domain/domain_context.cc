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
  if (options.bootloader.work_dir.empty())
    options.bootloader.work_dir = options.state_dir + "/boot";
  return options;
}

}  // namespace

DomainContext::DomainContext(xs::Connection& xs, Hypervisor& hv, ToolstackOptions options,
                             std::unique_ptr<DomainRegistry> registry,
                             std::unique_ptr<DeviceModels> device_models)
    : xs(xs),
      hv(hv),
      options(std::move(options)),
      registry(*registry),
      device_models(*device_models),
      intents(this->options.state_dir, this->options.fault, [&xs] { return xs.alive(); }),
      registry_(std::move(registry)),
      device_models_(std::move(device_models)) {}

Result<LockedDomain> DomainContext::LockDomain(std::string_view ref, const std::string& op,
                                               bool running, const std::string& new_name) {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, registry.Lookup(ref));
  std::vector<std::string> keys = {d.config().uuid};
  if (!new_name.empty()) keys.push_back(DomainLocks::NameKey(new_name));
  TXEND_ASSIGN_OR_RETURN(
      DomainLock lock,
      locks.Lock(std::move(keys), op, "Domain '" + d.config().name + "'", options.busy_timeout));
  TXEND_ASSIGN_OR_RETURN(
      d, running ? registry.Running(d.config().uuid) : registry.Lookup(d.config().uuid));
  return LockedDomain{std::move(lock), std::move(d)};
}

Result<DomainLock> DomainContext::LockNewDomain(const DomainConfig& config, const std::string& op,
                                                std::optional<std::chrono::milliseconds> wait) {
  return locks.Lock({config.uuid, DomainLocks::NameKey(config.name)}, op,
                    "Domain '" + config.name + "'", wait.value_or(options.busy_timeout));
}

Result<Operation> DomainContext::Begin(DomainLock lock, Intent intent) const {
  TXEND_ASSIGN_OR_RETURN(IntentRecord record, intents.Begin(std::move(intent)));
  return Operation{std::move(lock), std::move(record)};
}

Result<std::unique_ptr<DomainContext>> DomainContext::Open(xs::Connection& xs, Hypervisor& hv,
                                                           ToolstackOptions options) {
  options = WithDefaults(std::move(options));
  TXEND_ASSIGN_OR_RETURN(auto registry, DomainRegistry::Open(options.state_dir, options.random));
  for (const std::string& line : registry->set_aside())
    if (options.log) options.log("set aside an unreadable domain config: " + line);
  auto device_models = std::make_unique<DeviceModels>(xs, options.device_model);
  return std::unique_ptr<DomainContext>(
      new DomainContext(xs, hv, std::move(options), std::move(registry), std::move(device_models)));
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

Status DomainContext::RemoveInTransaction(const std::vector<std::string>& paths) const {
  return xs::RunTransaction(xs, [&](xs::Transaction& tx) { return tx.RmMany(paths, true); });
}

}  // namespace txend::toolstack
