// SXP printers: xend's sxp.show (compact) and PrettyPrint.prettyprint (pretty).
#include <cstdio>
#include <string>

#include "sxp/sxp.h"

namespace txend::sxp {
namespace {

void AppendCompact(const Value& v, std::string& out);

}  // namespace

namespace {

// Python 2 repr()'s escaping of `s` between `quote` characters.
std::string Escaped(std::string_view s, char quote) {
  std::string out(1, quote);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == quote || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (ch == '\t') {
      out += "\\t";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += quote;
  return out;
}

}  // namespace

std::string PythonRepr(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  return Escaped(s, (has_single && !has_double) ? '"' : '\'');
}

// SXP output always uses single quotes: libvirt's reader understands no other
// form (xend's repr() switched to double quotes for text containing ').
std::string QuoteAtom(std::string_view s) { return Escaped(s, '\''); }

namespace {

void AppendCompact(const Value& v, std::string& out) {
  if (v.is_atom()) {
    AppendAtom(v.atom(), out);
    return;
  }
  out += '(';
  bool first = true;
  for (const Value& item : v.items()) {
    if (!first) out += ' ';
    first = false;
    AppendCompact(item, out);
  }
  out += ')';
}

size_t FlatWidth(const Value& v) {
  if (v.is_atom()) return FormatAtom(v.atom()).size();
  size_t width = 2;
  for (const Value& item : v.items()) width += FlatWidth(item);
  if (!v.items().empty()) width += v.items().size() - 1;
  return width;
}

// Replays xend's PrettyPrint.Line: `space` is clamped at zero while `used` is
// not, exactly as there, so even overlong lines break where xend's do. Every
// SXP list is an "all-or-nothing" block: if it does not fit where it starts,
// each break inside it becomes a newline.
class PrettyPrinter {
 public:
  explicit PrettyPrinter(int width) : width_(width), space_(width) {}

  void Emit(const Value& v) {
    if (v.is_atom()) {
      Output(FormatAtom(v.atom()));
      return;
    }
    long indent = used_;
    bool broken = space_ - static_cast<long>(FlatWidth(v)) < 0;
    Output("(");
    bool first = true;
    for (const Value& item : v.items()) {
      if (!first) Break(broken, 1, indent + 4);
      first = false;
      Emit(item);
    }
    Break(broken, 0, indent);
    Output(")");
  }

  std::string Take() { return std::move(out_); }

 private:
  void Output(std::string_view s) {
    out_ += s;
    used_ += static_cast<long>(s.size());
    space_ -= static_cast<long>(s.size());
    if (space_ < 0) space_ = 0;
  }
  void Break(bool broken, int width, long indent) {
    if (!broken) {
      Output(std::string(width, ' '));
      return;
    }
    out_ += '\n';
    out_.append(static_cast<size_t>(indent), ' ');
    used_ = indent;
    space_ = width_ - used_;
  }

  long width_;
  long used_ = 0;
  long space_;
  std::string out_;
};

}  // namespace

bool IsBareAtom(std::string_view s) {
  if (s.empty()) return false;
  if (s == "@") return true;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view(".-_:/~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string FormatAtom(std::string_view s) { return IsBareAtom(s) ? std::string(s) : QuoteAtom(s); }

void AppendAtom(std::string_view s, std::string& out) {
  if (IsBareAtom(s))
    out += s;
  else
    out += QuoteAtom(s);
}

void AppendTo(const Value& v, std::string& out) { AppendCompact(v, out); }

std::string ToString(const Value& v) {
  std::string out;
  AppendCompact(v, out);
  return out;
}

std::string PrettyPrint(const Value& v, int width) {
  if (v.is_atom()) return FormatAtom(v.atom()) + "\n";
  PrettyPrinter printer(width);
  printer.Emit(v);
  return printer.Take() + "\n";
}

}  // namespace txend::sxp
