// The SXP parser. Grammar as in xend's sxp.Parser: whitespace separates; '#'
// starts a comment to end of line; '(' ')' delimit lists; '...' and "..." are
// strings with C-style escapes; any other printable run is an atom, ended by
// whitespace, '#', or one of the separators {}()<>[]; (which then begin the
// next atom themselves, as in xend). '!' is no separator: `(mode w!)` is one atom.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include <climits>

#include "sxp/sxp.h"
#include "sxp/tape.h"

namespace txend::sxp {
namespace {

constexpr bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
constexpr bool IsSeparator(char c) {
  return std::string_view("{}()<>[];").find(c) != std::string_view::npos;
}
// What ends an atom: whitespace, '#' or a separator (a table: atoms are most of the text).
constexpr std::array<bool, 256> kEndsAtom = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = IsSpace(static_cast<char>(c)) || c == '#' || IsSeparator(static_cast<char>(c));
  return t;
}();
bool EndsAtom(char c) { return kEndsAtom[static_cast<unsigned char>(c)]; }
// xend starts atoms only on string.printable; we also accept bytes >= 0x80 (UTF-8).
bool CanStartAtom(unsigned char c) { return (c > 0x20 && c < 0x7f) || c >= 0x80; }

}  // namespace

// Parses into a Tape's nodes (tape.h): the one grammar behind Parse, ParseAll
// and Tape.
class TapeBuilder {
 public:
  TapeBuilder(std::string_view text, const ParseLimits& limits) : limits_(limits) {
    tape_.text_ = text;
    text_ = text;
    // Every node takes at least one byte, and SXP as xend writes it about six:
    // room for one per four bytes grows the array rarely (its pages are only
    // touched as nodes arrive).
    tape_.nodes_.reserve(text.size() / 4 + 1);
  }

  Result<Tape> One() {
    SkipBlanks();
    if (AtEnd()) return Error("empty input");
    if (Peek() == ')') return Error("unexpected ')'");
    TXEND_RETURN_IF_ERROR(ParseValue(0));
    SkipBlanks();
    if (!AtEnd()) return Error("unexpected text after the value");
    return std::move(tape_);
  }

  Result<Tape> All() {
    for (;;) {
      SkipBlanks();
      if (AtEnd()) return std::move(tape_);
      if (Peek() == ')') return Error("unexpected ')'");
      TXEND_RETURN_IF_ERROR(ParseValue(0));
    }
  }

 private:
  using Node = Tape::Node;
  using Kind = Tape::Kind;

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  char Next() { return text_[pos_++]; }

  // Errors name a line and column, counted from the text only when one occurs:
  // the parser itself keeps just a byte offset.
  Status Error(const std::string& what, int code = EINVAL) const {
    return ErrorAt(pos_, what, code);
  }
  Status ErrorAt(size_t offset, const std::string& what, int code = EINVAL) const {
    std::string_view before = text_.substr(0, offset);
    size_t line_start = before.rfind('\n');
    size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
    size_t col = line_start == std::string_view::npos ? offset + 1 : offset - line_start;
    return Status::Error(code,
                         "sxp:" + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  void SkipBlanks() {
    while (!AtEnd()) {
      if (IsSpace(Peek())) {
        ++pos_;
      } else if (Peek() == '#') {
        size_t eol = text_.find('\n', pos_);
        pos_ = eol == std::string_view::npos ? text_.size() : eol;
      } else {
        return;
      }
    }
  }

  Tape::Index Push(Node node) {
    auto i = static_cast<Tape::Index>(tape_.nodes_.size());
    tape_.nodes_.push_back(node);
    return i;
  }

  Status ParseValue(int depth) {
    char c = Peek();
    if (c == '(') return ParseList(depth + 1);
    if (c == '"' || c == '\'') return ParseString();
    if (CanStartAtom(static_cast<unsigned char>(c))) return ParseAtom();
    return Error("invalid character: code " + std::to_string(static_cast<unsigned char>(c)));
  }

  Status ParseList(int depth) {
    if (depth > limits_.max_depth)
      return Error("lists nested deeper than " + std::to_string(limits_.max_depth), E2BIG);
    size_t open = pos_;
    Next();  // '('
    Tape::Index list = Push(Node(Kind::kList, 0, 0));
    uint32_t items = 0;
    for (;;) {
      SkipBlanks();
      if (AtEnd()) return ErrorAt(open, "unterminated list");
      if (Peek() == ')') {
        Next();
        tape_.nodes_[list] = Node(Kind::kList, tape_.end(), items);
        return Status::Ok();
      }
      TXEND_RETURN_IF_ERROR(ParseValue(depth));
      ++items;
    }
  }

  Status ParseAtom() {
    size_t start = pos_;
    Next();
    while (!AtEnd() && !EndsAtom(Peek())) Next();
    Push(Node(Kind::kAtom, static_cast<uint32_t>(start), static_cast<uint32_t>(pos_ - start)));
    return Status::Ok();
  }

  // A quoted string: unescaped onto the tape's decoded_ text.
  Status ParseString() {
    size_t open = pos_;
    char delim = Next();
    std::string& out = tape_.decoded_;
    size_t start = out.size();
    for (;;) {
      if (AtEnd()) return ErrorAt(open, "unterminated string");
      char c = Next();
      if (c == delim) {
        Push(Node(Kind::kDecoded, static_cast<uint32_t>(start),
                  static_cast<uint32_t>(out.size() - start)));
        return Status::Ok();
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (AtEnd()) return ErrorAt(open, "unterminated string");
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
  Tape tape_;
};

namespace {

// A tape node holds lengths and counts in 30 bits: no text may be longer.
constexpr size_t kMaxTapeBytes = (size_t{1} << 30) - 1;

// Over the limit, or too long for a tape's nodes.
Status CheckSize(std::string_view text, const ParseLimits& limits) {
  size_t limit = std::min<size_t>(limits.max_bytes, kMaxTapeBytes);
  if (text.size() <= limit) return Status::Ok();
  return Status::Error(E2BIG, "sxp: input of " + std::to_string(text.size()) +
                                  " bytes exceeds the limit of " + std::to_string(limit));
}

}  // namespace

Result<Tape> Tape::ParseOne(std::string_view text, const ParseLimits& limits) {
  TXEND_RETURN_IF_ERROR(CheckSize(text, limits));
  return TapeBuilder(text, limits).One();
}

Result<Tape> Tape::ParseSequence(std::string_view text, const ParseLimits& limits) {
  TXEND_RETURN_IF_ERROR(CheckSize(text, limits));
  return TapeBuilder(text, limits).All();
}

Result<std::vector<Value>> ParseAll(std::string_view text, const ParseLimits& limits) {
  TXEND_ASSIGN_OR_RETURN(Tape tape, Tape::ParseSequence(text, limits));
  std::vector<Value> out;
  for (Tape::Index i = 0; i < tape.end(); i = tape.next(i)) out.push_back(tape.ToValue(i));
  return out;
}

Result<Value> Parse(std::string_view text, const ParseLimits& limits) {
  TXEND_ASSIGN_OR_RETURN(Tape tape, Tape::ParseOne(text, limits));
  return tape.ToValue(0);
}

}  // namespace txend::sxp
