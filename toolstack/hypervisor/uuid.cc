#include "toolstack/hypervisor/uuid.h"

namespace txend::toolstack {
namespace {

constexpr std::string_view kHex = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDashPosition(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

Result<Uuid> Uuid::Parse(std::string_view text) {
  auto bad = [&] { return Status::Error(EINVAL, "invalid uuid '" + std::string(text) + "'"); };
  if (text.size() != 36) return bad();
  Uuid u;
  size_t nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (IsDashPosition(i)) {
      if (text[i] != '-') return bad();
      continue;
    }
    int v = HexValue(text[i]);
    if (v < 0) return bad();
    u.bytes[nibble / 2] = static_cast<uint8_t>(u.bytes[nibble / 2] | (nibble % 2 ? v : v << 4));
    ++nibble;
  }
  return u;
}

Uuid Uuid::FromRandomBits(uint64_t high, uint64_t low) {
  Uuid u;
  for (int i = 0; i < 8; ++i) {
    u.bytes[i] = static_cast<uint8_t>(high >> (56 - 8 * i));
    u.bytes[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
  }
  u.bytes[6] = static_cast<uint8_t>((u.bytes[6] & 0x0f) | 0x40);  // version 4
  u.bytes[8] = static_cast<uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

std::string Uuid::ToString() const {
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

bool Uuid::IsNil() const {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

}  // namespace txend::toolstack
