#include "toolstack/layout/xenbus_state.h"

#include "base/numbers.h"

namespace txend::toolstack {

std::string ToNode(XenbusState state) { return std::to_string(static_cast<int>(state)); }

std::optional<XenbusState> XenbusStateFromNode(std::string_view text) {
  auto n = ParseInteger<int>(text);
  if (!n.ok() || *n < 0 || *n > static_cast<int>(XenbusState::kReconfigured)) return std::nullopt;
  return static_cast<XenbusState>(*n);
}

}  // namespace txend::toolstack
