#include "toolstack/config/config_values.h"

#include <string>

#include "base/numbers.h"

namespace txend::toolstack {

Result<int64_t> ReadInteger(std::string_view field, std::string_view text) {
  std::string_view s = TrimBlanks(text);
  if (s.starts_with('+')) s.remove_prefix(1);
  auto value = ParseInteger<int64_t>(s);
  if (!value.ok())
    return Status::Error(EINVAL, std::string(field) + ": expected an integer, got " + Quoted(text));
  return value;
}

Result<int64_t> ReadIntegerInRange(std::string_view field, std::string_view text, int64_t lo,
                                   int64_t hi) {
  TXEND_ASSIGN_OR_RETURN(int64_t value, ReadInteger(field, text));
  if (value < lo || value > hi) {
    return Status::Error(EINVAL, std::string(field) + ": " + std::to_string(value) +
                                     " is out of range (" + std::to_string(lo) + ".." +
                                     std::to_string(hi) + ")");
  }
  return value;
}

Result<bool> ReadFlag(std::string_view field, std::string_view text) {
  TXEND_ASSIGN_OR_RETURN(int64_t value, ReadInteger(field, text));
  return value != 0;
}

}  // namespace txend::toolstack
