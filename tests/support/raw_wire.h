// Test support: raw xenstore wire I/O for clients that misbehave on purpose
// (garbage, partial messages, pipelining without reading), where
// xs::Connection would be too polite.
#pragma once

#include <optional>
#include <string>

#include "wire/wire.h"

namespace txend::testing {

// Reads one whole message; nullopt on EOF, error or timeout.
std::optional<wire::Message> ReceiveMessage(int fd);
// Sends one request and returns its reply, skipping watch events; nullopt when none came.
std::optional<wire::Message> AskRaw(int fd, wire::MsgType type, const std::string& payload,
                                    uint32_t tx_id = 0, uint32_t req_id = 1);

}  // namespace txend::testing
