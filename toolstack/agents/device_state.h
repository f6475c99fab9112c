// A device's `state` node as the agents (kernels, backends, udev) read it.
#pragma once

#include <optional>
#include <string>

#include "toolstack/layout/xenbus_state.h"
#include "toolstack/xs/connection.h"

namespace txend::toolstack {

// The state at `path`: nullopt once the node is gone, kUnknown for text that names no state.
std::optional<XenbusState> ReadDeviceState(xs::Connection& c, const std::string& path);

}  // namespace txend::toolstack
