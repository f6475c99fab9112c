// Plain requests (transaction 0) for the agents that play a kernel's or udev's
// part beside the toolstack — simulated backends, the hotplug-script runner.
// Toolstack operations never use these: they take a Transaction or Snapshot.
#pragma once

#include <string>

#include "toolstack/xs/connection.h"

namespace txend::xs {

inline Result<std::string> PlainRead(Connection& c, const std::string& path) {
  return c.Call(wire::MsgType::kRead, 0, wire::JoinFields({path}));
}

inline Status PlainWrite(Connection& c, const std::string& path, const std::string& value) {
  return c.Call(wire::MsgType::kWrite, 0, path + '\0' + value).status();
}

}  // namespace txend::xs
