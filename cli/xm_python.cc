// Python 2 value semantics for xm config files.
#include "cli/xm_python.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "base/numbers.h"
#include "sxp/sxp.h"

namespace txend::xm {
namespace {

using Kind = PyValue::Kind;

Status TypeError(std::string message) {
  return Status::Error(EINVAL, "TypeError: " + std::move(message));
}
Status ValueError(std::string message) {
  return Status::Error(EINVAL, "ValueError: " + std::move(message));
}
Status Overflow() {
  return Status::Error(ERANGE, "OverflowError: integer overflow (config values are 64-bit)");
}
Status ZeroDivision() {
  return Status::Error(EINVAL, "ZeroDivisionError: integer division or modulo by zero");
}

bool IsNumber(const PyValue& v) {
  return v.is(Kind::kBool) || v.is(Kind::kInt) || v.is(Kind::kFloat);
}
bool IsSequence(const PyValue& v) { return v.is(Kind::kList) || v.is(Kind::kTuple); }
double AsDouble(const PyValue& v) {
  return v.is(Kind::kFloat) ? v.as_float() : static_cast<double>(*AsInteger(v));
}

std::string FloatStr(double d, bool repr) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  if (repr) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    *end = '\0';
  } else {
    std::snprintf(buf, sizeof buf, "%.12g", d);
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string SequenceRepr(const PyValue& v) {
  bool list = v.is(Kind::kList);
  std::string out = list ? "[" : "(";
  for (size_t i = 0; i < v.items().size(); ++i) {
    if (i) out += ", ";
    out += v.items()[i].Repr();
  }
  if (!list && v.items().size() == 1) out += ",";
  return out + (list ? "]" : ")");
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Result<PyValue> IntOp(std::string_view op, int64_t a, int64_t b) {
  if (op == "+" || op == "-" || op == "*") {
    int64_t r = 0;
    bool overflow = op == "+"   ? __builtin_add_overflow(a, b, &r)
                    : op == "-" ? __builtin_sub_overflow(a, b, &r)
                                : __builtin_mul_overflow(a, b, &r);
    if (overflow) return Overflow();
    return PyValue::Int(r);
  }
  if (op == "/" || op == "//" || op == "%") {
    if (b == 0) return ZeroDivision();
    if (a == INT64_MIN && b == -1) return Overflow();
    if (op == "%") return PyValue::Int(a - FloorDiv(a, b) * b);
    return PyValue::Int(FloorDiv(a, b));  // Python 2: int / int floors
  }
  // "**"
  if (b < 0) return PyValue::Float(std::pow(static_cast<double>(a), static_cast<double>(b)));
  int64_t result = 1;
  for (int64_t i = 0; i < b; ++i) {
    if (__builtin_mul_overflow(result, a, &result)) return Overflow();
    if (result == 0 || result == 1) break;
  }
  return PyValue::Int(result);
}

Result<PyValue> FloatOp(std::string_view op, double a, double b) {
  if (op == "+") return PyValue::Float(a + b);
  if (op == "-") return PyValue::Float(a - b);
  if (op == "*") return PyValue::Float(a * b);
  if (op == "**") return PyValue::Float(std::pow(a, b));
  if (b == 0) return Status::Error(EINVAL, "ZeroDivisionError: float division by zero");
  if (op == "/") return PyValue::Float(a / b);
  if (op == "//") return PyValue::Float(std::floor(a / b));
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return PyValue::Float(m);
}

Status StringTooLong() { return ValueError("string too long (limit 1 MiB)"); }
Status ListTooLong() { return ValueError("list too long (limit 65536 items)"); }

Result<PyValue> Repeat(const PyValue& seq, int64_t times, PyAllocation& allocation) {
  if (times < 0) times = 0;
  uint64_t count = static_cast<uint64_t>(times);
  if (seq.is(Kind::kStr)) {
    const std::string& s = seq.as_str();
    if (!s.empty() && count > kMaxPyStringBytes / s.size()) return StringTooLong();
    TXEND_RETURN_IF_ERROR(allocation.Charge(kPyValueBytes + s.size() * count));
    std::string out;
    out.reserve(s.size() * count);
    for (uint64_t i = 0; i < count && !s.empty(); ++i) out += s;
    return PyValue::Str(std::move(out));
  }
  const PyValue::Items& items = seq.items();
  if (!items.empty() && count > kMaxPyListItems / items.size()) return ListTooLong();
  if (items.empty()) count = 0;
  uint64_t each = seq.bytes() - kPyValueBytes;  // the items' bytes, copied `count` times
  if (each != 0 && count > (UINT64_MAX - kPyValueBytes) / each)
    return allocation.Charge(UINT64_MAX);
  TXEND_RETURN_IF_ERROR(allocation.Charge(kPyValueBytes + each * count));
  PyValue::Items out;
  out.reserve(items.size() * count);
  for (uint64_t i = 0; i < count; ++i) out.insert(out.end(), items.begin(), items.end());
  return MakeSequence(seq.kind(), std::move(out), allocation);
}

Result<PyValue> Concat(const PyValue& a, const PyValue& b, PyAllocation& allocation) {
  if (a.is(Kind::kStr) && a.as_str().size() + b.as_str().size() > kMaxPyStringBytes)
    return StringTooLong();
  if (!a.is(Kind::kStr) && a.items().size() + b.items().size() > kMaxPyListItems)
    return ListTooLong();
  TXEND_RETURN_IF_ERROR(allocation.Charge(a.bytes() + b.bytes() - kPyValueBytes));
  if (a.is(Kind::kStr)) return PyValue::Str(a.as_str() + b.as_str());
  PyValue::Items out = a.items();
  out.insert(out.end(), b.items().begin(), b.items().end());
  return MakeSequence(a.kind(), std::move(out), allocation);
}

Status Unsupported(std::string_view op, const PyValue& a, const PyValue& b) {
  return TypeError("unsupported operand type(s) for " + std::string(op) + ": '" +
                   std::string(a.TypeName()) + "' and '" + std::string(b.TypeName()) + "'");
}

// --- % formatting ---

struct Spec {
  std::string flags;
  int width = -1;
  int precision = -1;
  char conversion = 0;
};

class Formatter {
 public:
  Formatter(const std::string& format, const PyValue& args, PyAllocation& allocation)
      : format_(format), allocation_(allocation) {
    if (!args.is(Kind::kTuple)) {
      args_.push_back(&args);
      return;
    }
    for (const PyValue& item : args.items()) args_.push_back(&item);
  }

  Result<PyValue> Run() {
    std::string out;
    for (size_t i = 0; i < format_.size(); ++i) {
      if (format_[i] != '%') {
        out += format_[i];
        continue;
      }
      TXEND_ASSIGN_OR_RETURN(Spec spec, ParseSpec(i));
      if (spec.conversion == '%') {
        out += '%';
        continue;
      }
      TXEND_ASSIGN_OR_RETURN(const PyValue* arg, NextArg());
      TXEND_ASSIGN_OR_RETURN(std::string piece, Convert(spec, *arg));
      TXEND_RETURN_IF_ERROR(allocation_.Charge(piece.size()));
      out += piece;
      if (out.size() > kMaxPyStringBytes) return StringTooLong();
    }
    if (next_ < args_.size())
      return TypeError("not all arguments converted during string formatting");
    TXEND_RETURN_IF_ERROR(allocation_.Charge(kPyValueBytes + out.size()));
    return PyValue::Str(std::move(out));
  }

 private:
  Result<const PyValue*> NextArg() {
    if (next_ >= args_.size()) return TypeError("not enough arguments for format string");
    return args_[next_++];
  }

  Result<int> StarOrNumber(size_t& i) {
    if (i < format_.size() && format_[i] == '*') {
      ++i;
      TXEND_ASSIGN_OR_RETURN(const PyValue* arg, NextArg());
      auto n = arg->is(Kind::kInt) ? std::optional<int64_t>(arg->as_int()) : std::nullopt;
      if (!n) return TypeError("* wants int");
      if (*n > 10000 || *n < -10000) return ValueError("width or precision too big");
      return static_cast<int>(*n);
    }
    int n = 0;
    bool any = false;
    while (i < format_.size() && std::isdigit(static_cast<unsigned char>(format_[i]))) {
      n = n * 10 + (format_[i++] - '0');
      any = true;
      if (n > 10000) return ValueError("width or precision too big");
    }
    return any ? n : -1;
  }

  // Parses the conversion spec at format_[i] == '%'; leaves i on its last char.
  Result<Spec> ParseSpec(size_t& i) {
    Spec spec;
    ++i;
    if (i < format_.size() && format_[i] == '(')
      return ValueError("format mappings like %(name)s are not supported");
    while (i < format_.size() &&
           std::string_view("-+ #0").find(format_[i]) != std::string_view::npos)
      spec.flags += format_[i++];
    TXEND_ASSIGN_OR_RETURN(spec.width, StarOrNumber(i));
    if (spec.width < -1) {  // a negative '*' width means left-justify
      spec.flags += '-';
      spec.width = -spec.width;
    }
    if (i < format_.size() && format_[i] == '.') {
      ++i;
      TXEND_ASSIGN_OR_RETURN(spec.precision, StarOrNumber(i));
      if (spec.precision < 0) spec.precision = 0;
    }
    while (i < format_.size() && std::string_view("hlL").find(format_[i]) != std::string_view::npos)
      ++i;
    if (i >= format_.size()) return ValueError("incomplete format");
    spec.conversion = format_[i];
    return spec;
  }

  static std::string Pad(std::string body, const Spec& spec) {
    if (spec.width < 0 || static_cast<int>(body.size()) >= spec.width) return body;
    std::string fill(static_cast<size_t>(spec.width) - body.size(), ' ');
    return spec.flags.find('-') != std::string::npos ? body + fill : fill + body;
  }

  static std::string CFormat(const Spec& spec, std::string_view length, char conversion) {
    std::string f = "%" + spec.flags;
    if (spec.width >= 0) f += std::to_string(spec.width);
    if (spec.precision >= 0) f += "." + std::to_string(spec.precision);
    return f + std::string(length) + conversion;
  }

  template <typename T>
  static std::string Print(const std::string& cformat, T value) {
    int n = std::snprintf(nullptr, 0, cformat.c_str(), value);  // width, precision <= 10000
    if (n <= 0) return "";
    std::string out(static_cast<size_t>(n) + 1, '\0');
    std::snprintf(out.data(), out.size(), cformat.c_str(), value);
    out.resize(static_cast<size_t>(n));
    return out;
  }

  Result<std::string> Convert(const Spec& spec, const PyValue& arg) {
    char c = spec.conversion;
    if (c == 's' || c == 'r') {
      TXEND_RETURN_IF_ERROR(allocation_.ChargeText(arg));
      std::string body = c == 's' ? arg.Str() : arg.Repr();
      if (spec.precision >= 0 && body.size() > static_cast<size_t>(spec.precision))
        body.resize(static_cast<size_t>(spec.precision));
      return Pad(body, spec);
    }
    if (c == 'c') {
      if (arg.is(Kind::kStr) && arg.as_str().size() == 1) return Pad(arg.as_str(), spec);
      auto n = AsInteger(arg);
      if (!n || arg.is(Kind::kStr) || *n < 0 || *n > 255)
        return TypeError("%c requires int or char");
      return Pad(std::string(1, static_cast<char>(*n)), spec);
    }
    if (std::string_view("diuxXo").find(c) != std::string_view::npos) {
      std::optional<int64_t> n = arg.is(Kind::kFloat)
                                     ? std::optional<int64_t>(static_cast<int64_t>(arg.as_float()))
                                     : AsInteger(arg);
      if (!n)
        return TypeError("%" + std::string(1, c) + " format: a number is required, not " +
                         std::string(arg.TypeName()));
      char conv = c == 'i' || c == 'u' ? 'd' : c;
      if (conv != 'd' && *n < 0) {  // C prints negative hex/octal as unsigned; Python signs it
        Spec bare;
        bare.flags = spec.flags.find('#') != std::string::npos ? "#" : "";
        return Pad("-" + Print(CFormat(bare, "ll", conv), static_cast<long long>(-*n)), spec);
      }
      return Print(CFormat(spec, "ll", conv), static_cast<long long>(*n));
    }
    if (std::string_view("eEfFgG").find(c) != std::string_view::npos) {
      if (!IsNumber(arg) && !AsInteger(arg))
        return TypeError("float argument required, not " + std::string(arg.TypeName()));
      double d = arg.is(Kind::kFloat) ? arg.as_float() : static_cast<double>(*AsInteger(arg));
      return Print(CFormat(spec, "", c), d);
    }
    return ValueError("unsupported format character '" + std::string(1, c) + "'");
  }

  const std::string& format_;
  PyAllocation& allocation_;
  std::vector<const PyValue*> args_;
  size_t next_ = 0;
};

}  // namespace

std::string_view PyValue::TypeName() const {
  switch (kind_) {
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kStr:
      return "str";
    case Kind::kList:
      return "list";
    case Kind::kTuple:
      return "tuple";
  }
  return "object";
}

bool PyValue::Truthy() const {
  switch (kind_) {
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return as_bool();
    case Kind::kInt:
      return as_int() != 0;
    case Kind::kFloat:
      return as_float() != 0;
    case Kind::kStr:
      return !as_str().empty();
    case Kind::kList:
    case Kind::kTuple:
      return !items().empty();
  }
  return false;
}

std::string PyValue::Str() const {
  switch (kind_) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return as_bool() ? "True" : "False";
    case Kind::kInt:
      return std::to_string(as_int());
    case Kind::kFloat:
      return FloatStr(as_float(), false);
    case Kind::kStr:
      return as_str();
    case Kind::kList:
    case Kind::kTuple:
      return SequenceRepr(*this);
  }
  return "";
}

std::string PyValue::Repr() const {
  if (kind_ == Kind::kStr) return sxp::PythonRepr(as_str());
  if (kind_ == Kind::kFloat) return FloatStr(as_float(), true);
  return Str();
}

std::optional<int64_t> AsInteger(const PyValue& v) {
  if (v.is(Kind::kInt)) return v.as_int();
  if (v.is(Kind::kBool)) return v.as_bool() ? 1 : 0;
  if (!v.is(Kind::kStr)) return std::nullopt;
  std::string_view s = v.as_str();
  if (s.starts_with('+')) s.remove_prefix(1);
  auto n = ParseInteger<int64_t>(s);
  if (!n.ok()) return std::nullopt;
  return *n;
}

Status PyAllocation::Charge(uint64_t bytes) {
  if (bytes > limit_ - used_)
    return Status::Error(ENOMEM, "MemoryError: the config file builds more than " +
                                     std::to_string(limit_ >> 20) + " MiB of values");
  used_ += bytes;
  return Status::Ok();
}

// Each value's text takes at most 4 bytes per byte it holds: a string's
// character at most 4 (\xNN), and a value's fixed cost covers its quotes, a
// number's digits and a separator.
Status PyAllocation::ChargeText(const PyValue& v) {
  return Charge(v.bytes() > UINT64_MAX / 4 ? UINT64_MAX : 4 * v.bytes());
}

PyValue PyValue::Sequence(Kind k, Items items) {
  uint64_t bytes = kPyValueBytes;
  int depth = 0;
  for (const PyValue& item : items) {
    bytes += item.bytes();
    depth = std::max(depth, item.depth());
  }
  PyValue v(k, std::move(items));
  v.bytes_ = bytes;
  v.depth_ = depth + 1;
  return v;
}

Result<PyValue> MakeSequence(PyValue::Kind kind, PyValue::Items items, PyAllocation& allocation) {
  for (const PyValue& item : items)
    if (item.depth() >= kMaxPyNesting)
      return ValueError("value nested too deeply (limit " + std::to_string(kMaxPyNesting) +
                        " levels)");
  TXEND_RETURN_IF_ERROR(allocation.Charge(kPyValueBytes));
  return kind == Kind::kList ? PyValue::List(std::move(items)) : PyValue::Tuple(std::move(items));
}

Result<PyValue> BinaryOp(std::string_view op, const PyValue& a, const PyValue& b,
                         PyAllocation& allocation) {
  if (op == "%" && a.is(Kind::kStr)) return FormatPercent(a.as_str(), b, allocation);
  if (op == "+" && a.kind() == b.kind() && (a.is(Kind::kStr) || IsSequence(a)))
    return Concat(a, b, allocation);
  if (op == "*" && (a.is(Kind::kStr) || IsSequence(a)) && (b.is(Kind::kInt) || b.is(Kind::kBool)))
    return Repeat(a, *AsInteger(b), allocation);
  if (op == "*" && (b.is(Kind::kStr) || IsSequence(b)) && (a.is(Kind::kInt) || a.is(Kind::kBool)))
    return Repeat(b, *AsInteger(a), allocation);
  // Numbers; a str holding an integer counts as one (VAR=VALUE overrides are strings).
  bool a_num = IsNumber(a) || (a.is(Kind::kStr) && AsInteger(a) && IsNumber(b));
  bool b_num = IsNumber(b) || (b.is(Kind::kStr) && AsInteger(b) && IsNumber(a));
  if (!a_num || !b_num) return Unsupported(op, a, b);
  if (a.is(Kind::kFloat) || b.is(Kind::kFloat)) return FloatOp(op, AsDouble(a), AsDouble(b));
  return IntOp(op, *AsInteger(a), *AsInteger(b));
}

Result<PyValue> UnaryOp(std::string_view op, const PyValue& v) {
  if (v.is(Kind::kFloat)) return PyValue::Float(op == "-" ? -v.as_float() : v.as_float());
  auto n = IsNumber(v) ? AsInteger(v) : std::nullopt;
  if (!n)
    return TypeError("bad operand type for unary " + std::string(op) + ": '" +
                     std::string(v.TypeName()) + "'");
  if (op == "+") return PyValue::Int(*n);
  if (*n == INT64_MIN) return Overflow();
  return PyValue::Int(-*n);
}

Result<PyValue> FormatPercent(const std::string& format, const PyValue& args,
                              PyAllocation& allocation) {
  return Formatter(format, args, allocation).Run();
}

}  // namespace txend::xm
