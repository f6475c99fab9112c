#include "toolstack/config/random_ids.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <memory>
#include <random>

namespace txend::toolstack {
namespace {

std::string Hex(const uint8_t* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string FormatUuid(const std::array<uint8_t, 16>& b) {
  std::string h = Hex(b.data(), b.size());
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

}  // namespace

RandomBytes SystemRandomBytes() {
  return [](uint8_t* out, size_t n) {
    std::random_device device;
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(device());
  };
}

RandomBytes SeededRandomBytes(uint64_t seed) {
  auto state = std::make_shared<uint64_t>(seed);
  return [state](uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      // splitmix64: a well-known tiny generator; plenty for test determinism.
      uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      out[i] = static_cast<uint8_t>(z ^ (z >> 31));
    }
  };
}

std::string NewUuid(const RandomBytes& random) {
  std::array<uint8_t, 16> b{};
  random(b.data(), b.size());
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return FormatUuid(b);
}

Result<std::string> NormalizeUuid(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)) || digits.size() == 32) {
      return Status::Error(EINVAL, "uuid: '" + std::string(text) +
                                       "' is not a UUID (32 hex digits, dashes optional)");
    }
    digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (digits.size() != 32)
    return Status::Error(
        EINVAL, "uuid: '" + std::string(text) + "' is not a UUID (32 hex digits, dashes optional)");
  return digits.substr(0, 8) + "-" + digits.substr(8, 4) + "-" + digits.substr(12, 4) + "-" +
         digits.substr(16, 4) + "-" + digits.substr(20);
}

std::string RandomMac(const RandomBytes& random) {
  std::array<uint8_t, 3> b{};
  random(b.data(), b.size());
  b[0] &= 0x7f;
  char buf[18];
  std::snprintf(buf, sizeof buf, "00:16:3e:%02x:%02x:%02x", b[0], b[1], b[2]);
  return buf;
}

bool IsValidMac(std::string_view mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    bool ok = (i % 3 == 2) ? mac[i] == ':' : std::isxdigit(static_cast<unsigned char>(mac[i]));
    if (!ok) return false;
  }
  return true;
}

}  // namespace txend::toolstack
