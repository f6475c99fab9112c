#include "txend/op_args.h"

#include "base/numbers.h"

namespace txend::daemon {
namespace {

Status Invalid(const std::string& name, const std::string& why) {
  return Status::Error(kBadRequest, "Invalid parameter: " + name + why);
}

}  // namespace

Result<std::string> OpArgs::Required(const std::string& name) const {
  auto v = params_.Get(name);
  if (!v) return Status::Error(kBadRequest, "Missing parameter: " + name);
  return *v;
}

Result<int64_t> OpArgs::Integer(const std::string& name) const {
  TXEND_ASSIGN_OR_RETURN(std::string text, Required(name));
  auto v = ParseInteger<int64_t>(TrimBlanks(text));
  if (!v.ok()) return Invalid(name, " (" + v.status().message() + ")");
  return v;
}

Result<uint64_t> OpArgs::NonNegative(const std::string& name) const {
  TXEND_ASSIGN_OR_RETURN(int64_t v, Integer(name));
  if (v < 0) return Invalid(name, " must not be negative");
  return static_cast<uint64_t>(v);
}

Result<sxp::Value> OpArgs::Sxp(const std::string& name) const {
  TXEND_ASSIGN_OR_RETURN(std::string text, Required(name));
  auto v = sxp::Parse(text);
  if (!v.ok()) return Invalid(name, ": " + v.status().message());
  return v;
}

bool OpArgs::Flag(const std::string& name) const {
  auto v = params_.Get(name);
  if (!v) return false;
  auto yes = ParseBool(*v);
  return yes.ok() && *yes;
}

}  // namespace txend::daemon
