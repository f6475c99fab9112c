// Access checks, as xenstore defines them: privileged callers (dom0) may do
// anything; a node's owner (or a domain targeting the owner) has full access;
// otherwise the first ACL entry naming the caller (or its target) applies,
// else the node's default access.
#pragma once

#include <cstdint>
#include <optional>

#include "wire/perm.h"

namespace txend::xsd {

// Who is asking.
struct Requester {
  uint32_t domid = 0;
  bool privileged = true;
  std::optional<uint32_t> target;  // set by SET_TARGET (a device-model stub domain)
};

bool CanRead(const Requester& who, const wire::Perms& perms);
bool CanWrite(const Requester& who, const wire::Perms& perms);

}  // namespace txend::xsd
