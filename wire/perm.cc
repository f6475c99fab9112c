#include "wire/perm.h"

#include "base/numbers.h"

namespace txend::wire {

Result<Perm> ParsePerm(std::string_view text) {
  if (text.size() < 2) return Status::Error(EINVAL, "bad permission '" + std::string(text) + "'");
  Perm p;
  switch (text[0]) {
    case 'n':
      p.access = Access::kNone;
      break;
    case 'r':
      p.access = Access::kRead;
      break;
    case 'w':
      p.access = Access::kWrite;
      break;
    case 'b':
      p.access = Access::kBoth;
      break;
    default:
      return Status::Error(EINVAL, "bad permission '" + std::string(text) + "'");
  }
  auto domid = ParseInteger<uint32_t>(text.substr(1));
  if (!domid.ok()) return Status::Error(EINVAL, "bad permission '" + std::string(text) + "'");
  p.domid = *domid;
  return p;
}

std::string FormatPerm(const Perm& perm) {
  return static_cast<char>(perm.access) + std::to_string(perm.domid);
}

Perms MakePerms(uint32_t owner, Access others, std::vector<Perm> grants) {
  Perms perms{{owner, others}};
  perms.insert(perms.end(), grants.begin(), grants.end());
  return perms;
}

}  // namespace txend::wire
