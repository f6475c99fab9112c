#include "toolstack/hypervisor/domain_info.h"

#include <cstdio>

namespace txend::toolstack {
namespace {

struct ReasonName {
  ShutdownReason reason;
  std::string_view name;
};
constexpr ReasonName kReasons[] = {
    {ShutdownReason::kPoweroff, "poweroff"}, {ShutdownReason::kReboot, "reboot"},
    {ShutdownReason::kSuspend, "suspend"},   {ShutdownReason::kCrash, "crash"},
    {ShutdownReason::kWatchdog, "watchdog"}, {ShutdownReason::kSoftReset, "soft_reset"},
};

}  // namespace

std::string_view ShutdownReasonName(ShutdownReason reason) {
  for (const auto& r : kReasons)
    if (r.reason == reason) return r.name;
  return "unknown";
}

Result<ShutdownReason> ShutdownReasonFromName(std::string_view name) {
  for (const auto& r : kReasons)
    if (r.name == name) return r.reason;
  return Status::Error(EINVAL, "unknown shutdown reason '" + std::string(name) + "'");
}

Result<ShutdownReason> ShutdownReasonFromCode(uint32_t code) {
  for (const auto& r : kReasons)
    if (static_cast<uint32_t>(r.reason) == code) return r.reason;
  return Status::Error(EINVAL, "unknown shutdown code " + std::to_string(code));
}

std::string DomainInfo::StateString() const {
  std::string s = "------";
  if (running) s[0] = 'r';
  if (blocked) s[1] = 'b';
  if (paused) s[2] = 'p';
  if (shutdown) s[3] = 's';
  if (crashed) s[4] = 'c';
  if (dying) s[5] = 'd';
  return s;
}

std::string PhysInfo::HwCapsString() const {
  std::string out;
  for (size_t i = 0; i < hw_caps.size(); ++i) {
    char word[9];
    std::snprintf(word, sizeof word, "%08x", hw_caps[i]);
    if (i) out += ':';
    out += word;
  }
  return out;
}

}  // namespace txend::toolstack
