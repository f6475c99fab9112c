// Recognising guest kernel files before handing them to a domain builder, so
// a wrong path or a non-kernel gets a clear error instead of a builder failure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

namespace txend::toolstack {

// The formats libxenguest loads: ELF, bzImage, and compressed images.
enum class KernelFormat { kElf32, kElf64, kBzImage, kGzip, kXz, kBzip2, kLzma, kLz4, kZstd };
std::string_view KernelFormatName(KernelFormat format);  // "elf64", "bzImage", "gzip", ...

// The largest kernel or ramdisk a builder loads (libxenguest's
// XC_DOM_DECOMPRESS_MAX, its default max_kernel_size and max_module_size).
inline constexpr uint64_t kMaxBootFileBytes = 1ull << 30;

// Bytes from the start of a file that ProbeKernelImage needs at most.
inline constexpr size_t kKernelProbeBytes = 0x210;

// Identifies a kernel from its first bytes; EINVAL for anything else (ELF for
// a machine other than x86 included).
Result<KernelFormat> ProbeKernelImage(std::span<const uint8_t> head);
// Opens `path` (base/host_files.h: a regular file of at most kMaxBootFileBytes,
// never blocking) and probes it: ENOENT, EACCES, EISDIR, EFBIG or EINVAL,
// naming the path.
Result<KernelFormat> CheckKernelFile(const std::string& path);
// A regular, readable file of at most kMaxBootFileBytes; `what` names it in
// errors ("ramdisk").
Status CheckReadableFile(const std::string& path, std::string_view what);

}  // namespace txend::toolstack
