// Random identifiers xend generates for new domains and devices: UUIDs and vif MACs.
// The random source is a parameter so tests are deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace txend::toolstack {

// Fills `n` bytes at `out` with random data.
using RandomBytes = std::function<void(uint8_t* out, size_t n)>;

// Random bytes from std::random_device (the kernel's entropy source).
RandomBytes SystemRandomBytes();
// A deterministic source for tests: the bytes of a simple counter-based PRNG.
RandomBytes SeededRandomBytes(uint64_t seed);

// A random RFC 4122 version 4 UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string NewUuid(const RandomBytes& random);
// xend's uuid.fromString/toString: dashes anywhere, 32 hex digits; returns the
// canonical lowercase 8-4-4-4-12 form.
Result<std::string> NormalizeUuid(std::string_view text);
// A MAC in Xensource's OUI, 00:16:3e:XX:XX:XX with the first random byte < 0x80 (xend's randomMAC).
std::string RandomMac(const RandomBytes& random);
// "aa:bb:cc:dd:ee:ff": six colon-separated pairs of hex digits.
bool IsValidMac(std::string_view mac);

}  // namespace txend::toolstack
