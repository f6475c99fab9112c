#include "toolstack/agents/device_state.h"

#include "toolstack/xs/plain.h"

namespace txend::toolstack {

std::optional<XenbusState> ReadDeviceState(xs::Connection& c, const std::string& path) {
  auto text = xs::PlainRead(c, path);
  if (!text.ok()) return std::nullopt;
  return XenbusStateFromNode(*text).value_or(XenbusState::kUnknown);
}

}  // namespace txend::toolstack
