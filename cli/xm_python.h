// Python values as xm domain config files (Python 2 scripts) produce them, and
// the operators those files use: + - * / // % ** and "..." % args formatting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace txend::xm {

// None, bool, int, float, str, list or tuple.
class PyValue {
 public:
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kList, kTuple };
  using Items = std::vector<PyValue>;

  PyValue() = default;  // None
  static PyValue Bool(bool b) { return PyValue(Kind::kBool, b); }
  static PyValue Int(int64_t i) { return PyValue(Kind::kInt, i); }
  static PyValue Float(double d) { return PyValue(Kind::kFloat, d); }
  static PyValue Str(std::string s) { return PyValue(Kind::kStr, std::move(s)); }
  static PyValue List(Items items) { return PyValue(Kind::kList, std::move(items)); }
  static PyValue Tuple(Items items) { return PyValue(Kind::kTuple, std::move(items)); }

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_str() const { return std::get<std::string>(v_); }
  const Items& items() const { return std::get<Items>(v_); }

  // Python's type name: "NoneType", "bool", "int", "float", "str", "list", "tuple".
  std::string_view TypeName() const;
  bool Truthy() const;
  std::string Str() const;   // str(v)
  std::string Repr() const;  // repr(v)

  bool operator==(const PyValue&) const = default;

 private:
  template <typename T>
  PyValue(Kind k, T v) : kind_(k), v_(std::move(v)) {}
  Kind kind_ = Kind::kNone;
  std::variant<std::monostate, bool, int64_t, double, std::string, Items> v_;
};

// The integer a value stands for: an int, a bool, or (leniently, for
// variables given as VAR=VALUE on xm's command line) a str holding an integer.
std::optional<int64_t> AsInteger(const PyValue& v);

// Results are capped so a hostile file cannot exhaust memory.
inline constexpr size_t kMaxPyStringBytes = 1 << 20;
inline constexpr size_t kMaxPyListItems = 1 << 16;

// `left OP right` for OP in + - * / // % **, with Python 2 semantics
// (int / int floors). Errors read like Python's TypeError/ZeroDivisionError.
Result<PyValue> BinaryOp(std::string_view op, const PyValue& left, const PyValue& right);
// -v and +v.
Result<PyValue> UnaryOp(std::string_view op, const PyValue& v);
// `format % args`: %s %r %d %i %u %x %X %o %e %E %f %F %g %G %c %% with flags,
// width and precision ('*' included); args is a tuple or a single value.
Result<PyValue> FormatPercent(const std::string& format, const PyValue& args);

}  // namespace txend::xm
