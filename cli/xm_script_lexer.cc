#include "cli/xm_script_lexer.h"

#include <cctype>

#include "base/numbers.h"

namespace txend::xm {
namespace {

using Type = Token::Type;

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The digits of an integer literal in `base` (2, 8, 10 or 16).
std::string_view DigitsOf(int base) {
  constexpr std::string_view kDigits = "0123456789abcdefABCDEF";
  return base == 16 ? kDigits : kDigits.substr(0, static_cast<size_t>(base));
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    while (pos_ < text_.size()) {
      if (at_line_start_ && depth_ == 0) TXEND_RETURN_IF_ERROR(CheckIndent());
      if (pos_ >= text_.size()) break;
      TXEND_RETURN_IF_ERROR(Step());
    }
    if (depth_ > 0)
      return ErrorAt(open_lines_.back(),
                     "'" + std::string(1, open_chars_.back()) + "' is never closed");
    EndLine();
    Push(Type::kEnd, "");
    return std::move(tokens_);
  }

 private:
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  Status Error(const std::string& what) const { return ErrorAt(line_, what); }
  static Status ErrorAt(int line, const std::string& what) {
    return Status::Error(EINVAL, std::to_string(line) + ": " + what);
  }
  void Push(Type type, std::string text) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.line = token_line_;
    tokens_.push_back(std::move(t));
  }
  void EndLine() {
    if (!tokens_.empty() && tokens_.back().type != Type::kNewline) {
      token_line_ = line_;
      Push(Type::kNewline, "");
    }
  }

  // At the start of a logical line: marks indented statements, which Python
  // refuses; the interpreter reports them when it gets there.
  Status CheckIndent() {
    size_t p = pos_;
    while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t' || text_[p] == '\f')) ++p;
    at_line_start_ = false;
    char c = p < text_.size() ? text_[p] : '\n';
    if (p > pos_ && c != '\n' && c != '\r' && c != '#') {
      token_line_ = line_;
      Push(Type::kIndent, "");
    }
    pos_ = p;
    return Status::Ok();
  }

  Status Step() {
    char c = Peek();
    token_line_ = line_;
    if (c == '\n') {
      if (depth_ == 0) EndLine();
      ++line_;
      ++pos_;
      at_line_start_ = depth_ == 0;  // inside brackets, lines continue the statement
      return Status::Ok();
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
      ++pos_;
      return Status::Ok();
    }
    if (c == '#') {
      while (pos_ < text_.size() && Peek() != '\n') ++pos_;
      return Status::Ok();
    }
    if (c == '\\') {
      size_t skip = Peek(1) == '\n' ? 2 : (Peek(1) == '\r' && Peek(2) == '\n') ? 3 : 0;
      if (skip == 0) return Error("unexpected character after line continuation character");
      pos_ += skip;
      ++line_;
      return Status::Ok();
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && std::isdigit(static_cast<unsigned char>(Peek(1)))))
      return Number();
    if (IsNameStart(c)) return NameOrString();
    if (c == '"' || c == '\'') return String(false);
    return Operator();
  }

  Status NameOrString() {
    size_t start = pos_;
    while (IsNameChar(Peek())) ++pos_;
    std::string name(text_.substr(start, pos_ - start));
    std::string lower;
    for (char ch : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool prefix = lower == "r" || lower == "u" || lower == "b" || lower == "ur" || lower == "br";
    if (prefix && (Peek() == '"' || Peek() == '\''))
      return String(lower.find('r') != std::string::npos);
    Push(Type::kName, std::move(name));
    return Status::Ok();
  }

  Status Number() {
    size_t start = pos_;
    int base = 10;
    if (Peek() == '0' && std::string_view("xXoObB").find(Peek(1)) != std::string_view::npos &&
        Peek(1) != '\0') {
      char b = static_cast<char>(std::tolower(static_cast<unsigned char>(Peek(1))));
      base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
      pos_ += 2;
    }
    bool is_float = false;
    while (std::isalnum(static_cast<unsigned char>(Peek())) || Peek() == '.' ||
           ((Peek() == '+' || Peek() == '-') && base == 10 &&
            (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E'))) {
      if (base == 10 && (Peek() == '.' || Peek() == 'e' || Peek() == 'E')) is_float = true;
      ++pos_;
    }
    std::string literal(text_.substr(start, pos_ - start));
    std::string digits = literal.substr(base == 10 ? 0 : 2);
    if (!is_float && !digits.empty() && (digits.back() == 'L' || digits.back() == 'l'))
      digits.pop_back();
    if (is_float) return FloatLiteral(literal);
    if (base == 10 && digits.size() > 1 && digits[0] == '0') base = 8;  // Python 2: 0755
    if (digits.empty() || digits.find_first_not_of(DigitsOf(base)) != std::string::npos)
      return Error("invalid number '" + literal + "'");
    auto value = ParseInteger<int64_t>(digits, base);  // only its range can fail now
    if (!value.ok())
      return Error("integer " + literal + " is too large (config values are 64-bit)");
    Push(Type::kInt, literal);
    tokens_.back().int_value = *value;
    return Status::Ok();
  }

  Status FloatLiteral(const std::string& literal) {
    auto value = ParseDouble(literal);
    if (!value.ok()) return Error("invalid number '" + literal + "'");
    Push(Type::kFloat, literal);
    tokens_.back().float_value = *value;
    return Status::Ok();
  }

  Status String(bool raw) {
    char quote = Peek();
    bool triple = Peek(1) == quote && Peek(2) == quote;
    int start_line = line_;
    pos_ += triple ? 3 : 1;
    std::string out;
    for (;;) {
      if (pos_ >= text_.size())
        return ErrorAt(start_line, triple ? "EOF while scanning triple-quoted string literal"
                                          : "EOL while scanning string literal");
      char c = text_[pos_];
      if (c == quote && (!triple || (Peek(1) == quote && Peek(2) == quote))) {
        pos_ += triple ? 3 : 1;
        break;
      }
      if (c == '\n') {
        if (!triple) return ErrorAt(start_line, "EOL while scanning string literal");
        ++line_;
      }
      if (c == '\\') {
        TXEND_RETURN_IF_ERROR(Escape(raw, out));
        continue;
      }
      out += c;
      ++pos_;
    }
    Push(Type::kString, std::move(out));
    tokens_.back().line = start_line;
    return Status::Ok();
  }

  // At a backslash inside a string: appends what it stands for.
  Status Escape(bool raw, std::string& out) {
    char c = Peek(1);
    if (c == '\n') ++line_;
    if (raw) {  // raw strings keep the backslash, but it still protects a quote
      out += '\\';
      if (c != '\0') out += c;
      pos_ += c == '\0' ? 1 : 2;
      return Status::Ok();
    }
    pos_ += 2;
    switch (c) {
      case '\n':
        return Status::Ok();  // line continuation inside the string
      case '\\':
      case '\'':
      case '"':
        out += c;
        return Status::Ok();
      case 'a':
        out += '\a';
        return Status::Ok();
      case 'b':
        out += '\b';
        return Status::Ok();
      case 'f':
        out += '\f';
        return Status::Ok();
      case 'n':
        out += '\n';
        return Status::Ok();
      case 'r':
        out += '\r';
        return Status::Ok();
      case 't':
        out += '\t';
        return Status::Ok();
      case 'v':
        out += '\v';
        return Status::Ok();
      case 'x': {
        if (!std::isxdigit(static_cast<unsigned char>(Peek())) ||
            !std::isxdigit(static_cast<unsigned char>(Peek(1))))
          return Error("invalid \\x escape (needs two hex digits)");
        out += static_cast<char>(ParseInteger<uint8_t>(text_.substr(pos_, 2), 16).value_or(0));
        pos_ += 2;
        return Status::Ok();
      }
      default:
        break;
    }
    if (c >= '0' && c <= '7') {
      int value = c - '0';
      for (int i = 0; i < 2 && Peek() >= '0' && Peek() <= '7'; ++i)
        value = value * 8 + (text_[pos_++] - '0');
      out += static_cast<char>(value & 0xff);
      return Status::Ok();
    }
    out += '\\';  // unknown escapes stay as written, as in Python
    if (c != '\0')
      out += c;
    else
      --pos_;
    return Status::Ok();
  }

  Status Operator() {
    static constexpr std::string_view kTwo[] = {
        "**", "//", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "<<", ">>", "<>"};
    for (std::string_view op : kTwo) {
      if (text_.substr(pos_, 2) == op) {
        pos_ += 2;
        Push(Type::kOp, std::string(op));
        return Status::Ok();
      }
    }
    char c = Peek();
    if (std::string_view("+-*/%()[]{},=.;:<>&|^~@`").find(c) == std::string_view::npos) {
      return Error(
          "invalid character '" +
          (std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : "\\x" + Hex(c)) + "'");
    }
    if (c == '(' || c == '[' || c == '{') {
      ++depth_;
      open_lines_.push_back(line_);
      open_chars_.push_back(c);
    } else if (c == ')' || c == ']' || c == '}') {
      if (depth_ == 0) return Error(std::string("unmatched '") + c + "'");
      --depth_;
      open_lines_.pop_back();
      open_chars_.pop_back();
    }
    ++pos_;
    Push(Type::kOp, std::string(1, c));
    return Status::Ok();
  }

  static std::string Hex(char c) {
    static constexpr char kDigits[] = "0123456789abcdef";
    auto u = static_cast<unsigned char>(c);
    return {kDigits[u >> 4], kDigits[u & 0xf]};
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int token_line_ = 1;
  int depth_ = 0;
  std::vector<int> open_lines_;  // where each open bracket is
  std::vector<char> open_chars_;
  bool at_line_start_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text) { return Lexer(text).Run(); }

}  // namespace txend::xm
