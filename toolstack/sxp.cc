#include "toolstack/sxp.h"

#include <cctype>
#include <cstdio>

namespace txend::sxp {
namespace {

constexpr int kMaxDepth = 200;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool IsSeparator(char c) {
  return c == '{' || c == '}' || c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
         c == '!' || c == ';';
}

// Recursive-descent reader over `text` with line/column tracking.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  Result<std::vector<Value>> All() {
    std::vector<Value> out;
    while (SkipBlank(), pos_ < text_.size()) {
      TXEND_ASSIGN_OR_RETURN(Value v, One(0));
      out.push_back(std::move(v));
    }
    return out;
  }

 private:
  Status Error(const std::string& what) const {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return Status::Error(EINVAL, "SXP " + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
  }

  void SkipBlank() {
    while (pos_ < text_.size()) {
      if (IsSpace(text_[pos_])) {
        ++pos_;
      } else if (text_[pos_] == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        return;
      }
    }
  }

  Result<Value> One(int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    char c = text_[pos_];
    if (c == '(') return ListValue(depth);
    if (c == ')') return Error("unexpected ')'");
    if (c == '"' || c == '\'') return StringValue();
    if (IsSeparator(c)) return Error(std::string("unexpected '") + c + "'");
    if (!std::isprint(static_cast<unsigned char>(c))) return Error("invalid character code " + std::to_string(static_cast<unsigned char>(c)));
    size_t start = pos_;
    while (pos_ < text_.size() && !IsSpace(text_[pos_]) && !IsSeparator(text_[pos_]) && text_[pos_] != '#') {
      if (!std::isprint(static_cast<unsigned char>(text_[pos_]))) return Error("invalid character in atom");
      ++pos_;
    }
    return Value::Atom(std::string(text_.substr(start, pos_ - start)));
  }

  Result<Value> ListValue(int depth) {
    ++pos_;  // '('
    std::vector<Value> items;
    while (true) {
      SkipBlank();
      if (pos_ >= text_.size()) return Error("unexpected end of input: missing ')'");
      if (text_[pos_] == ')') {
        ++pos_;
        return Value::List(std::move(items));
      }
      TXEND_ASSIGN_OR_RETURN(Value v, One(depth + 1));
      items.push_back(std::move(v));
    }
  }

  Result<Value> StringValue() {
    char delim = text_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) return Error("unexpected end of input in a string");
      char c = text_[pos_++];
      if (c == delim) return Value::Atom(std::move(out));
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return Error("unexpected end of input in an escape");
      TXEND_RETURN_IF_ERROR(Escape(out));
    }
  }

  Status Escape(std::string& out) {
    char c = text_[pos_];
    static constexpr std::string_view kFrom = "abtnvfr\\'\"", kTo = "\a\b\t\n\v\f\r\\'\"";
    if (auto i = kFrom.find(c); i != std::string_view::npos) {
      out.push_back(kTo[i]);
      ++pos_;
      return Status::Ok();
    }
    int base = c == 'x' ? 16 : (c >= '0' && c <= '7') ? 8 : 0;
    if (base == 0) {  // unknown escape: xend kept the backslash
      out.push_back('\\');
      return Status::Ok();
    }
    if (base == 16) ++pos_;
    int value = 0, digits = 0, max_digits = base == 16 ? 2 : 3;
    while (digits < max_digits && pos_ < text_.size()) {
      char d = static_cast<char>(std::tolower(static_cast<unsigned char>(text_[pos_])));
      int v = (d >= '0' && d <= '7') || (base == 16 && std::isdigit(static_cast<unsigned char>(d))) ? d - '0'
              : (base == 16 && d >= 'a' && d <= 'f')                                              ? d - 'a' + 10
                                                                                                  : -1;
      if (v < 0) break;
      value = value * base + v;
      ++digits;
      ++pos_;
    }
    if (digits == 0 || value > 0xff) return Error("invalid numeric escape");
    out.push_back(static_cast<char>(value));
    return Status::Ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// xend's atomp(): may this string be printed bare?
bool BareAtom(std::string_view s) {
  if (s == "@") return true;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (c == '.' || c == '-' || c == '_' || c == ':' || c == '/' || c == '~') continue;
    return false;
  }
  return true;
}

void ShowTo(const Value& v, std::string& out) {
  if (v.is_atom()) {
    out += Quote(v.atom());
    return;
  }
  out.push_back('(');
  for (size_t i = 0; i < v.items().size(); ++i) {
    if (i) out.push_back(' ');
    ShowTo(v.items()[i], out);
  }
  out.push_back(')');
}

void PrettyTo(const Value& v, int indent, int width, std::string& out) {
  std::string flat = Show(v);
  if (v.is_atom() || indent + static_cast<int>(flat.size()) <= width || v.items().empty()) {
    out += flat;
    return;
  }
  // Leading atoms stay on the opening line; each later item gets its own line.
  out.push_back('(');
  size_t i = 0;
  for (; i < v.items().size() && v.items()[i].is_atom(); ++i) {
    if (i) out.push_back(' ');
    out += Quote(v.items()[i].atom());
  }
  for (; i < v.items().size(); ++i) {
    out += "\n" + std::string(indent + 4, ' ');
    PrettyTo(v.items()[i], indent + 4, width, out);
  }
  out += "\n" + std::string(indent, ' ') + ")";
}

}  // namespace

Value Value::Atom(std::string text) {
  Value v;
  v.is_list_ = false;
  v.atom_ = std::move(text);
  return v;
}

Value Value::List(std::vector<Value> items) {
  Value v;
  v.items_ = std::move(items);
  return v;
}

Value Value::Pair(std::string name, std::string value) {
  return List({Atom(std::move(name)), Atom(std::move(value))});
}

std::string_view Value::name() const {
  if (is_atom()) return atom_;
  if (!items_.empty() && items_[0].is_atom()) return items_[0].atom_;
  return {};
}

const Value* Value::Child(std::string_view child_name) const {
  for (size_t i = 1; i < items_.size(); ++i)
    if (items_[i].is_list() && items_[i].name() == child_name) return &items_[i];
  return nullptr;
}

std::vector<const Value*> Value::Children(std::string_view child_name) const {
  std::vector<const Value*> out;
  for (size_t i = 1; i < items_.size(); ++i)
    if (child_name.empty() || (items_[i].is_list() && items_[i].name() == child_name)) out.push_back(&items_[i]);
  return out;
}

std::optional<std::string> Value::Find(std::string_view child_name) const {
  const Value* c = Child(child_name);
  if (!c || c->items_.size() < 2 || !c->items_[1].is_atom()) return std::nullopt;
  return c->items_[1].atom_;
}

std::string Value::Get(std::string_view child_name, std::string fallback) const {
  auto v = Find(child_name);
  return v ? *v : std::move(fallback);
}

Value& Value::Add(Value item) {
  is_list_ = true;
  items_.push_back(std::move(item));
  return *this;
}

Result<Value> Parse(std::string_view text) {
  TXEND_ASSIGN_OR_RETURN(auto all, ParseAll(text));
  if (all.empty()) return Status::Error(EINVAL, "SXP: no value in input");
  if (all.size() > 1) return Status::Error(EINVAL, "SXP: more than one value in input");
  return std::move(all[0]);
}

Result<std::vector<Value>> ParseAll(std::string_view text) { return Reader(text).All(); }

std::string Quote(std::string_view atom) {
  if (!atom.empty() && BareAtom(atom)) return std::string(atom);
  // Single quotes always: libvirt's SXP reader understands no other quoting
  // (xend's repr() switched to double quotes for text containing ').
  constexpr char q = '\'';
  std::string out(1, q);
  for (unsigned char c : atom) {
    if (c == '\\') out += "\\\\";
    else if (c == q) out += "\\'";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else out.push_back(static_cast<char>(c));
  }
  out.push_back(q);
  return out;
}

std::string Show(const Value& value) {
  std::string out;
  ShowTo(value, out);
  return out;
}

std::string PrettyPrint(const Value& value, int width) {
  std::string out;
  PrettyTo(value, 0, width, out);
  return out;
}

}  // namespace txend::sxp
