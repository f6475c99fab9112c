#include "toolstack/domain/power_state.h"

#include <array>
#include <utility>

namespace txend::toolstack {
namespace {

constexpr std::array<std::pair<PowerState, std::string_view>, 6> kNames = {{
    {PowerState::kHalted, "halted"},
    {PowerState::kPaused, "paused"},
    {PowerState::kRunning, "running"},
    {PowerState::kSuspended, "suspended"},
    {PowerState::kShutdown, "shutdown"},
    {PowerState::kCrashed, "crashed"},
}};

}  // namespace

std::string_view ToString(PowerState state) {
  for (const auto& [s, name] : kNames)
    if (s == state) return name;
  return "halted";
}

std::optional<PowerState> ParsePowerState(std::string_view name) {
  for (const auto& [s, n] : kNames)
    if (n == name) return s;
  return std::nullopt;
}

PowerState PowerStateOf(const std::optional<DomainInfo>& info) {
  if (!info) return PowerState::kHalted;
  if (info->crashed) return PowerState::kCrashed;
  if (info->shutdown)
    return info->shutdown_reason == ShutdownReason::kSuspend ? PowerState::kSuspended
                                                             : PowerState::kShutdown;
  if (info->paused) return PowerState::kPaused;
  return PowerState::kRunning;
}

}  // namespace txend::toolstack
