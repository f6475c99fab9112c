// DomainRegistry: the toolstack's index of domains it manages — running ones
// by domid and managed (xm new) ones by uuid — with their configs. Configs
// live on disk like xend's /var/lib/xend/domains: <dir>/domains/<uuid>.sxp for
// managed domains and <dir>/running/<uuid>.sxp for running ones, so a
// restarted txend finds everything again. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "toolstack/config/domain_config.h"

namespace txend::toolstack {

struct RegisteredDomain {
  ValidConfig config;
  std::optional<uint32_t> domid;  // empty: defined but not running
  bool managed = false;           // defined with `new`; survives shutdown
  double start_time = 0;
};

class DomainRegistry {
 public:
  // Loads every config under `state_dir` (created if missing), drawing what
  // they lack from `random` as FromSxp does. Running configs are matched to
  // domids later with AddRunning().
  static Result<std::unique_ptr<DomainRegistry>> Open(const std::string& state_dir,
                                                      const RandomBytes& random);

  // A copy of the entry for a name, "<domid>" or uuid; ESRCH if none.
  Result<RegisteredDomain> Lookup(std::string_view ref) const;
  Result<RegisteredDomain> ByDomid(uint32_t domid) const;
  std::vector<RegisteredDomain> All() const;
  // The running config recorded for `uuid` (from disk), if any.
  std::optional<ValidConfig> RunningConfig(const std::string& uuid) const;

  // EEXIST if `name` belongs to another domain (other than `uuid`).
  Status CheckNameFree(const std::string& name, const std::string& uuid) const;

  // Records a running domain (and its config on disk).
  Status AddRunning(const ValidConfig& config, uint32_t domid, double start_time);
  // The domain stopped running: managed ones stay defined, others are forgotten.
  void RemoveRunning(uint32_t domid);
  // Replaces a domain's config (rename, mem-set, devices...).
  Status Update(const std::string& uuid, const ValidConfig& config);
  // Managed (xm new / delete).
  Status Define(const ValidConfig& config);
  Status Undefine(const std::string& uuid);

 private:
  explicit DomainRegistry(std::string dir) : dir_(std::move(dir)) {}
  Status WriteConfig(const std::string& kind, const DomainConfig& config) const;
  void RemoveConfig(const std::string& kind, const std::string& uuid) const;
  const RegisteredDomain* FindLocked(std::string_view ref) const;

  std::string dir_;
  mutable std::mutex mu_;
  std::map<std::string, RegisteredDomain> by_uuid_;
  std::map<std::string, ValidConfig> running_configs_;  // from disk, not yet attached
};

}  // namespace txend::toolstack
