// Checked number and flag parsing, the one way text becomes a number in txend:
// the whole text must be the number (no blanks, no trailing bytes) and it must
// fit the type; otherwise an EINVAL Status says what was wrong with the text.
#pragma once

#include <charconv>
#include <concepts>
#include <limits>
#include <string>
#include <string_view>

#include "base/result.h"

namespace txend {

// `text` in single quotes for an error message, cut to 80 bytes.
std::string Quoted(std::string_view text);

// An integer of type T in `base` (10, or 16 without "0x"); a leading '-' only for signed T.
template <std::integral T>
Result<T> ParseInteger(std::string_view text, int base = 10) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec == std::errc::result_out_of_range && end == text.data() + text.size())
    return Status::Error(EINVAL, Quoted(text) + " is out of range (" +
                                     std::to_string(std::numeric_limits<T>::min()) + " to " +
                                     std::to_string(std::numeric_limits<T>::max()) + ")");
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return Status::Error(
        EINVAL, Quoted(text) + " is not " + (base == 16 ? "a hexadecimal" : "an") + " integer");
  return value;
}

// A finite decimal floating-point number ("12.5", "1e3").
Result<double> ParseDouble(std::string_view text);

// xend's yes/no words, any case: 1 yes y on true / 0 no n off false.
Result<bool> ParseBool(std::string_view text);

// `text` without the blanks (spaces and tabs) around it.
std::string_view TrimBlanks(std::string_view text);

}  // namespace txend
