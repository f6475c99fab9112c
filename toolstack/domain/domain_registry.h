// DomainRegistry: the toolstack's index of domains it manages — running ones
// by domid and managed (xm new) ones by uuid — with their configs, each held
// once and shared. Configs live on disk like xend's /var/lib/xend/domains:
// <dir>/domains/<uuid>.sxp for managed domains and <dir>/running/<uuid>.sxp
// for running ones, so a restarted txend finds everything again. Thread-safe;
// a lookup by uuid, name or domid is an index lookup.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mutex.h"
#include "toolstack/config/domain_config.h"
#include "toolstack/domain/domain_events.h"
#include "toolstack/domain/printed_config.h"
#include "toolstack/layout/xenstore_layout.h"

namespace txend::toolstack {

// A config as registered: fixed from then on and shared (never copied) by the
// registry and every record made from it, with its devices computed once.
struct RegisteredConfig {
  static Result<std::shared_ptr<const RegisteredConfig>> Make(ValidConfig config);
  ValidConfig config;
  std::vector<DeviceRef> devices;  // DevicesOf(config)
  PrintedConfig printed;           // PrintedConfig::Of(config)
};

struct RegisteredDomain {
  std::shared_ptr<const RegisteredConfig> registered;
  std::optional<uint32_t> domid;  // empty: defined but not running
  bool managed = false;           // defined with `new`; survives shutdown
  double start_time = 0;

  const DomainConfig& config() const { return *registered->config; }
};

// What a ref names: Domain-0, which the registry never holds, or a registered domain.
struct ResolvedRef {
  std::optional<RegisteredDomain> domain;  // empty: Domain-0
  bool is_dom0() const { return !domain; }
  // Domain-0's (0) or the registered domain's while it runs.
  std::optional<uint32_t> domid() const { return domain ? domain->domid : 0; }
};

class DomainRegistry {
 public:
  // Loads every config under `state_dir` (created if missing), drawing what
  // they lack from `random` as FromSxp does; one it cannot read or check is
  // set aside (*.unreadable) and the rest load. Running configs are matched to
  // domids later with AddRunning().
  static Result<std::unique_ptr<DomainRegistry>> Open(const std::string& state_dir,
                                                      const RandomBytes& random);
  // What Open() set aside, a line each for the log.
  const std::vector<std::string>& set_aside() const { return set_aside_; }

  // The one resolution of a ref: a uuid, "<domid>" or a name; "0", "Domain-0"
  // and the zero uuid name Domain-0. ESRCH if it names nothing.
  Result<ResolvedRef> Resolve(std::string_view ref) const;
  // Resolve(), where a registered domain must run: EINVAL if it is only defined.
  Result<ResolvedRef> ResolveRunning(std::string_view ref) const;
  // A registered domain (Domain-0 is none: ESRCH).
  Result<RegisteredDomain> Lookup(std::string_view ref) const;
  // A registered domain that runs: EINVAL if it is only defined.
  Result<RegisteredDomain> Running(std::string_view ref) const;
  std::vector<RegisteredDomain> All() const;
  // The running config recorded for `uuid` (from disk), if any.
  std::shared_ptr<const RegisteredConfig> RunningConfig(const std::string& uuid) const;
  // Forgets the running configs from disk that no running domain matched
  // (start-up, after AddRunning for every domain found); returns their names.
  std::vector<std::string> ForgetUnmatchedRunningConfigs();

  // EEXIST if `name` belongs to another domain (other than `uuid`).
  Status CheckNameFree(const std::string& name, const std::string& uuid) const;

  // Records a running domain (and its config on disk); returns its entry.
  Result<RegisteredDomain> AddRunning(std::shared_ptr<const RegisteredConfig> config,
                                      uint32_t domid, double start_time);
  // The domain stopped running: managed ones stay defined, others are forgotten.
  void RemoveRunning(uint32_t domid);
  // Replaces a domain's config (rename, mem-set, devices...), found by its uuid.
  Status Update(std::shared_ptr<const RegisteredConfig> config);
  // Managed (xm new / delete).
  Status Define(std::shared_ptr<const RegisteredConfig> config);
  Status Undefine(const std::string& uuid);

  // Every change above is published here (started, stopped, changed, defined,
  // undefined); others (domain exits) publish theirs too.
  DomainEvents& events() { return events_; }

 private:
  explicit DomainRegistry(std::string dir) : dir_(std::move(dir)) {}
  Status WriteConfig(const std::string& kind, const DomainConfig& config) const;
  void RemoveConfig(const std::string& kind, const std::string& uuid) const;
  const RegisteredDomain* FindLocked(std::string_view ref) const EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores `d` under its uuid and keeps the name and domid indexes in step.
  void PutLocked(RegisteredDomain d) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(const std::string& uuid) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnindexLocked(const RegisteredDomain& d) EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked(const char* change, const RegisteredDomain& d) EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  mutable Mutex mu_;
  std::map<std::string, RegisteredDomain, std::less<>> by_uuid_ GUARDED_BY(mu_);
  // Hashed: looked up on every request, never walked in order.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::string, NameHash, std::equal_to<>> uuid_by_name_
      GUARDED_BY(mu_);
  std::unordered_map<uint32_t, std::string> uuid_by_domid_ GUARDED_BY(mu_);
  // From disk, not yet matched to a running domain.
  std::map<std::string, std::shared_ptr<const RegisteredConfig>> running_configs_ GUARDED_BY(mu_);
  DomainEvents events_;
  std::vector<std::string> set_aside_;  // written by Open() only
};

}  // namespace txend::toolstack
