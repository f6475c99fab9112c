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
#include "base/status.h"

namespace txend::xm {

// None, bool, int, float, str, list or tuple. A value knows how much memory
// it holds and how deeply it nests, so what an operation would build is known
// before it is built.
class PyValue {
 public:
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kList, kTuple };
  using Items = std::vector<PyValue>;

  PyValue() = default;  // None
  static PyValue Bool(bool b) { return PyValue(Kind::kBool, b); }
  static PyValue Int(int64_t i) { return PyValue(Kind::kInt, i); }
  static PyValue Float(double d) { return PyValue(Kind::kFloat, d); }
  static PyValue Str(std::string s) { return PyValue(Kind::kStr, std::move(s)); }
  static PyValue List(Items items) { return Sequence(Kind::kList, std::move(items)); }
  static PyValue Tuple(Items items) { return Sequence(Kind::kTuple, std::move(items)); }

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

  // The bytes the value holds, its items' included (a fixed cost per value
  // plus a string's characters), and its nesting: 0 for a scalar, 1 + the
  // deepest item's for a list or tuple.
  uint64_t bytes() const { return bytes_; }
  int depth() const { return depth_; }

  bool operator==(const PyValue&) const = default;

 private:
  template <typename T>
  PyValue(Kind k, T v) : kind_(k), v_(std::move(v)) {
    if (k == Kind::kStr) bytes_ += std::get<std::string>(v_).size();
  }
  static PyValue Sequence(Kind k, Items items);
  Kind kind_ = Kind::kNone;
  std::variant<std::monostate, bool, int64_t, double, std::string, Items> v_;
  uint64_t bytes_ = sizeof(PyValue);
  int depth_ = 0;
};

// The fixed cost of one value in bytes().
inline constexpr uint64_t kPyValueBytes = sizeof(PyValue);

// The integer a value stands for: an int, a bool, or (leniently, for
// variables given as VAR=VALUE on xm's command line) a str holding an integer.
std::optional<int64_t> AsInteger(const PyValue& v);

// Results are capped so a hostile file cannot exhaust memory: each string,
// list and nesting on its own, and everything a script builds together.
inline constexpr size_t kMaxPyStringBytes = 1 << 20;
inline constexpr size_t kMaxPyListItems = 1 << 16;
inline constexpr int kMaxPyNesting = 100;
inline constexpr uint64_t kMaxPyAllocationBytes = 64 << 20;

// What a script has built so far, against its cap: every value is charged
// before it is built (a copy as much as a new one), and the text of str(v) or
// "%s" % v as much as it can take, so a file that would build GiBs stops
// with "MemoryError: ..." having built at most the cap. The cap bounds a
// script's run time too (the language has no loops).
class PyAllocation {
 public:
  explicit PyAllocation(uint64_t limit = kMaxPyAllocationBytes) : limit_(limit) {}
  // ENOMEM once the running total would pass the cap.
  Status Charge(uint64_t bytes);
  // Charges the copy of `v` (its bytes()).
  Status ChargeCopy(const PyValue& v) { return Charge(v.bytes()); }
  // Charges the most str(v) and repr(v) can take.
  Status ChargeText(const PyValue& v);
  uint64_t used() const { return used_; }

 private:
  uint64_t limit_;
  uint64_t used_ = 0;
};

// A list or tuple of `items` (already charged), refused when it would nest
// deeper than kMaxPyNesting.
Result<PyValue> MakeSequence(PyValue::Kind kind, PyValue::Items items, PyAllocation& allocation);

// `left OP right` for OP in + - * / // % **, with Python 2 semantics
// (int / int floors). Errors read like Python's TypeError/ZeroDivisionError.
Result<PyValue> BinaryOp(std::string_view op, const PyValue& left, const PyValue& right,
                         PyAllocation& allocation);
// -v and +v.
Result<PyValue> UnaryOp(std::string_view op, const PyValue& v);
// `format % args`: %s %r %d %i %u %x %X %o %e %E %f %F %g %G %c %% with flags,
// width and precision ('*' included); args is a tuple or a single value.
Result<PyValue> FormatPercent(const std::string& format, const PyValue& args,
                              PyAllocation& allocation);

}  // namespace txend::xm
