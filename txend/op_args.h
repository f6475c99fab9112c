// OpArgs: an xend op's form parameters, read with the types the op needs. A
// missing or malformed parameter is a kBadRequest Status (HTTP 400) naming it.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "http/http_message.h"
#include "sxp/sxp.h"

namespace txend::daemon {

// The Status code of a request xend cannot act on as sent: a parameter is
// missing or malformed. Only OpArgs sets it; XendFailure maps it to 400.
inline constexpr int kBadRequest = EBADR;

class OpArgs {
 public:
  explicit OpArgs(const http::Params& params) : params_(params) {}

  Result<std::string> Required(const std::string& name) const;
  // A decimal integer, blanks around it allowed (libvirt sends " 512").
  Result<int64_t> Integer(const std::string& name) const;
  Result<uint64_t> NonNegative(const std::string& name) const;
  Result<sxp::Value> Sxp(const std::string& name) const;
  // xend's yes/no words; absent or not a yes word: false (xend was as lenient).
  bool Flag(const std::string& name) const;
  bool Has(const std::string& name) const { return params_.Has(name); }
  const http::Params& params() const { return params_; }

 private:
  const http::Params& params_;
};

}  // namespace txend::daemon
