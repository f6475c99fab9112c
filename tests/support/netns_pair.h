// Test support: two "hosts" as network namespaces joined by a veth pair, each
// end addressed (10.213.0.1 and 10.213.0.2), with loopback up. Needs root
// and `ip`; the namespaces (named after the pid) are deleted on destruction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace txend::testing {

class NetnsPair {
 public:
  // EPERM / ENOTSUP with the reason where namespaces cannot be made here.
  static Result<std::unique_ptr<NetnsPair>> Create();
  ~NetnsPair();
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  const std::string& name(int host) const { return names_[host]; }  // host 0 or 1
  const std::string& address(int host) const { return addresses_[host]; }
  // A command prefix that runs a program inside `host`'s namespace.
  std::vector<std::string> Exec(int host) const;
  // Takes `host`'s end of the link down (a network cut) or up again.
  Status SetLink(int host, bool up) const;

 private:
  NetnsPair() = default;
  std::string ip_;  // path of the ip program
  std::string names_[2];
  std::string addresses_[2] = {"10.213.0.1", "10.213.0.2"};
  bool created_[2] = {false, false};
};

}  // namespace txend::testing
