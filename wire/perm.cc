#include "wire/perm.h"

#include <charconv>

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
  auto digits = text.substr(1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.domid);
  if (ec != std::errc() || end != digits.data() + digits.size())
    return Status::Error(EINVAL, "bad permission '" + std::string(text) + "'");
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
