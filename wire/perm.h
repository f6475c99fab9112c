// Node permissions as xenstore carries them: a list of "<access><domid>" entries;
// the first names the owner and the access everybody else gets by default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace txend::wire {

enum class Access : char { kNone = 'n', kRead = 'r', kWrite = 'w', kBoth = 'b' };

struct Perm {
  uint32_t domid = 0;
  Access access = Access::kNone;
  bool operator==(const Perm&) const = default;
};

using Perms = std::vector<Perm>;

// "r5" -> {5, kRead}; EINVAL for anything else.
Result<Perm> ParsePerm(std::string_view text);
std::string FormatPerm(const Perm& perm);

// Owner `owner`, everybody else `others`, then explicit per-domain grants.
Perms MakePerms(uint32_t owner, Access others, std::vector<Perm> grants = {});

}  // namespace txend::wire
