#include "toolstack/config/block_device_name.h"

#include <array>

#include "base/numbers.h"

namespace txend::toolstack {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::optional<uint32_t> ParseDigits(std::string_view s, int base) {
  auto value = ParseInteger<uint32_t>(s, base);
  if (!value.ok()) return std::nullopt;
  return *value;
}

// A partition suffix: empty (0) or 1..max without a leading zero.
std::optional<uint32_t> Partition(std::string_view s, uint32_t max) {
  if (s.empty()) return 0u;
  if (s[0] == '0') return std::nullopt;
  auto n = ParseDigits(s, 10);
  if (!n || *n > max) return std::nullopt;
  return n;
}

bool Letter(char c, char last) { return c >= 'a' && c <= last; }

std::optional<uint32_t> Scsi(std::string_view rest) {
  static constexpr std::array<uint32_t, 16> kMajors = {8,   65,  66,  67,  68,  69,  70,  71,
                                                       128, 129, 130, 131, 132, 133, 134, 135};
  uint32_t index;
  std::string_view part;
  if (rest.size() >= 2 && Letter(rest[0], 'i') && Letter(rest[1], 'z')) {
    index = (rest[0] - 'a' + 1) * 26 + (rest[1] - 'a');
    part = rest.substr(2);
  } else if (!rest.empty() && Letter(rest[0], 'z')) {
    index = rest[0] - 'a';
    part = rest.substr(1);
  } else {
    return std::nullopt;
  }
  auto p = Partition(part, 15);
  if (!p || index / 16 >= kMajors.size()) return std::nullopt;
  return kMajors[index / 16] * 256 + (index % 16) * 16 + *p;
}

std::optional<uint32_t> Ide(std::string_view rest) {
  static constexpr std::array<uint32_t, 10> kMajors = {3, 22, 33, 34, 56, 57, 88, 89, 90, 91};
  if (rest.empty() || !Letter(rest[0], 't')) return std::nullopt;
  uint32_t index = rest[0] - 'a';
  auto p = Partition(rest.substr(1), 63);
  if (!p) return std::nullopt;
  return kMajors[index / 2] * 256 + (index % 2) * 64 + *p;
}

std::optional<uint32_t> Xvd(std::string_view rest) {
  if (rest.size() >= 2 && Letter(rest[0], 'i') && Letter(rest[1], 'z')) {
    auto p = Partition(rest.substr(2), 15);
    if (!p) return std::nullopt;
    uint32_t index = (rest[0] - 'a' + 1) * 26 + (rest[1] - 'a');
    return (1u << 28) + (index << 8) + *p;
  }
  if (rest.empty() || !Letter(rest[0], 'z')) return std::nullopt;
  uint32_t index = rest[0] - 'a';
  auto p = Partition(rest.substr(1), 15);
  if (!p) return std::nullopt;
  if (index < 16) return (202u << 8) + (index << 4) + *p;  // xvda..xvdp
  return (1u << 28) + (index << 8) + *p;                   // xvdq..xvdz: extended numbering
}

}  // namespace

std::optional<uint32_t> BlockDeviceNumber(std::string_view name) {
  if (StartsWith(name, "0x")) return ParseDigits(name.substr(2), 16);
  if (auto n = ParseDigits(name, 10)) return n;
  std::string_view dev = StartsWith(name, "/dev/") ? name.substr(5) : name;
  if (StartsWith(name, "/") && !StartsWith(name, "/dev/")) return std::nullopt;
  if (StartsWith(dev, "xvd")) return Xvd(dev.substr(3));
  if (StartsWith(dev, "sd")) return Scsi(dev.substr(2));
  if (StartsWith(dev, "hd")) return Ide(dev.substr(2));
  return std::nullopt;
}

std::optional<uint32_t> VbdDeviceNumber(std::string_view dev) {
  if (auto pos = dev.find("ioemu:"); pos != std::string_view::npos) dev = dev.substr(pos + 6);
  if (auto colon = dev.find(':'); colon != std::string_view::npos) dev = dev.substr(0, colon);
  return BlockDeviceNumber(dev);
}

}  // namespace txend::toolstack
