// The SXP parser. Grammar as in xend's sxp.Parser: whitespace separates; '#'
// starts a comment to end of line; '(' ')' delimit lists; '...' and "..." are
// strings with C-style escapes; any other printable run is an atom, ended by
// whitespace, '#', or one of the separators {}()<>[]; (which then begin the
// next atom themselves, as in xend). '!' is no separator: `(mode w!)` is one atom.
#include <cctype>
#include <string>

#include "sxp/sxp.h"

namespace txend::sxp {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsSeparator(char c) { return std::string_view("{}()<>[];").find(c) != std::string_view::npos; }
// xend starts atoms only on string.printable; we also accept bytes >= 0x80 (UTF-8).
bool CanStartAtom(unsigned char c) { return (c > 0x20 && c < 0x7f) || c >= 0x80; }

class Parser {
 public:
  Parser(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

  Result<Value> One() {
    SkipBlanks();
    if (AtEnd()) return Error("empty input");
    if (Peek() == ')') return Error("unexpected ')'");
    TXEND_ASSIGN_OR_RETURN(Value v, ParseValue(0));
    SkipBlanks();
    if (!AtEnd()) return Error("unexpected text after the value");
    return v;
  }

  Result<std::vector<Value>> All() {
    std::vector<Value> out;
    for (;;) {
      SkipBlanks();
      if (AtEnd()) return out;
      if (Peek() == ')') return Error("unexpected ')'");
      TXEND_ASSIGN_OR_RETURN(Value v, ParseValue(0));
      out.push_back(std::move(v));
    }
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  char Next() {
    char c = text_[pos_++];
    if (c == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    return c;
  }

  Status Error(const std::string& what, int code = EINVAL) const {
    return ErrorAt(line_, col_, what, code);
  }
  static Status ErrorAt(int line, int col, const std::string& what, int code = EINVAL) {
    return Status::Error(code,
                         "sxp:" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  void SkipBlanks() {
    while (!AtEnd()) {
      if (IsSpace(Peek())) {
        Next();
      } else if (Peek() == '#') {
        while (!AtEnd() && Peek() != '\n') Next();
      } else {
        return;
      }
    }
  }

  Result<Value> ParseValue(int depth) {
    char c = Peek();
    if (c == '(') return ParseList(depth + 1);
    if (c == '"' || c == '\'') return ParseString();
    if (CanStartAtom(static_cast<unsigned char>(c))) return ParseAtom();
    return Error("invalid character: code " + std::to_string(static_cast<unsigned char>(c)));
  }

  Result<Value> ParseList(int depth) {
    if (depth > limits_.max_depth)
      return Error("lists nested deeper than " + std::to_string(limits_.max_depth), E2BIG);
    int open_line = line_, open_col = col_;
    Next();  // '('
    Value list = Value::List();
    for (;;) {
      SkipBlanks();
      if (AtEnd()) return ErrorAt(open_line, open_col, "unterminated list");
      if (Peek() == ')') {
        Next();
        return list;
      }
      TXEND_ASSIGN_OR_RETURN(Value v, ParseValue(depth));
      list.Add(std::move(v));
    }
  }

  Result<Value> ParseAtom() {
    size_t start = pos_;
    Next();
    while (!AtEnd() && !IsSpace(Peek()) && Peek() != '#' && !IsSeparator(Peek())) Next();
    return Value(text_.substr(start, pos_ - start));
  }

  Result<Value> ParseString() {
    int open_line = line_, open_col = col_;
    char delim = Next();
    std::string out;
    for (;;) {
      if (AtEnd()) return ErrorAt(open_line, open_col, "unterminated string");
      char c = Next();
      if (c == delim) return Value(std::move(out));
      if (c != '\\') {
        out += c;
        continue;
      }
      if (AtEnd()) return ErrorAt(open_line, open_col, "unterminated string");
      TXEND_RETURN_IF_ERROR(ParseEscape(out));
    }
  }

  // After a backslash: appends the escaped byte(s) to `out`.
  Status ParseEscape(std::string& out) {
    char c = Next();
    switch (c) {
      case 'a':
        out += '\a';
        return Status::Ok();
      case 'b':
        out += '\b';
        return Status::Ok();
      case 't':
        out += '\t';
        return Status::Ok();
      case 'n':
        out += '\n';
        return Status::Ok();
      case 'v':
        out += '\v';
        return Status::Ok();
      case 'f':
        out += '\f';
        return Status::Ok();
      case 'r':
        out += '\r';
        return Status::Ok();
      case '\\':
      case '\'':
      case '"':
        out += c;
        return Status::Ok();
      case 'x':
        return ParseHexEscape(out);
      default:
        break;
    }
    if (c >= '0' && c <= '7') return ParseOctalEscape(c, out);
    out += '\\';  // unknown escape: kept literally (xend dropped the character)
    out += c;
    return Status::Ok();
  }

  Status ParseHexEscape(std::string& out) {
    int value = 0, digits = 0;
    while (digits < 2 && !AtEnd() && std::isxdigit(static_cast<unsigned char>(Peek()))) {
      char d = Next();
      value = value * 16 +
              (std::isdigit(static_cast<unsigned char>(d)) ? d - '0' : (d | 0x20) - 'a' + 10);
      ++digits;
    }
    if (digits == 0) return Error("invalid \\x escape: no hex digits");
    out += static_cast<char>(value);
    return Status::Ok();
  }

  Status ParseOctalEscape(char first, std::string& out) {
    int value = first - '0', digits = 1;
    while (digits < 3 && !AtEnd() && Peek() >= '0' && Peek() <= '7') {
      value = value * 8 + (Next() - '0');
      ++digits;
    }
    if (value > 0xff) return Error("invalid octal escape: out of range");
    out += static_cast<char>(value);
    return Status::Ok();
  }

  std::string_view text_;
  const ParseLimits& limits_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

Status CheckSize(std::string_view text, const ParseLimits& limits) {
  if (text.size() <= limits.max_bytes) return Status::Ok();
  return Status::Error(E2BIG, "sxp: input of " + std::to_string(text.size()) +
                                  " bytes exceeds the limit of " +
                                  std::to_string(limits.max_bytes));
}

}  // namespace

Result<std::vector<Value>> ParseAll(std::string_view text, const ParseLimits& limits) {
  TXEND_RETURN_IF_ERROR(CheckSize(text, limits));
  return Parser(text, limits).All();
}

Result<Value> Parse(std::string_view text, const ParseLimits& limits) {
  TXEND_RETURN_IF_ERROR(CheckSize(text, limits));
  return Parser(text, limits).One();
}

}  // namespace txend::sxp
