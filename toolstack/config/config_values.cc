#include "toolstack/config/config_values.h"

#include <charconv>
#include <string>

namespace txend::toolstack {

Result<int64_t> ParseInteger(std::string_view field, std::string_view text) {
  std::string_view s = text;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return Status::Error(EINVAL, std::string(field) + ": expected an integer, got " + Quoted(text));
  }
  return value;
}

Result<int64_t> ParseIntegerInRange(std::string_view field, std::string_view text, int64_t lo,
                                    int64_t hi) {
  TXEND_ASSIGN_OR_RETURN(int64_t value, ParseInteger(field, text));
  if (value < lo || value > hi) {
    return Status::Error(EINVAL, std::string(field) + ": " + std::to_string(value) +
                                     " is out of range (" + std::to_string(lo) + ".." +
                                     std::to_string(hi) + ")");
  }
  return value;
}

std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 80;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kMax)) + "...'";
}

Result<bool> ParseFlag(std::string_view field, std::string_view text) {
  TXEND_ASSIGN_OR_RETURN(int64_t value, ParseInteger(field, text));
  return value != 0;
}

}  // namespace txend::toolstack
