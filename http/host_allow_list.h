// xend's `xend-hosts-allow`: a list of regular expressions; a TCP client is served
// when one matches the start of its address (or of "localhost" for loopback).
// An empty list allows everybody, as in xend.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include "base/result.h"

namespace txend::http {

class HostAllowList {
 public:
  // `patterns`: space-separated regexes, as in xend-config.sxp. EINVAL on a bad regex.
  static Result<HostAllowList> Parse(const std::string& patterns);
  bool Allows(const std::string& address) const;
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::regex> patterns_;
};

}  // namespace txend::http
