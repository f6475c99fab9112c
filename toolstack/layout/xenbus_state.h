// XenbusState: the frontend/backend handshake states a device's `state` nodes
// hold, as xenstore text ("4") and back.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace txend::toolstack {

enum class XenbusState : int {
  kUnknown = 0,
  kInitialising = 1,
  kInitWait = 2,
  kInitialised = 3,
  kConnected = 4,
  kClosing = 5,
  kClosed = 6,
  kReconfiguring = 7,
  kReconfigured = 8,
};

// The node's text: "4" for kConnected.
std::string ToNode(XenbusState state);
// The state a node's text names; nullopt for anything else (a missing or garbled node).
std::optional<XenbusState> XenbusStateFromNode(std::string_view text);

}  // namespace txend::toolstack
