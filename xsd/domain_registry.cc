#include "xsd/domain_registry.h"

namespace txend::xsd {

DomainRegistry::DomainRegistry() { Get(0).introduced = true; }

DomainRecord& DomainRegistry::Get(uint32_t domid) {
  auto [it, inserted] = domains_.try_emplace(domid);
  if (inserted) it->second.domid = domid;
  return it->second;
}

const DomainRecord* DomainRegistry::Find(uint32_t domid) const {
  auto it = domains_.find(domid);
  return it == domains_.end() ? nullptr : &it->second;
}

bool DomainRegistry::IsIntroduced(uint32_t domid) const {
  const DomainRecord* d = Find(domid);
  return d && d->introduced;
}

void DomainRegistry::Introduce(uint32_t domid, uint64_t mfn, uint32_t port) {
  DomainRecord& d = Get(domid);
  d.introduced = true;
  d.mfn = mfn;
  d.port = port;
  d.release_fired = false;
}

void DomainRegistry::Release(uint32_t domid) {
  DomainRecord& d = Get(domid);
  d.introduced = false;
  d.target.reset();
}

void DomainRegistry::Account(const std::vector<Change>& changes) {
  for (const auto& c : changes) {
    switch (c.kind) {
      case Change::kCreated:
        ++Get(c.new_perms[0].domid).entries;
        break;
      case Change::kRemoved:
      case Change::kRemovedBelow: {
        DomainRecord& d = Get(c.old_perms[0].domid);
        if (d.entries) --d.entries;
        break;
      }
      case Change::kPermsChanged:
        if (c.old_perms[0].domid != c.new_perms[0].domid) {
          DomainRecord& old_owner = Get(c.old_perms[0].domid);
          if (old_owner.entries) --old_owner.entries;
          ++Get(c.new_perms[0].domid).entries;
        }
        break;
      case Change::kModified:
        break;
    }
  }
}

std::vector<uint32_t> DomainRegistry::Introduced() const {
  std::vector<uint32_t> ids;
  for (const auto& [id, d] : domains_)
    if (d.introduced) ids.push_back(id);
  return ids;
}

}  // namespace txend::xsd
