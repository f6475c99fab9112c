#include "tests/support/netns_pair.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "tests/support/daemon_process.h"

namespace txend::testing {
namespace {

std::string FindIp() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

}  // namespace

Result<std::unique_ptr<NetnsPair>> NetnsPair::Create() {
  static std::atomic<int> serial{0};
  std::unique_ptr<NetnsPair> pair(new NetnsPair());
  pair->ip_ = FindIp();
  if (pair->ip_.empty())
    return Status::Error(ENOTSUP, "the ip program (iproute2) is not installed");
  if (geteuid() != 0) return Status::Error(EPERM, "network namespaces need root");
  std::string base = "txm" + std::to_string(getpid()) + "-" + std::to_string(serial++);
  for (int i = 0; i < 2; ++i) {
    pair->names_[i] = base + (i == 0 ? "a" : "b");
    auto r = RunCommand(pair->ip_ + " netns add " + pair->names_[i], true);
    if (r.exit_code != 0)
      return Status::Error(EPERM, "cannot create a network namespace: " + r.out);
    pair->created_[i] = true;
  }
  const std::string& a = pair->names_[0];
  const std::string& b = pair->names_[1];
  std::string ip = pair->ip_;
  for (const std::string& cmd :
       {ip + " -n " + a + " link set lo up", ip + " -n " + b + " link set lo up",
        ip + " -n " + a + " link add mig0 type veth peer name mig0 netns " + b,
        ip + " -n " + a + " addr add " + pair->addresses_[0] + "/24 dev mig0",
        ip + " -n " + b + " addr add " + pair->addresses_[1] + "/24 dev mig0",
        ip + " -n " + a + " link set mig0 up", ip + " -n " + b + " link set mig0 up"}) {
    auto r = RunCommand(cmd, true);
    if (r.exit_code != 0) return Status::Error(ENOTSUP, "'" + cmd + "' failed: " + r.out);
  }
  return pair;
}

NetnsPair::~NetnsPair() {
  for (int i = 0; i < 2; ++i)
    if (created_[i]) (void)RunCommand(ip_ + " netns del " + names_[i], true);
}

Status NetnsPair::SetLink(int host, bool up) const {
  auto r = RunCommand(ip_ + " -n " + names_[host] + " link set mig0 " + (up ? "up" : "down"), true);
  return r.exit_code == 0 ? Status::Ok() : Status::Error(EIO, "ip link set: " + r.out);
}

std::vector<std::string> NetnsPair::Exec(int host) const {
  return {ip_, "netns", "exec", names_[host]};
}

}  // namespace txend::testing
