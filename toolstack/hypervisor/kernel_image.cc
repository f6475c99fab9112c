#include "toolstack/hypervisor/kernel_image.h"

#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/host_files.h"

namespace txend::toolstack {
namespace {

bool StartsWith(std::span<const uint8_t> head, std::initializer_list<uint8_t> magic,
                size_t at = 0) {
  if (head.size() < at + magic.size()) return false;
  size_t i = at;
  for (uint8_t m : magic)
    if (head[i++] != m) return false;
  return true;
}

Result<KernelFormat> ProbeElf(std::span<const uint8_t> head) {
  constexpr size_t kClass = 4, kData = 5, kMachine = 18;
  constexpr uint16_t kX86 = 3, kX86_64 = 62;
  if (head.size() < kMachine + 2) return Status::Error(EINVAL, "truncated ELF header");
  if (head[kData] != 1) return Status::Error(EINVAL, "big-endian ELF is not an x86 kernel");
  uint16_t machine = static_cast<uint16_t>(head[kMachine] | head[kMachine + 1] << 8);
  if (machine != kX86 && machine != kX86_64)
    return Status::Error(EINVAL, "ELF for machine " + std::to_string(machine) + ", not x86");
  if (head[kClass] == 1) return KernelFormat::kElf32;
  if (head[kClass] == 2) return KernelFormat::kElf64;
  return Status::Error(EINVAL, "ELF of unknown class " + std::to_string(head[kClass]));
}

}  // namespace

std::string_view KernelFormatName(KernelFormat format) {
  switch (format) {
    case KernelFormat::kElf32:
      return "elf32";
    case KernelFormat::kElf64:
      return "elf64";
    case KernelFormat::kBzImage:
      return "bzImage";
    case KernelFormat::kGzip:
      return "gzip";
    case KernelFormat::kXz:
      return "xz";
    case KernelFormat::kBzip2:
      return "bzip2";
    case KernelFormat::kLzma:
      return "lzma";
    case KernelFormat::kLz4:
      return "lz4";
    case KernelFormat::kZstd:
      return "zstd";
  }
  return "unknown";
}

Result<KernelFormat> ProbeKernelImage(std::span<const uint8_t> head) {
  if (StartsWith(head, {0x7f, 'E', 'L', 'F'})) return ProbeElf(head);
  if (StartsWith(head, {'H', 'd', 'r', 'S'}, 0x202)) return KernelFormat::kBzImage;
  if (StartsWith(head, {0x1f, 0x8b})) return KernelFormat::kGzip;
  if (StartsWith(head, {0xfd, '7', 'z', 'X', 'Z', 0x00})) return KernelFormat::kXz;
  if (StartsWith(head, {'B', 'Z', 'h'})) return KernelFormat::kBzip2;
  if (StartsWith(head, {0x5d, 0x00, 0x00})) return KernelFormat::kLzma;
  if (StartsWith(head, {0x02, 0x21, 0x4c, 0x18})) return KernelFormat::kLz4;
  if (StartsWith(head, {0x28, 0xb5, 0x2f, 0xfd})) return KernelFormat::kZstd;
  return Status::Error(EINVAL, "not a kernel image (no ELF, bzImage or compressed-image header)");
}

Status CheckReadableFile(const std::string& path, std::string_view what) {
  return OpenRegularFileToRead(path, what, kMaxBootFileBytes).status();
}

Result<KernelFormat> CheckKernelFile(const std::string& path) {
  TXEND_ASSIGN_OR_RETURN(UniqueFd fd, OpenRegularFileToRead(path, "kernel", kMaxBootFileBytes));
  std::vector<uint8_t> head(kKernelProbeBytes);
  ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  if (n < 0) return Status::Error(errno, "kernel " + path + ": " + std::strerror(errno));
  head.resize(static_cast<size_t>(n));
  auto format = ProbeKernelImage(head);
  if (!format.ok())
    return Status::Error(EINVAL, "kernel " + path + ": " + format.status().message());
  return format;
}

}  // namespace txend::toolstack
