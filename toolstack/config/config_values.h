// Typed reads of config values (SXP atoms) whose errors name the field:
// "memory: expected an integer, got 'lots'".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace txend::toolstack {

// Python int(): optional surrounding blanks and sign, decimal digits, 64-bit range.
Result<int64_t> ReadInteger(std::string_view field, std::string_view text);
// ReadInteger, then requires lo <= value <= hi.
Result<int64_t> ReadIntegerInRange(std::string_view field, std::string_view text, int64_t lo,
                                   int64_t hi);
// An integer used as a flag: 0 is false, anything else true.
Result<bool> ReadFlag(std::string_view field, std::string_view text);

}  // namespace txend::toolstack
