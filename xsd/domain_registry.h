// DomainRegistry: the domains xsd knows — dom0, introduced domains, and any
// domain that owns nodes — with what each uses against its quota.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "xsd/tree.h"

namespace txend::xsd {

struct DomainRecord {
  uint32_t domid = 0;
  bool introduced = false;
  uint64_t mfn = 0;
  uint32_t port = 0;
  std::optional<uint32_t> target;  // SET_TARGET
  size_t entries = 0;              // nodes owned
  size_t watches = 0;
  size_t transactions = 0;
  size_t transaction_bytes = 0;  // what its open transactions hold (Transaction::bytes)
  bool release_fired = false;    // @releaseDomain already sent for this incarnation
};

class DomainRegistry {
 public:
  DomainRegistry();  // dom0 is introduced from the start

  // The record of `domid`, created empty on first use.
  DomainRecord& Get(uint32_t domid);
  const DomainRecord* Find(uint32_t domid) const;
  bool IsIntroduced(uint32_t domid) const;

  void Introduce(uint32_t domid, uint64_t mfn, uint32_t port);
  // Forgets the introduction; usage counts stay while the domain owns nodes.
  void Release(uint32_t domid);
  // Counts node ownership changes into each domain's `entries`.
  void Account(const std::vector<Change>& changes);

  std::vector<uint32_t> Introduced() const;

 private:
  std::map<uint32_t, DomainRecord> domains_;
};

}  // namespace txend::xsd
