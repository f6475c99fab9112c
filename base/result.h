// Result<T>: a value of type T, or a non-ok Status explaining why there is none.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "base/status.h"

namespace txend {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) { assert(!status().ok()); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // By value, so `for (auto& x : *MakeResult())` extends the value's lifetime.
  T operator*() && { return std::move(*this).value(); }
  T value_or(T fallback) const { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace txend

// Evaluates `expr` (a Status); returns it from the enclosing function if not ok.
#define TXEND_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::txend::Status _txend_st = (expr);    \
    if (!_txend_st.ok()) return _txend_st; \
  } while (0)

#define TXEND_CONCAT_INNER(a, b) a##b
#define TXEND_CONCAT(a, b) TXEND_CONCAT_INNER(a, b)
// `TXEND_ASSIGN_OR_RETURN(auto x, ResultExpr())`: unwraps or returns the error.
#define TXEND_ASSIGN_OR_RETURN(lhs, expr) \
  TXEND_ASSIGN_OR_RETURN_IMPL(TXEND_CONCAT(_txend_r, __LINE__), lhs, expr)
#define TXEND_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
