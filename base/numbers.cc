#include "base/numbers.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace txend {
namespace {

struct BoolWord {
  std::string_view word;
  bool value;
};
constexpr BoolWord kBoolWords[] = {
    {"1", true},  {"yes", true}, {"y", true},  {"on", true},   {"true", true},
    {"0", false}, {"no", false}, {"n", false}, {"off", false}, {"false", false},
};

}  // namespace

std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 80;
  if (text.size() <= kMax) return "'" + std::string(text) + "'";
  return "'" + std::string(text.substr(0, kMax)) + "...'";
}

Result<double> ParseDouble(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value))
    return Status::Error(EINVAL, Quoted(text) + " is not a number");
  return value;
}

Result<bool> ParseBool(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const auto& w : kBoolWords)
    if (w.word == lower) return w.value;
  return Status::Error(
      EINVAL, Quoted(text) + " is not a yes/no value (1, yes, on, true / 0, no, off, false)");
}

std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace txend
