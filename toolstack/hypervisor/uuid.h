// Uuid: a domain's 128-bit handle (xen_domain_handle_t), printed the way xend
// and xm print it: "6f9619ff-8b86-d011-b42d-00c04fc964ff".
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace txend::toolstack {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // Accepts the 36-character dashed form only; EINVAL otherwise.
  static Result<Uuid> Parse(std::string_view text);
  // A version-4 (random) uuid made from 128 caller-supplied random bits.
  static Uuid FromRandomBits(uint64_t high, uint64_t low);

  std::string ToString() const;
  bool IsNil() const;
  auto operator<=>(const Uuid&) const = default;
};

}  // namespace txend::toolstack
