#include "toolstack/domain/domain_registry.h"

#include <filesystem>

#include "base/numbers.h"
#include "toolstack/domain/state_files.h"

namespace txend::toolstack {
namespace {

namespace fs = std::filesystem;

Result<std::shared_ptr<const RegisteredConfig>> ReadConfig(const std::string& path,
                                                           const RandomBytes& random) {
  TXEND_ASSIGN_OR_RETURN(sxp::Value value, ReadStateFile(path));
  auto config = FromSxp(value, random);
  if (!config.ok()) return Status::Error(EINVAL, path + ": " + config.status().message());
  return RegisteredConfig::Make(std::move(config).value());
}

// Managed configs must outlive the host; running ones describe domains a host crash ends too.
Durability DurabilityOf(const std::string& kind) {
  return kind == "domains" ? Durability::kHostCrash : Durability::kProcessCrash;
}

Status NoSuchDomain(std::string_view ref) {
  return Status::Error(ESRCH, "Domain '" + std::string(ref) + "' does not exist.");
}

Status NotRunning(const RegisteredDomain& d) {
  return Status::Error(EINVAL, "Domain '" + d.config().name + "' is not running.");
}

}  // namespace

Result<std::shared_ptr<const RegisteredConfig>> RegisteredConfig::Make(ValidConfig config) {
  TXEND_ASSIGN_OR_RETURN(auto devices, DevicesOf(*config));
  PrintedConfig printed = PrintedConfig::Of(*config);
  return std::make_shared<const RegisteredConfig>(
      RegisteredConfig{std::move(config), std::move(devices), std::move(printed)});
}

Result<std::unique_ptr<DomainRegistry>> DomainRegistry::Open(const std::string& state_dir,
                                                             const RandomBytes& random) {
  std::unique_ptr<DomainRegistry> r(new DomainRegistry(state_dir));
  std::error_code ec;
  for (const char* sub : {"domains", "running"}) {
    fs::create_directories(fs::path(state_dir) / sub, ec);
    if (ec)
      return Status::Error(ec.value(),
                           "cannot create " + state_dir + "/" + sub + ": " + ec.message());
  }
  MutexLock lock(&r->mu_);
  for (const std::string& path : ListStateFiles(state_dir + "/domains")) {
    auto registered = ReadConfig(path, random);
    if (!registered.ok()) {
      r->set_aside_.push_back(SetAsideUnreadable(path, registered.status()));
      continue;
    }
    r->PutLocked(RegisteredDomain{std::move(registered).value(), std::nullopt, true, 0});
  }
  for (const std::string& path : ListStateFiles(state_dir + "/running")) {
    auto registered = ReadConfig(path, random);
    if (!registered.ok()) {
      r->set_aside_.push_back(SetAsideUnreadable(path, registered.status()));
      continue;
    }
    r->running_configs_[(*registered)->config->uuid] = *registered;
  }
  return r;
}

Status DomainRegistry::WriteConfig(const std::string& kind, const DomainConfig& config) const {
  return WriteStateFile(dir_ + "/" + kind + "/" + config.uuid + ".sxp",
                        sxp::PrettyPrint(ToSxp(config)), DurabilityOf(kind));
}

void DomainRegistry::RemoveConfig(const std::string& kind, const std::string& uuid) const {
  RemoveStateFile(dir_ + "/" + kind + "/" + uuid + ".sxp", DurabilityOf(kind));
}

void DomainRegistry::UnindexLocked(const RegisteredDomain& d) {
  auto name = uuid_by_name_.find(d.config().name);
  if (name != uuid_by_name_.end() && name->second == d.config().uuid) uuid_by_name_.erase(name);
  if (!d.domid) return;
  auto domid = uuid_by_domid_.find(*d.domid);
  if (domid != uuid_by_domid_.end() && domid->second == d.config().uuid)
    uuid_by_domid_.erase(domid);
}

void DomainRegistry::PutLocked(RegisteredDomain d) {
  const std::string uuid = d.config().uuid;
  if (auto old = by_uuid_.find(uuid); old != by_uuid_.end()) UnindexLocked(old->second);
  uuid_by_name_[d.config().name] = uuid;
  if (d.domid) uuid_by_domid_[*d.domid] = uuid;
  by_uuid_.insert_or_assign(uuid, std::move(d));
}

void DomainRegistry::PublishLocked(const char* change, const RegisteredDomain& d) {
  events_.Publish(change, d.config().name, d.config().uuid, d.domid);
}

void DomainRegistry::EraseLocked(const std::string& uuid) {
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return;
  UnindexLocked(it->second);
  by_uuid_.erase(it);
}

// As xend looks a ref up: a name, a domid, then a uuid (names that read as
// another domain's id or uuid are refused, so the order decides only speed).
const RegisteredDomain* DomainRegistry::FindLocked(std::string_view ref) const {
  const std::string* uuid = nullptr;
  if (auto it = uuid_by_name_.find(ref); it != uuid_by_name_.end()) {
    uuid = &it->second;
  } else if (auto domid = ParseInteger<uint32_t>(ref); domid.ok()) {
    if (auto id = uuid_by_domid_.find(*domid); id != uuid_by_domid_.end()) uuid = &id->second;
  }
  auto it = by_uuid_.find(uuid ? std::string_view(*uuid) : ref);
  return it == by_uuid_.end() ? nullptr : &it->second;
}

Result<ResolvedRef> DomainRegistry::Resolve(std::string_view ref) const {
  if (ref == "0" || ref == kDom0Name || ref == kDom0Uuid) return ResolvedRef{};
  MutexLock lock(&mu_);
  const RegisteredDomain* d = FindLocked(ref);
  if (!d) return NoSuchDomain(ref);
  return ResolvedRef{*d};
}

Result<ResolvedRef> DomainRegistry::ResolveRunning(std::string_view ref) const {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, Resolve(ref));
  if (!resolved.domid()) return NotRunning(*resolved.domain);
  return resolved;
}

Result<RegisteredDomain> DomainRegistry::Lookup(std::string_view ref) const {
  TXEND_ASSIGN_OR_RETURN(ResolvedRef resolved, Resolve(ref));
  if (resolved.is_dom0()) return NoSuchDomain(ref);
  return std::move(*resolved.domain);
}

Result<RegisteredDomain> DomainRegistry::Running(std::string_view ref) const {
  TXEND_ASSIGN_OR_RETURN(RegisteredDomain d, Lookup(ref));
  if (!d.domid) return NotRunning(d);
  return d;
}

std::vector<RegisteredDomain> DomainRegistry::All() const {
  MutexLock lock(&mu_);
  std::vector<RegisteredDomain> out;
  out.reserve(by_uuid_.size());
  for (const auto& [uuid, d] : by_uuid_) out.push_back(d);
  return out;
}

std::shared_ptr<const RegisteredConfig> DomainRegistry::RunningConfig(
    const std::string& uuid) const {
  MutexLock lock(&mu_);
  auto it = running_configs_.find(uuid);
  return it == running_configs_.end() ? nullptr : it->second;
}

std::vector<std::string> DomainRegistry::ForgetUnmatchedRunningConfigs() {
  MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [uuid, config] : running_configs_) {
    RemoveConfig("running", uuid);
    names.push_back(config->config->name);
  }
  running_configs_.clear();
  return names;
}

Status DomainRegistry::CheckNameFree(const std::string& name, const std::string& uuid) const {
  MutexLock lock(&mu_);
  auto it = uuid_by_name_.find(name);
  if (it == uuid_by_name_.end() || it->second == uuid) return Status::Ok();
  const RegisteredDomain& d = by_uuid_.find(it->second)->second;
  return Status::Error(EEXIST,
                       "Domain '" + name + "' already exists with ID '" +
                           (d.domid ? std::to_string(*d.domid) : std::string("(inactive)")) + "'");
}

Result<RegisteredDomain> DomainRegistry::AddRunning(std::shared_ptr<const RegisteredConfig> config,
                                                    uint32_t domid, double start_time) {
  TXEND_RETURN_IF_ERROR(WriteConfig("running", *config->config));
  MutexLock lock(&mu_);
  const std::string& uuid = config->config->uuid;
  auto it = by_uuid_.find(uuid);
  RegisteredDomain d{config, domid, it != by_uuid_.end() && it->second.managed, start_time};
  running_configs_.erase(uuid);
  PutLocked(d);
  PublishLocked("started", d);
  if (d.managed) TXEND_RETURN_IF_ERROR(WriteConfig("domains", *config->config));
  return d;
}

void DomainRegistry::RemoveRunning(uint32_t domid) {
  MutexLock lock(&mu_);
  auto by_domid = uuid_by_domid_.find(domid);
  if (by_domid == uuid_by_domid_.end()) return;
  const std::string uuid = by_domid->second;
  RemoveConfig("running", uuid);
  RegisteredDomain d = by_uuid_.find(uuid)->second;
  PublishLocked("stopped", d);
  if (!d.managed) return EraseLocked(uuid);
  d.domid.reset();
  d.start_time = 0;
  PutLocked(std::move(d));
}

Status DomainRegistry::Update(std::shared_ptr<const RegisteredConfig> config) {
  MutexLock lock(&mu_);
  const std::string& uuid = config->config->uuid;
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return Status::Error(ESRCH, "no domain with uuid " + uuid);
  RegisteredDomain d = it->second;
  d.registered = std::move(config);
  PutLocked(d);
  PublishLocked("changed", d);
  if (d.domid) TXEND_RETURN_IF_ERROR(WriteConfig("running", d.config()));
  if (d.managed) TXEND_RETURN_IF_ERROR(WriteConfig("domains", d.config()));
  return Status::Ok();
}

Status DomainRegistry::Define(std::shared_ptr<const RegisteredConfig> config) {
  const DomainConfig& c = *config->config;
  TXEND_RETURN_IF_ERROR(CheckNameFree(c.name, c.uuid));
  TXEND_RETURN_IF_ERROR(WriteConfig("domains", c));
  MutexLock lock(&mu_);
  auto it = by_uuid_.find(c.uuid);
  RegisteredDomain d = it != by_uuid_.end() ? it->second : RegisteredDomain{};
  d.registered = std::move(config);
  d.managed = true;
  PublishLocked("defined", d);
  PutLocked(std::move(d));
  return Status::Ok();
}

Status DomainRegistry::Undefine(const std::string& uuid) {
  MutexLock lock(&mu_);
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end() || !it->second.managed)
    return Status::Error(ESRCH, "no managed domain " + uuid);
  if (it->second.domid)
    return Status::Error(
        EBUSY, "Domain '" + it->second.config().name + "' is running; shut it down first.");
  RemoveConfig("domains", uuid);
  PublishLocked("undefined", it->second);
  EraseLocked(uuid);
  return Status::Ok();
}

}  // namespace txend::toolstack
