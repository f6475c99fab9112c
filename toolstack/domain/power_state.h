// PowerState: xend's power state of a domain, numbered as its (status N)
// field and named as `xm list --state` takes it.
#pragma once

#include <optional>
#include <string_view>

#include "toolstack/hypervisor/domain_info.h"

namespace txend::toolstack {

enum class PowerState {
  kHalted = 0,
  kPaused = 1,
  kRunning = 2,
  kSuspended = 3,
  kShutdown = 4,  // shutting down
  kCrashed = 5,
};

std::string_view ToString(PowerState state);  // "halted", "paused", ...
std::optional<PowerState> ParsePowerState(std::string_view name);
// The state the hypervisor's facts give; a domain without any (inactive) is halted.
PowerState PowerStateOf(const std::optional<DomainInfo>& info);

}  // namespace txend::toolstack
