#include "http/host_allow_list.h"

#include <sstream>

namespace txend::http {

Result<HostAllowList> HostAllowList::Parse(const std::string& patterns) {
  HostAllowList list;
  std::istringstream words(patterns);
  std::string word;
  while (words >> word) {
    try {
      list.patterns_.emplace_back(word, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::Error(EINVAL, "bad xend-hosts-allow pattern '" + word + "': " + e.what());
    }
  }
  return list;
}

bool HostAllowList::Allows(const std::string& address) const {
  if (patterns_.empty()) return true;
  bool loopback = address == "127.0.0.1" || address == "::1" || address == "::ffff:127.0.0.1";
  // Like Python's re.match, as xend used: anchored at the start only.
  auto matches = [](const std::string& s, const std::regex& re) {
    return std::regex_search(s, re, std::regex_constants::match_continuous);
  };
  for (const auto& re : patterns_) {
    if (matches(address, re)) return true;
    if (loopback && matches("localhost", re)) return true;
  }
  return false;
}

}  // namespace txend::http
