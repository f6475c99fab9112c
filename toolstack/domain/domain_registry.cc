#include "toolstack/domain/domain_registry.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace txend::toolstack {
namespace {

namespace fs = std::filesystem;

Result<ValidConfig> ReadConfig(const fs::path& path, const RandomBytes& random) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto value = sxp::Parse(text.str());
  if (!value.ok()) return Status::Error(EIO, path.string() + ": " + value.status().message());
  auto config = FromSxp(*value, random);
  if (!config.ok()) return Status::Error(EIO, path.string() + ": " + config.status().message());
  return config;
}

}  // namespace

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
  for (const auto& e : fs::directory_iterator(fs::path(state_dir) / "domains")) {
    if (e.path().extension() != ".sxp") continue;
    TXEND_ASSIGN_OR_RETURN(ValidConfig c, ReadConfig(e.path(), random));
    r->by_uuid_.insert_or_assign(c->uuid, RegisteredDomain{c, std::nullopt, true, 0});
  }
  for (const auto& e : fs::directory_iterator(fs::path(state_dir) / "running")) {
    if (e.path().extension() != ".sxp") continue;
    auto c = ReadConfig(e.path(), random);
    if (c.ok()) r->running_configs_.insert_or_assign((*c)->uuid, *c);
  }
  return r;
}

Status DomainRegistry::WriteConfig(const std::string& kind, const DomainConfig& config) const {
  fs::path path = fs::path(dir_) / kind / (config.uuid + ".sxp");
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp);
    out << sxp::PrettyPrint(ToSxp(config));
    if (!out.flush()) return Status::Error(EIO, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::Error(ec.value(), "cannot write " + path.string() + ": " + ec.message());
  return Status::Ok();
}

void DomainRegistry::RemoveConfig(const std::string& kind, const std::string& uuid) const {
  std::error_code ec;
  fs::remove(fs::path(dir_) / kind / (uuid + ".sxp"), ec);
}

const RegisteredDomain* DomainRegistry::FindLocked(std::string_view ref) const {
  auto by_uuid = by_uuid_.find(std::string(ref));
  if (by_uuid != by_uuid_.end()) return &by_uuid->second;
  uint32_t domid = 0;
  auto [end, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), domid);
  bool numeric = ec == std::errc() && end == ref.data() + ref.size() && !ref.empty();
  for (const auto& [uuid, d] : by_uuid_)
    if (numeric ? d.domid == domid : d.config->name == ref) return &d;
  return nullptr;
}

Result<RegisteredDomain> DomainRegistry::Lookup(std::string_view ref) const {
  std::lock_guard lock(mu_);
  const RegisteredDomain* d = FindLocked(ref);
  if (!d) return Status::Error(ESRCH, "Domain '" + std::string(ref) + "' does not exist.");
  return *d;
}

Result<RegisteredDomain> DomainRegistry::ByDomid(uint32_t domid) const {
  return Lookup(std::to_string(domid));
}

std::vector<RegisteredDomain> DomainRegistry::All() const {
  std::lock_guard lock(mu_);
  std::vector<RegisteredDomain> out;
  for (const auto& [uuid, d] : by_uuid_) out.push_back(d);
  return out;
}

std::optional<ValidConfig> DomainRegistry::RunningConfig(const std::string& uuid) const {
  std::lock_guard lock(mu_);
  auto it = running_configs_.find(uuid);
  if (it == running_configs_.end()) return std::nullopt;
  return it->second;
}

Status DomainRegistry::CheckNameFree(const std::string& name, const std::string& uuid) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, d] : by_uuid_)
    if (d.config->name == name && id != uuid)
      return Status::Error(
          EEXIST, "Domain '" + name + "' already exists with ID '" +
                      (d.domid ? std::to_string(*d.domid) : std::string("(inactive)")) + "'");
  return Status::Ok();
}

Status DomainRegistry::AddRunning(const ValidConfig& config, uint32_t domid, double start_time) {
  TXEND_RETURN_IF_ERROR(WriteConfig("running", config));
  std::lock_guard lock(mu_);
  auto [it, added] = by_uuid_.try_emplace(config->uuid, RegisteredDomain{config});
  RegisteredDomain& d = it->second;
  d.config = config;
  d.domid = domid;
  d.start_time = start_time;
  running_configs_.erase(config->uuid);
  if (d.managed) return WriteConfig("domains", config);
  return Status::Ok();
}

void DomainRegistry::RemoveRunning(uint32_t domid) {
  std::lock_guard lock(mu_);
  for (auto it = by_uuid_.begin(); it != by_uuid_.end(); ++it) {
    if (it->second.domid != domid) continue;
    RemoveConfig("running", it->first);
    if (it->second.managed) {
      it->second.domid.reset();
      it->second.start_time = 0;
    } else {
      by_uuid_.erase(it);
    }
    return;
  }
}

Status DomainRegistry::Update(const std::string& uuid, const ValidConfig& config) {
  std::lock_guard lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return Status::Error(ESRCH, "no domain with uuid " + uuid);
  it->second.config = config;
  if (it->second.domid) TXEND_RETURN_IF_ERROR(WriteConfig("running", config));
  if (it->second.managed) TXEND_RETURN_IF_ERROR(WriteConfig("domains", config));
  return Status::Ok();
}

Status DomainRegistry::Define(const ValidConfig& config) {
  TXEND_RETURN_IF_ERROR(CheckNameFree(config->name, config->uuid));
  TXEND_RETURN_IF_ERROR(WriteConfig("domains", config));
  std::lock_guard lock(mu_);
  auto [it, added] = by_uuid_.try_emplace(config->uuid, RegisteredDomain{config});
  RegisteredDomain& d = it->second;
  d.config = config;
  d.managed = true;
  return Status::Ok();
}

Status DomainRegistry::Undefine(const std::string& uuid) {
  std::lock_guard lock(mu_);
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end() || !it->second.managed)
    return Status::Error(ESRCH, "no managed domain " + uuid);
  if (it->second.domid)
    return Status::Error(
        EBUSY, "Domain '" + it->second.config->name + "' is running; shut it down first.");
  RemoveConfig("domains", uuid);
  by_uuid_.erase(it);
  return Status::Ok();
}

}  // namespace txend::toolstack
