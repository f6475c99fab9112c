// Test support: whole files read or written in one call (logs, scripts' output, images).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace txend::testing {

// The bytes of the file at `path`; "" when it is missing or unreadable.
std::string ReadFile(const std::string& path);

// Replaces the file at `path` with `bytes`; returns `path`.
std::string WriteFile(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace txend::testing
