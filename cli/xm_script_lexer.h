// Tokens of xm config scripts: Python 2's lexical rules (comments, implicit
// line joining inside brackets, backslash continuation, string and number
// literal forms), reporting errors with their line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace txend::xm {

struct Token {
  enum class Type {
    kName,
    kInt,
    kFloat,
    kString,
    kOp,
    kNewline,
    kIndent,
    kEnd
  };  // kIndent: an indented statement
  Type type = Type::kEnd;
  std::string text;  // name, operator, or decoded string contents
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

// Splits `text` into tokens ending with kNewline, kEnd. On error, returns
// EINVAL with message "LINE: what" for the caller to prefix with the file name.
Result<std::vector<Token>> Tokenize(std::string_view text);

}  // namespace txend::xm
