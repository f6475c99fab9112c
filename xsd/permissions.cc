#include "xsd/permissions.h"

namespace txend::xsd {
namespace {

bool IsMe(const Requester& who, uint32_t domid) {
  return domid == who.domid || who.target == domid;
}

wire::Access Effective(const Requester& who, const wire::Perms& perms) {
  if (who.privileged || perms.empty() || IsMe(who, perms[0].domid)) return wire::Access::kBoth;
  for (size_t i = 1; i < perms.size(); ++i)
    if (IsMe(who, perms[i].domid)) return perms[i].access;
  return perms[0].access;
}

}  // namespace

bool CanRead(const Requester& who, const wire::Perms& perms) {
  auto a = Effective(who, perms);
  return a == wire::Access::kRead || a == wire::Access::kBoth;
}

bool CanWrite(const Requester& who, const wire::Perms& perms) {
  auto a = Effective(who, perms);
  return a == wire::Access::kWrite || a == wire::Access::kBoth;
}

}  // namespace txend::xsd
